"""Benchmarks: named cases that measure quality and speed on real data and write a results table."""

from fedprivacy.utils.plotting import usable_backend

usable_backend()  # before a case imports matplotlib (utils/plotting.py)
