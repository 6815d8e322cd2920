"""Deep Leakage from Gradients (Zhu, Liu and Han, NeurIPS 2019).

Dummy images and dummy label logits start from Gaussian noise and are optimised jointly with
L-BFGS so that their gradient matches the shared one in squared L2 distance. `--restarts`
trials are run and the one with the lowest gradient distance is kept (no further trial
starts once the distance is negligible). With `workers` > 1 the trials run side by side in worker
processes (attacks/parallel_trials.py), from the same starts and with the same answer.

L-BFGS takes strong-Wolfe line-search steps, unlike the paper's plain `torch.optim.LBFGS` loop.
Without them a full step can throw the dummy images to pixel values of 1e5 and more, where every
sigmoid saturates: the dummy gradient stops moving and the trial sits on a flat plateau
(relative distance 1 to 60) for all its remaining steps. That happened most where the untrained
model already predicts the true class (an untrained LeNet says "dog" for most images, so CIFAR-10
dogs stalled in every trial): the error signal p - y is then small and the first steps from a
random soft label overshoot. A trial still far from the shared gradient after `STALL_STEPS`
steps is abandoned as stalled, and the next trial starts.

On a non-smooth model (GRNN's LeNet-5, whose max-pooling puts kinks in the matching objective) the
line search can find no decrease at all, far from the shared gradient. The trial then goes on with
the paper's plain L-BFGS steps, which move whether or not they decrease the distance, and keeps the
images of its lowest distance, since plain steps can overshoot.

`--float64` matches in double precision (the broadcast weights and the shared gradient in float64). Some
images end every float32 trial at a relative distance near 2e-7 where the line search can resolve no
further decrease, a few dB short of the rest (CIFAR-10 test image 15 on LeNet: 28.8 dB in float32,
33.6 dB in float64, about the same CPU time); GPUs other than data-centre ones run float64 far slower.
"""

import math
from dataclasses import dataclass, replace
from functools import partial

import torch

from fedprivacy.attacks.base import AttackConfig, AttackSpec, Budget, Reconstruction
from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.attacks.evidence import RELATIVE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.options import option
from fedprivacy.attacks.parallel_trials import Step, trial_results
from fedprivacy.attacks.restarts import best_trial
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.gradients import model_gradient, squared_distance, total_variation
from fedprivacy.utils.progress import loss_bar

# A trial whose distance is below this share of the shared gradient's energy has converged.
CONVERGED = 1e-6
# A trial whose distance is still above this share of the shared gradient's energy after
# STALL_STEPS steps is stalled; trials that succeed are below 0.25 after two steps.
STALL_STEPS = 10
STALL_LEVEL = 0.5
# torch's L-BFGS evaluates the objective at most max_iter x 5/4 times per step (max_iter 20 by default).
EVALUATIONS_PER_STEP = 25


@dataclass(frozen=True)
class MatchOptions:
    """The option of the L-BFGS gradient-matching attacks (dlg, idlg)."""

    float64: bool = option(False, "dlg, idlg: match gradients in float64 (a few dB more where float32 stops short)")


def in_float64(obs: Observation) -> Observation:
    """The observation with its shared gradient in float64: run_trial then matches in float64."""
    return replace(obs, gradient=tuple(g.double() for g in obs.gradient))


@dataclass(frozen=True)
class Outcome:
    """What one trial found, and what it cost: steps, gradient evaluations, abandoned as stalled, and its
    curve of relative distance against evaluations."""

    images: torch.Tensor
    logits: torch.Tensor
    steps: int
    evaluations: int
    stalled: bool
    curve: list[tuple[int, float]]


