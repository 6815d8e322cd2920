"""Flag domains declared once, where a flag is defined: argparse `type=` objects that parse a value and
refuse anything outside the domain with one line naming the value and what is allowed.

    add("--rec_lr", type=Real(low=0, low_open=True), ...)   # error: argument --rec_lr: nan is not a finite number > 0

`str(domain)` is the allowed set in words, for help texts and error messages.
"""

import argparse
import math
import os
from collections.abc import Callable
from dataclasses import dataclass


def _number(value: float) -> str:
    """A bound as people read it: integers exactly, floats in %g."""
    return str(value) if isinstance(value, int) else format(value, "g")


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {_number(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {_number(high)}")
    return " and ".join(parts)


def parse(domain: "Real | Count", text: str, convert: Callable[[str], float]) -> float:
    """`convert(text)` when it lies in `domain`, else argparse's error naming the value and the domain."""
    try:
        value = convert(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {domain}") from None
    if not domain.contains(value):
        raise argparse.ArgumentTypeError(f"{text} is not {domain}")
    return value


@dataclass(frozen=True)
class Real:
    """A float in [low, high] (either end open, either end absent); NaN never, inf only if `allow_inf`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False

    def __str__(self) -> str:
        kind = "a number (inf allowed)" if self.allow_inf else "a finite number"
        bounds = _bounds(self.low, self.high, self.low_open, self.high_open)
        return f"{kind} {bounds}".strip()

    def contains(self, value: float) -> bool:
        if math.isnan(value) or (math.isinf(value) and not self.allow_inf):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def __call__(self, text: str) -> float:
        return parse(self, text, float)


@dataclass(frozen=True)
class Count:
    """An integer in [low, high] (high absent = unbounded)."""

    low: int = 1
    high: int | None = None

    def __str__(self) -> str:
        return f"an integer {_bounds(self.low, self.high, False, False)}"

    def contains(self, value: int) -> bool:
        return value >= self.low and (self.high is None or value <= self.high)

    def __call__(self, text: str) -> int:
        return parse(self, text, int)


FLOAT32_MAX = 3.4028234663852886e38  # torch turns step sizes and weights into float32; beyond, it overflows
INT64_MAX = 2**63 - 1  # the largest size or count torch and numpy take


def path_text(text: str) -> str:
    """A path flag's value (argparse type): `~` expanded as the shell does at the start of a word (so the run
    checks and writes the same place, whatever the shell expanded), and refused when it is not valid UTF-8
    (reports and result names are UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(text)
        raise argparse.ArgumentTypeError(f"{raw!r} is not valid UTF-8; rename it or choose another path") from None
    return os.path.expanduser(text)


POSITIVE = Real(low=0, low_open=True, high=FLOAT32_MAX)  # step sizes, scales
NON_NEGATIVE = Real(low=0, high=FLOAT32_MAX)  # weights of penalty terms, momentum-free decays
FRACTION = Real(low=0, high=1, low_open=True)  # (0, 1]
COUNT = Count(1, INT64_MAX)  # at least one
NON_NEGATIVE_COUNT = Count(0, INT64_MAX)
THREADS = Count(1, 4096)  # torch takes a 32-bit count; far beyond the cores only slows a run down
IMAGE_SIZE = Count(3, 4096)  # pixels per side: SSIM needs 3, larger sets do not fit in memory
SEED = Count(0, 2**32 - 1)  # what numpy's and torch's generators both take
UNIT_INTERVAL_OPEN_TOP = Real(low=0, high=1, high_open=True)  # [0, 1): momentum, shares pruned
