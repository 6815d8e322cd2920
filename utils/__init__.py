"""Shared helpers: metrics, pairing, reports, seeding, progress and gradient maths."""
