"""What an optimisation attack reports about how far it got, in its own measure, so that the verdict
(evaluation/verdict.py) can tell "matched" from "not converged" without ground truth: the kept trial's
final match, the level below which the attack counts as matched, every trial's final match, the kept
trial's loss curve against gradient evaluations, and the other trials' images (the restarts' spread).

The levels sit where iDLG and Inverting Gradients turn an image recognisable on the sigmoid LeNet (CIFAR-10
test images; docs/verdicts.md): a trial that stops above its level did not finish matching, whatever its
images look like.
"""

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

T = TypeVar("T")

# Levels of "matched", per measure (the attack's own loss without its image prior).
RELATIVE_DISTANCE = "relative squared gradient distance"  # ||g' - g||^2 / ||g||^2 (dlg, idlg, grnn, ggl)
COSINE_DISTANCE = "cosine distance"  # 1 - cos(g', g) over all parameters (the Inverting Gradients family)
MATCHED_BELOW = {RELATIVE_DISTANCE: 1e-4, COSINE_DISTANCE: 1e-4}
CURVE_POINTS = 64  # a loss curve is thinned to at most this many points


class Curve:
    """The best-so-far match of one trial against the gradient evaluations spent, thinned to at most
    CURVE_POINTS points by keeping every k-th (k doubling whenever the list is full)."""

    def __init__(self) -> None:
        self.points: list[tuple[int, float]] = []
        self.every, self.seen, self.best = 1, 0, math.inf

    def add(self, evaluations: int, match: float) -> None:
        if math.isfinite(match):
            self.best = min(self.best, match)
        if self.seen % self.every == 0:
            self.points.append((evaluations, self.best))
            if len(self.points) >= CURVE_POINTS:
                self.points, self.every = self.points[::2], 2 * self.every
        self.seen += 1

    def finish(self, evaluations: int) -> list[tuple[int, float]]:
        """The points, ending at the last evaluation."""
        if math.isfinite(self.best) and (not self.points or self.points[-1][0] != evaluations):
            self.points.append((evaluations, self.best))
        return self.points


def trial_evidence(
    finished: Sequence[tuple[float, T]],
    kept: T,
    match: Callable[[float, T], float],
    images: Callable[[T], torch.Tensor],
) -> tuple[list[float | None], list[tuple[float, torch.Tensor]]]:
    """From the restart loop's judged trials (loss, result): each trial's match (None: diverged), and the
    (match, images) of every finite trial but the `kept` one, for the restarts' spread."""
    matches = [match(loss, result) if math.isfinite(loss) else None for loss, result in finished]
    others = [
        (match(loss, result), images(result)) for loss, result in finished if math.isfinite(loss) and result is not kept
    ]
    return matches, others


def match_stats(
    measure: str, kept: float, curve: list[tuple[int, float]], matches: list[float | None], evaluations: int
) -> dict:
    """The statistics every optimisation attack adds: the kept trial's final match, the level of "matched"
    in that measure, each trial's final match, the kept trial's curve and the gradient evaluations spent."""
    return {
        "match": kept,
        "match_measure": measure,
        "matched_below": MATCHED_BELOW[measure],
        "trial_matches": matches,
        "loss_curve": [[int(e), float(v)] for e, v in curve],
        "gradient_evaluations": int(evaluations),
    }
