"""Flower (flwr) integration: an auditing strategy for a user's own ServerApp, and main_fed's federation
run on Flower's Simulation Engine. It sits above attacks/, fl/ and the evaluation code; nothing below
imports it. flwr is an optional extra: `require_flwr` turns its absence into one line."""

import importlib.util

from fedprivacy.utils.errors import UsageError

INSTALL = "pip install -r requirements-flower.txt"


def require_flwr(what: str) -> None:
    """Before any work: a one-line error naming the install command when flwr (or Ray) is missing."""
    for module in ("flwr", "ray"):
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"{what} needs the Flower extra ({module} is not installed): {INSTALL}")
