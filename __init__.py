"""Federated Privacy Attack: gradient-inversion attacks on federated learning, installed as `fedprivacy`
(pyproject.toml maps the repository root to this package; fedprivacy.py does the same in a checkout)."""

from fedprivacy.utils.plotting import usable_backend

usable_backend()  # before anything imports matplotlib (utils/plotting.py)
