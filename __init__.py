"""Federated Privacy Attack: gradient-inversion attacks on federated learning, installed as `fedprivacy`
(pyproject.toml maps the repository root to this package; fedprivacy.py does the same in a checkout)."""
