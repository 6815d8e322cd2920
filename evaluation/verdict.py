"""The verdict on one attacked share, and its evidence: what the attack could and could not establish.

- recovered: the images are recognisable (ground truth available: most images reach SSIM 0.5 and a PSNR 3 dB above
  their flat image's, evaluation/metrics.py's `recognisable`), or,
  without ground truth, the attack matched the share and its restarts agree on the images (the share
  pins the data down and the attack found it), or a closed-form attack separated every image;
- ambiguous: the attack matched the share to its convergence level, yet what it found differs from the
  truth, or its matched restarts differ from each other (the model does not pin the data down);
- not_converged: the match is still above the attack's level: the budget was too small, and the loss
  curve's extrapolation says how many gradient evaluations it would need (or that it has stalled);
- not_applicable: the attack's capabilities are missing for this share, or there was nothing to invert.

The evidence (evaluation/verdict.py's `judge`) holds the final match, the level, the restarts' spread,
the extrapolated budget, the truth's scores when there is truth, and what the share gave away in closed
form (attacks/analytic.py) before any optimisation.
"""

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.evidence import MATCHED_BELOW, RELATIVE_DISTANCE
from fedprivacy.evaluation.metrics import FLAT_MARGIN_DB, RECOGNISABLE_SSIM, psnr
from fedprivacy.evaluation.pairing import pair_by_mse
from fedprivacy.evaluation.scoring import mean_of
from fedprivacy.fl.functional import functional_update
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.gradients import model_gradient

VERDICTS = ("recovered", "ambiguous", "not_converged", "not_applicable")
AGREE_DB = 15.0  # matched restarts whose images are this close (PSNR, paired) agree
MOST = 0.5  # share of the batch that must be recognisable for "recovered"


@dataclass(frozen=True)
class Verdict:
    """One of VERDICTS and the evidence behind it (JSON-ready)."""

    verdict: str
    evidence: dict

    def record(self) -> dict:
        return {"verdict": self.verdict, "verdict_evidence": self.evidence}


def pixels(obs: Observation, images: torch.Tensor) -> torch.Tensor:
    return obs.normalization.denormalize(images.detach().cpu().float()).clamp(0, 1)


def spread_db(obs: Observation, matched: list[torch.Tensor]) -> float | None:
    """The lowest PSNR between any two matched trials' images, each pair of batches paired image to image
    (a batch's order is arbitrary); None for fewer than two."""
    if len(matched) < 2:
        return None
    batches = [pixels(obs, images) for images in matched]
    lowest = math.inf
    for first in range(len(batches)):
        for second in range(first + 1, len(batches)):
            order = pair_by_mse(batches[second], batches[first])
            lowest = min(lowest, float(psnr(batches[second][order], batches[first]).min()))
    return lowest


