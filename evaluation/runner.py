"""Run an attack on a sequence of observed batches and score each against its private batch.

The attack sees only the Observation; the private images are used here, after the attack
returns, to score it.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from fedprivacy.attacks.spec import AttackConfig, AttackSpec
from fedprivacy.evaluation.pairing import matched_truth
from fedprivacy.evaluation.scoring import score_batch, summarise
from fedprivacy.fl.case import Case
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged


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
    summary = summarise(
        [row for outcome in finished for row in outcome.rows],
        [outcome.predicted for outcome in finished],
        [outcome.truth_labels for outcome in finished],
        sum(outcome.experiment["seconds"] for outcome in finished),
    )
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


def attack_case(spec: AttackSpec, config: AttackConfig, case: Case, index: int) -> Outcome:
    """Attack and score one case; a zero gradient is not attacked, a diverged attack is kept unscored."""
    record = {"index": index, **case.meta}
    start = time.perf_counter()
    result, status, failure = None, "zero_gradient", ZERO_GRADIENT
    if not is_zero(case.observation):
        try:
            result = spec.run(case.observation, config)
        except AttackDiverged as error:
            status, failure = "diverged", str(error)
    elapsed = time.perf_counter() - start
    truth, truth_labels = case.images[: case.observation.num_images], case.labels[: case.observation.num_images]
    if result is None:
        tqdm.write(f"case {index}: {failure}; keeping the other results")
        rows = [
            {"case": index, "status": status, "label": int(y), "label_ok": False, "psnr": None, "ssim": None}
            for y in truth_labels
        ]
        experiment = {**record, "status": status, "error": failure, "seconds": elapsed}
        empty = torch.empty(0, dtype=torch.long)
        filler = torch.full_like(truth, 0.5)
        return Outcome(truth, truth_labels, filler, rows, experiment, empty, status == "zero_gradient")
    pixels = case.observation.normalization.denormalize(result.images.detach().cpu()).clamp(0, 1)
    if len(pixels) < len(case.images):  # the client trained on more images than the attack recovers
        chosen = matched_truth(pixels, case.images)
        truth, truth_labels = case.images[chosen], case.labels[chosen]
    paired, scored = score_batch(truth, truth_labels, pixels, result.labels.cpu())
    rows = [{"case": index, "status": "ok", **row} for row in scored]
    experiment = {**record, "status": "ok", "seconds": elapsed, **result.stats}
    return Outcome(truth, truth_labels, paired, rows, experiment, result.labels.cpu())