def draw_starts(obs: Observation, restarts: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every trial's starting images and label logits, drawn in trial order from one seeded generator:
    trial k starts from the same noise whether trials run one after another or side by side."""
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn((obs.num_images, *obs.image_shape), generator=generator),
            torch.randn((obs.num_images, obs.num_classes), generator=generator),
        )
        for _ in range(restarts)
    ]


def run_trial(
    obs: Observation,
    config: AttackConfig,
    labels: torch.Tensor | None,
    energy: float,
    starts: list[tuple[torch.Tensor, torch.Tensor]],
    index: int,
    step: Step,
) -> tuple[float, Outcome]:
    """Trial `index`: one L-BFGS run from `starts[index]`, calling `step` with the loss after each step
    (it ends the trial when it returns False). It runs in the shared gradient's dtype and device.
    Returns the final distance and the outcome."""
    like = obs.gradient[0]
    parameters = {name: p.to(like.dtype) for name, p in obs.parameters().items()}
    buffers = {name: b.to(like.dtype) if b.is_floating_point() else b for name, b in obs.buffers().items()}
    images, logits = (start.to(like).requires_grad_() for start in starts[index])
    variables = [images] if labels is not None else [images, logits]
    optimizer = torch.optim.LBFGS(variables, lr=config.rec_lr, line_search_fn="strong_wolfe")
    plain_steps = False

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

    curve = Curve()

    def outcome(stalled: bool) -> Outcome:
        points = curve.finish(evaluations)
        return Outcome(images.detach().clone(), logits.detach().clone(), steps, evaluations, stalled, points)

    loss, previous, steps = math.inf, None, 0
    best_loss, best = math.inf, None
    while steps < config.rec_epochs:
        before = (images.detach().clone(), logits.detach().clone())
        steps += 1
        loss = float(optimizer.step(closure).detach())  # the distance at the start of this step
        curve.add(evaluations, loss / max(energy, 1e-30))
        if not step(loss) or not math.isfinite(loss):  # cancelled by the caller, or diverged
            break
        if loss < best_loss:
            best_loss, best = loss, before
        if loss == previous:  # no decrease: converged, or the line search is stuck at a kink
            if plain_steps or loss <= CONVERGED * energy:
                break
            optimizer, plain_steps, previous = torch.optim.LBFGS(variables, lr=config.rec_lr), True, None
            continue
        if steps == STALL_STEPS and loss > STALL_LEVEL * energy:
            return loss, outcome(True)
        previous = loss
    if math.isfinite(loss):
        loss = float(objective().detach())  # the distance at the last point
    if best is not None and not loss <= best_loss:  # a plain step overshot, or a later step diverged
        images.data, logits.data = best  # keep the lowest distance seen
        loss = best_loss
    return loss, outcome(False)


def match_gradient(obs: Observation, config: AttackConfig, labels: torch.Tensor | None, name: str) -> Reconstruction:
    """L-BFGS gradient matching with restarts; learns soft labels too unless `labels` are given (iDLG).
    Trials run side by side in up to `config.workers` processes, with the sequential run's answer."""
    dtype = obs.gradient[0].dtype
    if config.options is not None and config.options.float64:
        obs = in_float64(obs)
    obs.model_in_mode()
    energy = float(sum((g**2).sum() for g in obs.gradient))
    trial = partial(run_trial, obs, config, labels, energy, draw_starts(obs, config.restarts, config.seed))
    counts = {"steps": 0, "evaluations": 0, "stalled": 0}

    def good_enough(loss: float) -> bool:
        return loss < CONVERGED * energy

    def counted(index: int) -> tuple[float, Outcome]:
        loss, outcome = results(index)
        counts["steps"] += outcome.steps
        counts["evaluations"] += outcome.evaluations
        counts["stalled"] += outcome.stalled
        return loss, outcome

    # With at least two trials wanted (the spread), a good-enough first trial must not cancel the second.
    cancel = good_enough if config.min_trials <= 1 else (lambda loss: False)
    with (
        loss_bar(config.rec_epochs * config.restarts, name, config.progress) as bar,
        trial_results(trial, config.restarts, config.workers, bar, cancel) as results,
    ):
        best = best_trial(name, config.restarts, counted, bar, good_enough, config.min_trials)
    outcome = best.result

    def images_of(found: Outcome) -> torch.Tensor:
        return obs.normalization.clamp(found.images.to(dtype))

    relative = best.loss / max(energy, 1e-30)
    matches, others = trial_evidence(best.finished, outcome, lambda loss, _: loss / max(energy, 1e-30), images_of)
    return Reconstruction(
        images=images_of(outcome),
        labels=labels if labels is not None else outcome.logits.argmax(dim=1),
        stats={
            "gradient_distance": best.loss,
            "relative_distance": relative,
            "trials": best.trials,
            "diverged_trials": best.diverged,
            "stalled_trials": counts["stalled"],
            "iterations": counts["steps"],
            **match_stats(RELATIVE_DISTANCE, relative, outcome.curve, matches, counts["evaluations"]),
        },
        alternatives=others,
    )


def lbfgs_budget(config: AttackConfig) -> Budget:
    """L-BFGS steps evaluate the distance up to EVALUATIONS_PER_STEP times each (fewer once converged)."""
    return Budget(config.rec_epochs * config.restarts * EVALUATIONS_PER_STEP, exact=False, unit="L-BFGS steps")


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return match_gradient(obs, config, labels=None, name="dlg")


SPEC = AttackSpec(
    name="dlg",
    attack=run,
    defaults={"rec_epochs": 300, "rec_lr": 1.0, "tv": 0.0},
    needs=Capabilities(second_order=True),
    options=MatchOptions,
    budget=lbfgs_budget,
)