def extrapolated_budget(curve: list[list[float]], level: float) -> dict:
    """Gradient evaluations at which a power law fitted to the second half of the loss curve reaches
    `level`; None (with why) when the curve has too few points or does not fall."""
    if not curve:
        return {"evaluations": None, "why": "the attack reports no loss curve (it does not iterate on a match)"}
    points = [(e, v) for e, v in curve if e > 0 and v > 0]
    tail = points[len(points) // 2 :]
    if len(tail) < 3:
        return {"evaluations": None, "why": "too few points on the loss curve"}
    x, y = np.log([e for e, _ in tail]), np.log([v for _, v in tail])
    if np.ptp(x) == 0:
        return {"evaluations": None, "why": "too few points on the loss curve"}
    slope, intercept = np.polyfit(x, y, 1)
    if slope > -0.05:
        return {"evaluations": None, "why": "the loss curve has flattened: more of the same is unlikely to match"}
    needed = math.exp((math.log(level) - intercept) / slope)
    spent = tail[-1][0]
    return {
        "evaluations": None if needed > 1e15 else int(needed),
        "times_spent": needed / spent,
        "basis": f"power law (slope {slope:.2f}) fitted to the last {len(tail)} points of the kept trial's curve",
    }


def post_hoc_match(obs: Observation, result: Reconstruction) -> float:
    """For an attack that reports no match of its own: the relative squared distance between the observed
    share and the one the reconstruction with its labels would produce (one simulated share)."""
    model, parameters, buffers = obs.model_in_mode(), obs.parameters(), obs.buffers()
    images, labels = result.images.detach(), result.labels.to(obs.device)
    with torch.enable_grad():
        if obs.update is not None and obs.local_training is not None and len(labels) == obs.num_examples:
            simulated, observed = (
                functional_update(model, parameters, buffers, images, labels, obs.local_training, obs.model_mode),
                obs.update,
            )
        else:
            simulated, observed = model_gradient(model, parameters, buffers, images, labels), obs.gradient
    distance = sum(float(((s.detach() - o) ** 2).sum()) for s, o in zip(simulated, observed, strict=True))
    return distance / max(sum(float((o**2).sum()) for o in observed), 1e-30)


def truth_evidence(rows: list[dict]) -> dict:
    """How the reconstruction compares with the private batch."""
    scored = [row for row in rows if row.get("ssim") is not None]
    return {
        "images": len(rows),
        "recognisable": sum(row["recognisable"] for row in scored),
        "recognisable_ssim": RECOGNISABLE_SSIM,
        "recognisable_over_flat_db": FLAT_MARGIN_DB,
        "mean_psnr": mean_of(scored, "psnr"),
        "mean_flat_psnr": mean_of(scored, "flat_psnr"),
    }


def judge(obs: Observation, result: Reconstruction, rows: list[dict] | None = None) -> Verdict:
    """The verdict on an attack's answer to `obs`; `rows` are the per-image scores against the truth, when
    there is truth (the verdict works without it)."""
    stats = result.stats
    closed_form = bool(stats.get("closed_form"))
    if "match" in stats:
        match, measure, level = stats["match"], stats["match_measure"], stats["matched_below"]
    else:
        match, measure, level = post_hoc_match(obs, result), RELATIVE_DISTANCE, MATCHED_BELOW[RELATIVE_DISTANCE]
    matched = closed_form or (match is not None and math.isfinite(match) and match <= level)
    same_level = [images for value, images in result.alternatives if value <= level]
    spread = spread_db(obs, ([result.images] if matched else []) + same_level)
    evidence = {
        "match": None if closed_form else match,
        "match_measure": "closed form" if closed_form else measure,
        "matched_below": None if closed_form else level,
        "matched": matched,
        "trials": len(stats.get("trial_matches", [])) or 1,
        "matched_trials": (1 if matched else 0) + len(same_level),
        "restart_spread_db": spread,
        "restarts_agree_above_db": AGREE_DB,
        "extrapolated_budget": None if matched else extrapolated_budget(stats.get("loss_curve", []), level),
        "truth": None if rows is None else truth_evidence(rows),
    }
    collided = stats.get("collided_images_at_least", 0)
    disagree = spread is not None and spread < AGREE_DB
    if rows is not None:
        truth = evidence["truth"]
        if truth["recognisable"] > MOST * truth["images"]:
            return Verdict("recovered", evidence | {"why": "most images are recognisable against the truth"})
        if matched:
            return Verdict("ambiguous", evidence | {"why": "matched the share, yet the images differ from the truth"})
        return Verdict("not_converged", evidence | {"why": "the match is above the attack's level"})
    if not matched:
        return Verdict("not_converged", evidence | {"why": "the match is above the attack's level"})
    if disagree or collided:
        why = "matched restarts differ from each other" if disagree else f"{collided} or more images share a bin"
        return Verdict("ambiguous", evidence | {"why": why})
    if spread is None and not closed_form:
        return Verdict("ambiguous", evidence | {"why": "only one trial matched: the restarts' spread is unmeasured"})
    why = "closed form, every image alone" if closed_form else "matched restarts agree (no ground truth to confirm)"
    return Verdict("recovered", evidence | {"why": why})


def not_applicable(why: str) -> Verdict:
    return Verdict("not_applicable", {"why": why})


def diverged(why: str) -> Verdict:
    """Every trial diverged: nothing matched."""
    return Verdict("not_converged", {"why": why, "matched": False})


def counts(verdicts: list[str]) -> dict[str, int]:
    """How many experiments got each verdict, in VERDICTS order."""
    tally = Counter(verdicts)
    return {name: tally[name] for name in VERDICTS if tally[name]}
