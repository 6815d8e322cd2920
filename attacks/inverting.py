"""Inverting Gradients (Geiping et al., NeurIPS 2020): the core shared by ig_single, ig_weight and ig_multi.

Dummy images start from Gaussian noise in the normalised space. Each step simulates what the client
would have shared for them (its gradient, or its weight update after local SGD) and minimises
1 - cosine similarity to the observed tensors over all parameters (optionally weighted per layer),
plus `tv` times total variation. Adam runs on the sign of the image gradient; its step size drops
tenfold at 3/8, 5/8 and 7/8 of the iterations; after every step the images are clamped to the valid
pixel box. Of `--<variant>.restarts` trials the one with the best final match is kept. Labels come from the
shared gradient (`--<variant>.label_strategy`, attacks/label_strategies.py) unless the observation carries them
(--known_labels).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.func import vmap
from tqdm import tqdm

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.inverting import InvertingOptions
from fedprivacy.attacks.evidence import COSINE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.label_strategies import restore
from fedprivacy.attacks.restarts import best_of_batches
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.functional import batched_functional_update, functional_update
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.allocator import reuse_large_blocks
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.gradients import batched_model_gradient, model_gradient, total_variation
from fedprivacy.utils.progress import loss_bar

LR_DROPS = (3 / 8, 5 / 8, 7 / 8)


@dataclass(frozen=True)
class Target:
    """What the attack matches: the observed tensors and how to simulate them, for one trial's
    (images, labels) and for R trials at once (R x B images and labels; results with a leading R)."""

    observed: tuple[torch.Tensor, ...]
    simulate: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]
    simulate_trials: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]

    def simulated(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The simulated tensors of R trials; one trial takes the plain autograd path, which is faster."""
        if len(images) == 1:
            return tuple(t.unsqueeze(0) for t in self.simulate(images[0], labels[0]))
        return self.simulate_trials(images, labels)


def gradient_target(obs: Observation) -> Target:
    """Match the shared gradient (FedSGD; for a FedAvg observation, its pseudo-gradient)."""
    model, parameters, buffers = obs.model, obs.parameters(), obs.buffers()
    return Target(
        obs.gradient,
        lambda images, labels: model_gradient(model, parameters, buffers, images, labels),
        lambda images, labels: batched_model_gradient(model, parameters, buffers, images, labels),
    )


def update_target(obs: Observation) -> Target:
    """Match the shared weight update by differentiating through the client's known local training."""
    model, parameters, buffers, local, mode = (
        obs.model,
        obs.parameters(),
        obs.buffers(),
        obs.local_training,
        obs.model_mode,
    )
    return Target(
        obs.update,
        lambda images, labels: functional_update(model, parameters, buffers, images, labels, local, mode),
        lambda images, labels: batched_functional_update(model, parameters, buffers, images, labels, local, mode),
    )


def layer_weights(kind: str, count: int) -> torch.Tensor:
    """Per-tensor weights of the cosine loss: equal, or decreasing linearly / exponentially with depth."""
    if kind == "equal":
        return torch.ones(count)
    decreasing = torch.arange(count, 0, -1, dtype=torch.float32)
    if kind == "linear":
        return decreasing / count
    if kind == "exp":
        return decreasing.softmax(dim=0)
    raise UsageError(f"--layer_weights {kind!r} is unknown; choose equal, linear or exp")


def cosine_distances(
    dummy: tuple[torch.Tensor, ...], observed: tuple[torch.Tensor, ...], weights: list[float], observed_norm: float
) -> torch.Tensor:
    """Per trial, 1 - weighted cosine similarity between its tensors (leading dimension R) and the observed
    ones, each list treated as one long vector."""
    pairs = [(w, d.flatten(1), o.flatten()) for w, d, o in zip(weights, dummy, observed, strict=True)]
    dot = sum(w * (d * o).sum(dim=1) for w, d, o in pairs)
    norm = sum(w * d.pow(2).sum(dim=1) for w, d, _ in pairs)
    return 1 - dot / (norm.sqrt() * observed_norm)


def attack_labels(obs: Observation, config: AttackConfig[InvertingOptions]) -> tuple[torch.Tensor, str]:
    """The labels to reconstruct with, and where they came from ("known" or "restored")."""
    if obs.labels is not None:
        return obs.labels, "known"
    strategy = config.options.label_strategy
    return restore(obs, strategy, torch.Generator().manual_seed(config.seed)), "restored"


@dataclass(frozen=True)
class Trials:
    """The outcome of R trials run together: final match losses (inf: diverged), images, steps each ran,
    and each trial's final cosine distance (the loss without its TV prior) and curve of it."""

    losses: list[float]
    images: torch.Tensor
    steps: list[int]
    cosines: list[float]
    curves: list[list[tuple[int, float]]]


