"""The restart loop shared by every attack that restarts (dlg/idlg, the Inverting Gradients variants,
GRNN, GGL): run up to `restarts` trials, keep the one with the lowest finite loss, stop early once it
is good enough (but not before `at_least` trials ran, so their spread is measured), and report when
every trial diverged."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tqdm import tqdm

from fedprivacy.utils.errors import AttackDiverged

T = TypeVar("T")


@dataclass(frozen=True)
class Best(Generic[T]):
    """The kept trial's loss and result, how many trials ran and how many of them diverged, and every
    judged trial's (loss, result) in index order."""

    loss: float
    result: T
    trials: int
    diverged: int
    finished: tuple[tuple[float, T], ...] = ()


def best_trial(
    name: str,
    restarts: int,
    trial: Callable[[int], tuple[float, T]],
    bar: tqdm,
    good_enough: Callable[[float], bool] = lambda loss: False,
    at_least: int = 1,
) -> Best[T]:
    """Run `trial(index)` for index 0.. until `restarts` ran or, after `at_least` trials, the best loss is
    `good_enough`; a trial whose loss is NaN/inf diverged. Raises AttackDiverged when every trial diverged."""
    return best_of_batches(
        name, restarts, 1, lambda indices: [trial(index) for index in indices], bar, good_enough, at_least
    )


def best_of_batches(
    name: str,
    restarts: int,
    batch: int,
    trials: Callable[[range], list[tuple[float, T]]],
    bar: tqdm,
    good_enough: Callable[[float], bool] = lambda loss: False,
    at_least: int = 1,
) -> Best[T]:
    """best_trial for attacks that run `batch` trials at once: `trials(indices)` returns their (loss, result)
    in index order. Trials are judged in index order as if run one by one, so the kept trial and the
    counts do not depend on `batch` (trials after a good-enough one are discarded)."""
    best: tuple[float, T] | None = None
    diverged = judged = 0
    finished: list[tuple[float, T]] = []

    def done() -> bool:
        return best is not None and judged >= at_least and good_enough(best[0])

    while judged < restarts and not done():
        indices = range(judged, min(judged + batch, restarts))
        bar.set_description(f"{name} trial {indices.start + 1}" + (f"-{indices.stop}" if len(indices) > 1 else ""))
        for loss, result in trials(indices):
            judged += 1
            finished.append((loss, result))
            if not math.isfinite(loss):
                diverged += 1
            elif best is None or loss < best[0]:
                best = (loss, result)
            if done():
                break
    if best is None:
        raise AttackDiverged(f"{name}: every one of {restarts} trials diverged to NaN/inf")
    return Best(best[0], best[1], judged, diverged, tuple(finished))
