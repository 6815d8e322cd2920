"""Run an attack on a sequence of observed batches and score each against its private batch.

The attack sees only the Observation; the private images are used here, after the attack
returns, to score it.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from attacks.base import AttackConfig, AttackSpec
from evaluation.pairing import matched_truth
from evaluation.scoring import score_batch, summarise
from fl.case import Case
from utils.errors import AttackDiverged


@dataclass
class RunResult:
    truth: torch.Tensor
    reconstructed: torch.Tensor
    per_image: list[dict]
    experiments: list[dict]
    summary: dict


def attack_cases(spec: AttackSpec, config: AttackConfig, cases: Iterable[Case]) -> RunResult:
    """Attack every case (seeded per case); a diverged case is reported and the rest kept. A case whose
    client trained on more images than the attack reconstructs is scored on the images it matched."""
    truths, reconstructions, rows, experiments, predicted, true_labels = [], [], [], [], [], []
    seconds = 0.0
    for index, case in enumerate(cases):
        record = {"index": index, **case.meta}
        start = time.perf_counter()
        try:
            result, failure = spec.run(case.observation, replace(config, seed=config.seed + index)), None
        except AttackDiverged as error:
            result, failure = None, error
        elapsed = time.perf_counter() - start
        seconds += elapsed
        truth, truth_labels = case.images[: case.observation.num_images], case.labels[: case.observation.num_images]
        if result is None:
            truths.append(truth)
            true_labels.append(truth_labels)
            tqdm.write(f"case {index}: {failure}; keeping the other results")
            experiments.append({**record, "status": "diverged", "error": str(failure), "seconds": elapsed})
            reconstructions.append(torch.full_like(truth, 0.5))
            predicted.append(torch.empty(0, dtype=torch.long))
            rows += [
                {"case": index, "status": "diverged", "label": int(y), "label_ok": False, "psnr": None, "ssim": None}
                for y in truth_labels
            ]
            continue
        pixels = case.observation.normalization.denormalize(result.images.detach().cpu()).clamp(0, 1)
        if len(pixels) < len(case.images):  # the client trained on more images than the attack recovers
            chosen = matched_truth(pixels, case.images)
            truth, truth_labels = case.images[chosen], case.labels[chosen]
        truths.append(truth)
        true_labels.append(truth_labels)
        paired, scored = score_batch(truth, truth_labels, pixels, result.labels.cpu())
        reconstructions.append(paired)
        predicted.append(result.labels.cpu())
        rows += [{"case": index, "status": "ok", **row} for row in scored]
        experiments.append({**record, "status": "ok", "seconds": elapsed, **result.stats})
    return RunResult(
        truth=torch.cat(truths),
        reconstructed=torch.cat(reconstructions),
        per_image=rows,
        experiments=experiments,
        summary=summarise(rows, predicted, true_labels, seconds),
    )
