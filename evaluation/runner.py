"""Run an attack on a sequence of observed batches and score each against its private batch.

The attack sees only the Observation; the private images are used here, after the attack
returns, to score it.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from fedprivacy.attacks.analytic import Leakage, leakage
from fedprivacy.attacks.base import Reconstruction, check_observation
from fedprivacy.attacks.spec import AttackConfig, AttackSpec
from fedprivacy.evaluation.pairing import matched_truth
from fedprivacy.evaluation.scoring import score_batch, summarise
from fedprivacy.evaluation.verdict import Verdict, counts, diverged, judge, not_applicable
from fedprivacy.fl.case import Case
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged, UsageError


@dataclass
class RunResult:
    truth: torch.Tensor
    reconstructed: torch.Tensor
    per_image: list[dict]
    experiments: list[dict]
    summary: dict
    interrupted: bool = False  # Ctrl-C stopped the run; these are the cases finished before it


ZERO_GRADIENT = "the shared gradient is exactly zero (e.g. a dataset of one class), so there is nothing to invert"


def is_zero(observation: Observation) -> bool:
    return not any(bool(g.any()) for g in observation.gradient)


def attack_cases(spec: AttackSpec, config: AttackConfig, cases: Iterable[Case]) -> RunResult:
    """Attack every case (seeded per case); a diverged case, or one whose gradient is exactly zero, is
    reported unscored (the latter with a warning) and the rest kept. A case whose client trained on more
    images than the attack reconstructs is scored on the images it matched. Ctrl-C keeps the finished
    cases; with none finished it propagates."""
    finished: list[Outcome] = []
    interrupted = False
    try:
        for index, case in enumerate(cases):
            finished.append(attack_case(spec, replace(config, seed=config.seed + index), case, index))
    except KeyboardInterrupt:
        if not finished:
            raise
        interrupted = True
    return run_result(finished, interrupted)


def run_result(finished: list["Outcome"], interrupted: bool = False) -> RunResult:
    """The attacked cases together: images, per-image rows, experiments and the summary with its verdicts."""
    summary = summarise(
        [row for outcome in finished for row in outcome.rows],
        [outcome.predicted for outcome in finished],
        [outcome.truth_labels for outcome in finished],
        sum(outcome.experiment["seconds"] for outcome in finished),
    )
    summary["verdicts"] = counts([outcome.experiment["verdict"] for outcome in finished])
    warnings = [f"case {o.experiment['index']}: {o.experiment['error']}" for o in finished if o.zero_gradient]
    if warnings:
        summary["warnings"] = warnings
    return RunResult(
        truth=torch.cat([outcome.truth for outcome in finished]),
        reconstructed=torch.cat([outcome.reconstructed for outcome in finished]),
        per_image=[row for outcome in finished for row in outcome.rows],
        experiments=[outcome.experiment for outcome in finished],
        summary=summary,
        interrupted=interrupted,
    )


@dataclass
class Outcome:
    """One attacked case: the private images it is scored on, its paired reconstruction, per-image rows,
    experiment record and labels."""

    truth: torch.Tensor
    truth_labels: torch.Tensor
    reconstructed: torch.Tensor
    rows: list[dict]
    experiment: dict
    predicted: torch.Tensor
    zero_gradient: bool = False


@dataclass
class Attempt:
    """One attack on one observation, before any scoring: the reconstruction (None when there was none),
    its status and why, the seconds it took, and what the share gave away in closed form."""

    result: Reconstruction | None
    status: str  # ok, diverged, zero_gradient or not_applicable
    error: str | None
    seconds: float
    leakage: Leakage | None

    def verdict(self, observation: Observation, rows: list[dict] | None = None) -> Verdict:
        """The verdict with its evidence (rows: per-image scores against the truth, when there is truth)."""
        if self.result is None:
            found = diverged(self.error) if self.status == "diverged" else not_applicable(self.error)
        else:
            found = judge(observation, self.result, rows)
        if self.leakage is not None:
            found.evidence["analytic"] = self.leakage.describe()
        return found


def attempt(spec: AttackSpec, config: AttackConfig, observation: Observation) -> Attempt:
    """Read off what the share gives away in closed form, then attack: a share the attack cannot serve
    (its capabilities) or an exactly zero gradient is not attacked; a diverged attack is kept as such."""
    start = time.perf_counter()
    if is_zero(observation):
        return Attempt(None, "zero_gradient", ZERO_GRADIENT, 0.0, None)
    try:
        check_observation(spec, observation)
    except UsageError as error:
        return Attempt(None, "not_applicable", str(error), 0.0, None)
    found = None
    try:
        found = leakage(observation)
        result, status, failure = spec.run(observation, config), "ok", None
    except AttackDiverged as error:
        result, status, failure = None, "diverged", str(error)
    return Attempt(result, status, failure, time.perf_counter() - start, found)


def attack_case(spec: AttackSpec, config: AttackConfig, case: Case, index: int) -> Outcome:
    """Attack and score one case; a zero gradient is not attacked, a diverged attack is kept unscored."""
    return scored(attempt(spec, config, case.observation), case, index)


def scored(tried: Attempt, case: Case, index: int) -> Outcome:
    """An attempt on `case` scored against its private batch, with its verdict."""
    record = {"index": index, **case.meta}
    truth, truth_labels = case.images[: case.observation.num_images], case.labels[: case.observation.num_images]
    if tried.result is None:
        tqdm.write(f"case {index}: {tried.error}; keeping the other results")
        rows = [
            {"case": index, "status": tried.status, "label": int(y), "label_ok": False, "psnr": None, "ssim": None}
            for y in truth_labels
        ]
        experiment = {**record, "status": tried.status, "error": tried.error, "seconds": tried.seconds}
        experiment |= tried.verdict(case.observation).record()
        empty = torch.empty(0, dtype=torch.long)
        filler = torch.full_like(truth, 0.5)
        return Outcome(truth, truth_labels, filler, rows, experiment, empty, tried.status == "zero_gradient")
    result = tried.result
    pixels = case.observation.normalization.denormalize(result.images.detach().cpu()).clamp(0, 1)
    if len(pixels) < len(case.images):  # the client trained on more images than the attack recovers
        chosen = matched_truth(pixels, case.images)
        truth, truth_labels = case.images[chosen], case.labels[chosen]
    paired, scored = score_batch(truth, truth_labels, pixels, result.labels.cpu())
    rows = [{"case": index, "status": "ok", **row} for row in scored]
    experiment = {**record, "status": "ok", "seconds": tried.seconds, **result.stats}
    experiment |= tried.verdict(case.observation, scored).record()
    return Outcome(truth, truth_labels, paired, rows, experiment, result.labels.cpu())
