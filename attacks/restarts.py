"""The restart loop shared by every attack that restarts (dlg/idlg, the Inverting Gradients variants,
GRNN, GGL): run up to `restarts` trials, keep the one with the lowest finite loss, stop early once it
is good enough, and report when every trial diverged."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tqdm import tqdm

from utils.errors import AttackDiverged

T = TypeVar("T")


@dataclass(frozen=True)
class Best(Generic[T]):
    """The kept trial's loss and result, how many trials ran and how many of them diverged."""

    loss: float
    result: T
    trials: int
    diverged: int


def best_trial(
    name: str,
    restarts: int,
    trial: Callable[[int], tuple[float, T]],
    bar: tqdm,
    good_enough: Callable[[float], bool] = lambda loss: False,
) -> Best[T]:
    """Run `trial(index)` for index 0.. until `restarts` ran or the best loss is `good_enough`; a trial
    whose loss is NaN/inf diverged. Raises AttackDiverged when every trial diverged."""
    best: tuple[float, T] | None = None
    diverged = trials = 0
    while trials < restarts and (best is None or not good_enough(best[0])):
        bar.set_description(f"{name} trial {trials + 1}")
        loss, result = trial(trials)
        trials += 1
        if not math.isfinite(loss):
            diverged += 1
        elif best is None or loss < best[0]:
            best = (loss, result)
    if best is None:
        raise AttackDiverged(f"{name}: every one of {restarts} trials diverged to NaN/inf")
    return Best(best[0], best[1], trials, diverged)
