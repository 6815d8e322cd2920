"""Deep Leakage from Gradients (Zhu, Liu and Han, NeurIPS 2019).

Dummy images and dummy label logits start from Gaussian noise and are optimised jointly with
L-BFGS so that their gradient matches the shared one in squared L2 distance. `--restarts`
trials are run and the one with the lowest gradient distance is kept (a trial stops early
once the distance is negligible): a single L-BFGS run stalls on a large share of real images.
"""

import math

import torch
from tqdm import tqdm

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.capabilities import Capabilities
from attacks.restarts import best_trial
from fl.observation import Observation
from utils.gradients import model_gradient, squared_distance, total_variation
from utils.progress import loss_bar

# A trial whose distance is below this share of the shared gradient's energy has converged.
CONVERGED = 1e-6


def run_trial(
    obs: Observation, config: AttackConfig, labels: torch.Tensor | None, generator: torch.Generator, bar: tqdm
) -> tuple[float, torch.Tensor, torch.Tensor, int, int]:
    """One L-BFGS run from Gaussian noise: final distance, images, label logits, steps, evaluations."""
    parameters, buffers = obs.parameters(), obs.buffers()
    device = obs.gradient[0].device
    images = torch.randn((obs.num_images, *obs.image_shape), generator=generator).to(device).requires_grad_()
    logits = torch.randn((obs.num_images, obs.num_classes), generator=generator).to(device).requires_grad_()
    variables = [images] if labels is not None else [images, logits]
    optimizer = torch.optim.LBFGS(variables, lr=config.rec_lr)

    def objective() -> torch.Tensor:
        targets = labels if labels is not None else logits.softmax(dim=1)
        dummy = model_gradient(obs.model, parameters, buffers, images, targets)
        loss = squared_distance(dummy, obs.gradient)
        return loss + config.tv * total_variation(images) if config.tv else loss

    evaluations = 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        optimizer.zero_grad()
        loss = objective()
        for variable, grad in zip(variables, torch.autograd.grad(loss, variables), strict=True):
            variable.grad = grad
        return loss

    loss, previous, steps = math.inf, None, 0
    while steps < config.rec_epochs:
        steps += 1
        loss = float(optimizer.step(closure).detach())
        bar.set_postfix(loss=f"{loss:.3g}")
        bar.update()
        if not math.isfinite(loss) or loss == previous:  # diverged, or L-BFGS is at its tolerance
            break
        previous = loss
    if math.isfinite(loss):
        loss = float(objective().detach())
    return loss, images.detach(), logits.detach(), steps, evaluations


def match_gradient(obs: Observation, config: AttackConfig, labels: torch.Tensor | None, name: str) -> Reconstruction:
    """L-BFGS gradient matching with restarts; learns soft labels too unless `labels` are given (iDLG)."""
    obs.model_in_mode()
    energy = float(sum((g**2).sum() for g in obs.gradient))
    generator = torch.Generator().manual_seed(config.seed)
    counts = {"steps": 0, "evaluations": 0}

    def trial(_: int) -> tuple[float, tuple[torch.Tensor, torch.Tensor]]:
        loss, images, logits, steps, evaluations = run_trial(obs, config, labels, generator, bar)
        counts["steps"] += steps
        counts["evaluations"] += evaluations
        return loss, (images, logits)

    with loss_bar(config.rec_epochs * config.restarts, name, config.progress) as bar:
        best = best_trial(name, config.restarts, trial, bar, good_enough=lambda loss: loss < CONVERGED * energy)
    images, logits = best.result
    return Reconstruction(
        images=obs.normalization.clamp(images),
        labels=labels if labels is not None else logits.argmax(dim=1),
        stats={
            "gradient_distance": best.loss,
            "relative_distance": best.loss / max(energy, 1e-30),
            "trials": best.trials,
            "diverged_trials": best.diverged,
            "iterations": counts["steps"],
            "gradient_evaluations": counts["evaluations"],
        },
    )


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return match_gradient(obs, config, labels=None, name="dlg")


SPEC = AttackSpec(
    name="dlg",
    attack=run,
    defaults={"rec_epochs": 300, "rec_lr": 1.0, "tv": 0.0},
    needs=Capabilities(second_order=True),
)
