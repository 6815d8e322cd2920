"""Inverting Gradients (Geiping et al., NeurIPS 2020): the core shared by ig_single, ig_weight and ig_multi.

Dummy images start from Gaussian noise in the normalised space. Each step simulates what the client
would have shared for them (its gradient, or its weight update after local SGD) and minimises
1 - cosine similarity to the observed tensors over all parameters (optionally weighted per layer),
plus `tv` times total variation. Adam runs on the sign of the image gradient; its step size drops
tenfold at 3/8, 5/8 and 7/8 of the iterations; after every step the images are clamped to the valid
pixel box. Of `--restarts` trials the one with the best final match is kept. Labels come from the
shared gradient (--label_strategy, attacks/label_strategies.py) unless the observation carries them
(--known_labels).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.capabilities import Capabilities
from attacks.label_strategies import LabelOptions, restore
from attacks.options import option
from attacks.restarts import best_trial
from fl.functional import functional_update
from fl.observation import Observation
from utils.allocator import reuse_large_blocks
from utils.errors import UsageError
from utils.gradients import model_gradient, total_variation
from utils.progress import loss_bar

LR_DROPS = (3 / 8, 5 / 8, 7 / 8)
NEEDS = Capabilities(known_labels=True, label_layer=True, second_order=True)


@dataclass(frozen=True)
class InvertingOptions(LabelOptions):
    """The options of ig_single, ig_weight and ig_multi."""

    layer_weights: str = option(
        "equal",
        "per-layer weights of the cosine loss: equal; linear or exp favour the first layers (Geiping et al.)",
        choices=("equal", "linear", "exp"),
    )


@dataclass(frozen=True)
class Target:
    """What the attack matches: the observed tensors and how to simulate them from (images, labels)."""

    observed: tuple[torch.Tensor, ...]
    simulate: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]


def gradient_target(obs: Observation) -> Target:
    """Match the shared gradient (FedSGD; for a FedAvg observation, its pseudo-gradient)."""
    parameters, buffers = obs.parameters(), obs.buffers()
    return Target(obs.gradient, lambda images, labels: model_gradient(obs.model, parameters, buffers, images, labels))


def update_target(obs: Observation) -> Target:
    """Match the shared weight update by differentiating through the client's known local training."""
    parameters, buffers, local = obs.parameters(), obs.buffers(), obs.local_training
    return Target(
        obs.update,
        lambda images, labels: functional_update(obs.model, parameters, buffers, images, labels, local, obs.model_mode),
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


def cosine_distance(
    dummy: tuple[torch.Tensor, ...], observed: tuple[torch.Tensor, ...], weights: list[float], observed_norm: float
) -> torch.Tensor:
    """1 - weighted cosine similarity between two tensor lists, treated as one long vector each."""
    dot = sum(w * torch.dot(d.flatten(), o.flatten()) for w, d, o in zip(weights, dummy, observed, strict=True))
    norm = sum(w * torch.dot(d.flatten(), d.flatten()) for w, d in zip(weights, dummy, strict=True))
    return 1 - dot / (norm.sqrt() * observed_norm)


def attack_labels(obs: Observation, config: AttackConfig) -> tuple[torch.Tensor, str]:
    """The labels to reconstruct with, and where they came from ("known" or "restored")."""
    if obs.labels is not None:
        return obs.labels, "known"
    strategy = config.options.label_strategy
    return restore(obs, strategy, torch.Generator().manual_seed(config.seed)), "restored"


def run_trial(
    obs: Observation,
    config: AttackConfig,
    target: Target,
    labels: torch.Tensor,
    weights: list[float],
    generator: torch.Generator,
    bar: tqdm,
) -> tuple[float, torch.Tensor, int]:
    """One signed-Adam run from Gaussian noise: final match loss (inf if it diverged), images, steps."""
    device = target.observed[0].device
    observed_norm = math.sqrt(sum(w * float(o.pow(2).sum()) for w, o in zip(weights, target.observed, strict=True)))
    images = torch.randn((obs.num_images, *obs.image_shape), generator=generator).to(device).requires_grad_()
    low, high = obs.normalization.box(images)
    optimizer = torch.optim.Adam([images], lr=config.rec_lr)
    milestones = [round(config.rec_epochs * share) for share in LR_DROPS]
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    for step in range(1, config.rec_epochs + 1):
        loss = cosine_distance(target.simulate(images, labels), target.observed, weights, observed_norm)
        if config.tv:
            loss = loss + config.tv * total_variation(images)
        (gradient,) = torch.autograd.grad(loss, images)
        value = float(loss.detach())
        if not math.isfinite(value):
            return math.inf, images.detach(), step
        images.grad = gradient.sign_()
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            images.clamp_(low, high)
        bar.set_postfix(loss=f"{value:.4g}", refresh=False)
        bar.update()
    final = float(cosine_distance(target.simulate(images, labels), target.observed, weights, observed_norm).detach())
    return (final if math.isfinite(final) else math.inf), images.detach(), config.rec_epochs


def invert(obs: Observation, config: AttackConfig, target: Target, name: str) -> Reconstruction:
    """Run `config.restarts` trials against `target` and keep the images with the best final match."""
    reuse_large_blocks()
    obs.model_in_mode()
    labels, source = attack_labels(obs, config)
    labels = labels.to(target.observed[0].device)
    kind = config.options.layer_weights
    weights = layer_weights(kind, len(target.observed)).tolist()
    generator = torch.Generator().manual_seed(config.seed)
    steps = 0

    def trial(_: int) -> tuple[float, torch.Tensor]:
        nonlocal steps
        loss, images, trial_steps = run_trial(obs, config, target, labels, weights, generator, bar)
        steps += trial_steps
        return loss, images

    with loss_bar(config.rec_epochs * config.restarts, name, config.progress) as bar:
        best = best_trial(name, config.restarts, trial, bar)
    return Reconstruction(
        images=obs.normalization.clamp(best.result),
        labels=labels,
        stats={
            "cosine_distance": best.loss,
            "labels": source,
            "layer_weights": kind,
            "trials": best.trials,
            "diverged_trials": best.diverged,
            "iterations": steps,
        },
    )


def spec(name: str, run: Callable[[Observation, AttackConfig], Reconstruction], defaults: dict, update: bool):
    """The registry entry of one Inverting Gradients variant."""
    return AttackSpec(name, run, defaults, replace(NEEDS, update=update), InvertingOptions)
