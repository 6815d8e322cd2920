"""Benchmarks: named cases that measure quality and speed on real data and write a results table."""