def run_trials(
    config: AttackConfig[InvertingOptions],
    target: Target,
    labels: torch.Tensor,
    weights: list[float],
    starts: torch.Tensor,
    box: tuple[torch.Tensor, torch.Tensor],
    bar: tqdm,
) -> Trials:
    """Signed Adam from R starting images (R x B x C x H x W) at once. The trials share nothing: every
    loss, gradient sign and Adam moment is per trial (Adam is element-wise), so each trial ends where it
    would alone, up to float rounding. A trial whose loss turns NaN/inf diverged; the others go on."""
    trials = len(starts)
    labels = labels.expand(trials, *labels.shape)
    observed_norm = math.sqrt(float(sum(w * o.pow(2).sum() for w, o in zip(weights, target.observed, strict=True))))
    images = starts.clone().requires_grad_()
    optimizer = torch.optim.Adam([images], lr=config.options.lr)
    milestones = [round(config.options.iterations * share) for share in LR_DROPS]
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    steps = [config.options.iterations] * trials
    running = list(range(trials))
    curves = [Curve() for _ in range(trials)]

    def losses() -> tuple[torch.Tensor, list[float]]:
        cosine = cosine_distances(target.simulated(images, labels), target.observed, weights, observed_norm)
        loss = cosine + config.options.tv * vmap(total_variation)(images) if config.options.tv else cosine
        return loss, cosine.detach().tolist()

    for step in range(1, config.options.iterations + 1):
        loss, cosines = losses()
        (gradient,) = torch.autograd.grad(loss.sum(), images)
        values = loss.detach().tolist()
        for index in running:
            curves[index].add(step, cosines[index])
        for index in [index for index in running if not math.isfinite(values[index])]:
            steps[index] = step
            running.remove(index)
        if not running:
            break
        images.grad = gradient.sign_()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            images.clamp_(*box)
        bar.set_postfix(loss=f"{min(values[index] for index in running):.4g}", refresh=False)
        bar.update(len(running))
    final, cosines = losses()
    final = final.detach().tolist()
    finals = [final[index] if index in running and math.isfinite(final[index]) else math.inf for index in range(trials)]
    cosines = [cosines[index] if math.isfinite(finals[index]) else math.inf for index in range(trials)]
    for index in running:
        curves[index].add(steps[index] + 1, cosines[index])
    return Trials(
        finals, images.detach(), steps, cosines, [curve.finish(steps[i] + 1) for i, curve in enumerate(curves)]
    )


@dataclass(frozen=True)
class Found:
    """One trial's final images, its cosine distance without the TV prior, and its curve of that distance."""

    images: torch.Tensor
    cosine: float
    curve: list[tuple[int, float]]


def invert(obs: Observation, config: AttackConfig[InvertingOptions], target: Target, name: str) -> Reconstruction:
    """Run the options' restarts against `target`, `config.trials_at_once` at a time as one batched
    computation, and keep the images with the best final match."""
    reuse_large_blocks()
    device = target.observed[0].device
    labels, source = attack_labels(obs, config)
    labels = labels.to(device)
    kind = config.options.layer_weights
    weights = layer_weights(kind, len(target.observed)).tolist()
    generator = torch.Generator().manual_seed(config.seed)
    starts = torch.stack(
        [torch.randn((obs.num_images, *obs.image_shape), generator=generator) for _ in range(config.options.restarts)]
    )
    starts = starts.to(device)
    box = obs.normalization.box(starts[0])
    steps = 0

    def trial_batch(indices: range) -> list[tuple[float, Found]]:
        nonlocal steps
        trials = run_trials(config, target, labels, weights, starts[indices.start : indices.stop], box, bar)
        steps += sum(trials.steps)
        found = [Found(*parts) for parts in zip(trials.images, trials.cosines, trials.curves, strict=True)]
        return list(zip(trials.losses, found, strict=True))

    with loss_bar(config.options.iterations * config.options.restarts, name, config.progress) as bar:
        best = best_of_batches(
            name, config.options.restarts, config.trials_at_once, trial_batch, bar, at_least=config.min_trials
        )
    kept = best.result
    matches, others = trial_evidence(
        best.finished, kept, lambda _, found: found.cosine, lambda found: obs.normalization.clamp(found.images)
    )
    return Reconstruction(
        images=obs.normalization.clamp(kept.images),
        labels=labels,
        stats={
            "cosine_distance": best.loss,
            "labels": source,
            "layer_weights": kind,
            "trials": best.trials,
            "trial_batch": config.trials_at_once,
            "diverged_trials": best.diverged,
            "iterations": steps,
            **match_stats(COSINE_DISTANCE, kept.cosine, kept.curve, matches, steps),
        },
        alternatives=others,
    )
