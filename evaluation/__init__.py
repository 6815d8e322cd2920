"""Scoring what an attack returns against the private batch: runner, pairing, metrics, reports and grids."""
