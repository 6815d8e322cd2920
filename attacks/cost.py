"""Cost before work: an attack's budget in gradient evaluations (its spec's `budget`) times the seconds one
evaluation takes for the model and batch at hand, timed on a few evaluations of what the attack simulates
(the shared gradient, or the weight update through the client's known local training) with the backward
pass to the images that every matching step takes. The entry scripts and the Flower audit print `line()`
before the attack starts."""

import statistics
import time
from dataclasses import dataclass

import torch

from fedprivacy.attacks.spec import AttackConfig, AttackSpec, Budget
from fedprivacy.fl.functional import functional_update
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.gradients import model_gradient
from fedprivacy.utils.progress import duration

PROBES = 3  # timed evaluations (after one untimed warm-up); the median is kept


@dataclass(frozen=True)
class CostEstimate:
    """The budget in gradient evaluations, the measured seconds of one, and what that makes."""

    attack: str
    budget: Budget
    seconds_per_evaluation: float
    probes: int = PROBES

    @property
    def seconds(self) -> float:
        return self.budget.evaluations * self.seconds_per_evaluation

    def line(self, batches: int = 1) -> str:
        """One line for the log, e.g. 'cost estimate: idlg: at most 7,500 gradient evaluations (...) ...', for
        each of `batches` attacked batches alike."""
        bound = "" if self.budget.exact else "at most "
        if self.budget.evaluations == 0:
            return f"cost estimate: {self.attack}: {self.budget.unit}, no gradient evaluations"
        each = f" per batch, {bound}{duration(batches * self.seconds)} for {batches} batches" if batches > 1 else ""
        return (
            f"cost estimate: {self.attack}: {bound}{self.budget.evaluations:,} gradient evaluations "
            f"({self.budget.unit}), {1000 * self.seconds_per_evaluation:.1f} ms each (median of {self.probes} "
            f"timed here) = {bound}{duration(self.seconds)}{each}"
        )

    def describe(self) -> dict:
        return {
            "gradient_evaluations": self.budget.evaluations,
            "exact": self.budget.exact,
            "unit": self.budget.unit,
            "seconds_per_evaluation": self.seconds_per_evaluation,
            "seconds": self.seconds,
        }


def evaluation_seconds(obs: Observation, update: bool, probes: int = PROBES) -> float:
    """Median seconds of one simulated share of the observation's batch (random images, class-0 labels) and
    its backward pass to the images; the global random state is left untouched."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn((obs.num_images, *obs.image_shape), generator=generator).to(obs.device).requires_grad_()
    labels = torch.zeros(obs.num_images, dtype=torch.long, device=obs.device)
    model, parameters, buffers = obs.model_in_mode(), obs.parameters(), obs.buffers()
    local, mode = obs.local_training, obs.model_mode
    timings = []
    for probe in range(probes + 1):
        started = time.perf_counter()
        if update:
            simulated = functional_update(model, parameters, buffers, images, labels, local, mode)
        else:
            simulated = model_gradient(model, parameters, buffers, images, labels)
        torch.autograd.grad(sum((s**2).sum() for s in simulated), images)
        if obs.device.type == "cuda":
            torch.cuda.synchronize(obs.device)
        if probe:  # the first evaluation warms caches and allocators up
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def estimate_cost(spec: AttackSpec, obs: Observation, config: AttackConfig) -> CostEstimate:
    """The attack's budget under `config` and the seconds it should take on this machine."""
    budget = spec.budget(config.options)
    update = spec.needs.update and obs.update is not None
    seconds = evaluation_seconds(obs, update) if budget.evaluations else 0.0
    return CostEstimate(spec.name, budget, seconds)
