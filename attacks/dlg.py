"""Deep Leakage from Gradients (Zhu, Liu and Han, NeurIPS 2019).

Dummy images and dummy label logits start from Gaussian noise and are optimised jointly with
L-BFGS so that their gradient matches the shared one in squared L2 distance. `--dlg.restarts`
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

Near the answer the line search stalls too: below a relative distance of about 1e-8 float32 can no
longer resolve a decrease of the distance, while its gradient still points on. There the trial also goes
on with plain steps (without L-BFGS's tolerances) for the rest of its budget, as the paper's loop does,
and keeps its last images: both they and the lowest-distance ones are converged, the distances between
them mere rounding. On one shared observation (benchmarks fidelity_dlg: DLG LeNet, 100 classes, CIFAR-100
images 0-1, 300 steps) stopping at the stall gave 40.2 / 44.3 dB, the official code's plain loop 44.5 /
50.0 dB, and polishing 43.4 / 54.6 dB. A trial that stalls below 1e-9 (most digits) stops there.

`--dlg.float64` matches in double precision (the broadcast weights and the shared gradient in float64). Some
images end every float32 trial at a relative distance near 2e-7 where the line search can resolve no
further decrease, a few dB short of the rest (CIFAR-10 test image 15 on LeNet: 28.8 dB in float32,
33.6 dB in float64, about the same CPU time); GPUs other than data-centre ones run float64 far slower.
"""

import math
from dataclasses import dataclass, replace
from functools import partial

import torch

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.dlg import DLGOptions
from fedprivacy.attacks.evidence import RELATIVE_DISTANCE, Curve, match_stats, trial_evidence
from fedprivacy.attacks.parallel_trials import Step, trial_results
from fedprivacy.attacks.restarts import best_trial
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.gradients import model_gradient, squared_distance, total_variation
from fedprivacy.utils.progress import loss_bar

# A trial whose distance is below this share of the shared gradient's energy has converged.
CONVERGED = 1e-6
# A trial whose line search stalls above this share goes on with plain steps (module docstring).
POLISHED = 1e-9
# A trial whose distance is still above this share of the shared gradient's energy after
# STALL_STEPS steps is stalled; trials that succeed are below 0.25 after two steps.
STALL_STEPS = 10
STALL_LEVEL = 0.5


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
    config: AttackConfig[DLGOptions],
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
    optimizer = torch.optim.LBFGS(variables, lr=config.options.lr, line_search_fn="strong_wolfe")
    plain_steps = False

    def objective() -> torch.Tensor:
        targets = labels if labels is not None else logits.softmax(dim=1)
        dummy = model_gradient(obs.model, parameters, buffers, images, targets)
        loss = squared_distance(dummy, obs.gradient)
        return loss + config.options.tv * total_variation(images) if config.options.tv else loss

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
    while steps < config.options.steps:
        before = (images.detach().clone(), logits.detach().clone())
        steps += 1
        loss = float(optimizer.step(closure).detach())  # the distance at the start of this step
        curve.add(evaluations, loss / max(energy, 1e-30))
        if not step(loss) or not math.isfinite(loss):  # cancelled by the caller, or diverged
            break
        if loss < best_loss:
            best_loss, best = loss, before
        if loss == previous:  # no decrease: float32 cannot resolve one, or the line search is stuck at a kink
            if plain_steps or loss <= POLISHED * energy:
                break
            optimizer = torch.optim.LBFGS(variables, lr=config.options.lr, tolerance_grad=0.0, tolerance_change=0.0)
            plain_steps, previous = True, None
            continue
        if steps == STALL_STEPS and loss > STALL_LEVEL * energy:
            return loss, outcome(True)
        previous = loss
    if math.isfinite(loss):
        loss = float(objective().detach())  # the distance at the last point
    converged = math.isfinite(loss) and max(loss, best_loss) <= CONVERGED * energy  # both below float32's resolution
    if best is not None and not loss <= best_loss and not converged:  # a plain step overshot, or a later one diverged
        images.data, logits.data = best  # keep the lowest distance seen
        loss = best_loss
    return loss, outcome(False)


def match_gradient(
    obs: Observation, config: AttackConfig[DLGOptions], labels: torch.Tensor | None, name: str
) -> Reconstruction:
    """L-BFGS gradient matching with restarts; learns soft labels too unless `labels` are given (iDLG).
    Trials run side by side in up to `config.workers` processes, with the sequential run's answer."""
    dtype = obs.gradient[0].dtype
    if config.options.float64:
        obs = in_float64(obs)
    energy = float(sum((g**2).sum() for g in obs.gradient))
    trial = partial(run_trial, obs, config, labels, energy, draw_starts(obs, config.options.restarts, config.seed))
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
        loss_bar(config.options.steps * config.options.restarts, name, config.progress) as bar,
        trial_results(trial, config.options.restarts, config.workers, bar, cancel) as results,
    ):
        best = best_trial(name, config.options.restarts, counted, bar, good_enough, config.min_trials)
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


def run(obs: Observation, config: AttackConfig[DLGOptions]) -> Reconstruction:
    return match_gradient(obs, config, labels=None, name="dlg")
