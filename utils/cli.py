"""Command-line plumbing shared by the entry scripts: one-line errors, devices, flag checks."""

import argparse
import sys
from collections.abc import Callable

import torch

from utils.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage text."""

    def error(self, message: str) -> None:
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def resolve_device(name: str | None) -> torch.device:
    """--device: CUDA when available unless told otherwise; an unavailable CUDA is an error."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available here; use --device cpu")
    return torch.device(name)


def positive(value: str) -> int:
    """argparse type for counts that must be at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def run_cli(main: Callable[[], None]) -> None:
    """Run an entry point; a UsageError becomes a one-line message and exit code 2."""
    try:
        main()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
