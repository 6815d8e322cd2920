"""The public FedAvg protocol, as data: the clients' local training, the federation's settings, and the
seeded choices of each round (who trains, on what, and who is attacked). NumPy only, no torch: the entry
layer builds these while it checks the flags."""

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from fedprivacy import defenses
from fedprivacy.utils.domains import FLOAT32_MAX
from fedprivacy.utils.errors import UsageError

if TYPE_CHECKING:
    from fedprivacy.defenses import Defense


@dataclass(frozen=True)
class LocalTraining:
    """Public local-training settings: `epochs` passes over the client's images in mini-batches
    of `batch_size` (in dataset order), plain SGD at `lr` with optional momentum and weight decay.
    A full batch (batch_size >= images) makes each epoch one step."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0

    def steps(self, num_images: int) -> int:
        """Number of SGD steps on `num_images` images: epochs times mini-batches per epoch."""
        return self.epochs * math.ceil(num_images / self.batch_size)


def privacy_history(local: LocalTraining | None, num_images: int) -> list[tuple[float, int]]:
    """What a privacy accountant needs of one share: [(sampling rate, steps)]; a FedSGD gradient is one
    step over the whole batch."""
    if local is None:
        return [(1.0, 1)]
    return [(min(1.0, local.batch_size / num_images), local.steps(num_images))]


@dataclass(frozen=True)
class FedSettings:
    """The public FedAvg protocol: rounds, client sampling, the clients' local training (its lr decayed
    once per round), when to attack, and the defense every client applies."""

    num_rounds: int
    total_clients: int
    fraction: float  # C: share of clients selected per round (at least one)
    local: LocalTraining
    lr_decay: float = 1.0
    attack_rounds: frozenset[int] = frozenset()  # 1-based; empty = no attack
    rec_batch_size: int = 1  # images the attack reconstructs
    victim_images: int | None = None  # None: the attacked client trains on all its data; N: on N fresh images
    seed: int = 0
    secure_aggregation: bool = False  # the server learns only each round's aggregate (fl/secure_aggregation.py)
    defense: "Defense" = field(default_factory=lambda: defenses.NO_DEFENSE)  # loaded (with torch) when needed

    def clients_per_round(self) -> int:
        return max(1, round(self.fraction * self.total_clients))

    def local_training(self, round_number: int) -> LocalTraining:
        """The settings of `round_number` (1-based): lr decayed by lr_decay once per round."""
        return replace(self.local, lr=self.local.lr * self.lr_decay ** (round_number - 1))


def check_lr_schedule(lr: float, lr_decay: float, num_rounds: int) -> None:
    """Before any work: every round's learning rate, lr * lr_decay^(round - 1), must be a step torch can take
    (a float32); a decay above 1 grows it every round."""
    if lr_decay <= 1 or math.log(lr) + (num_rounds - 1) * math.log(lr_decay) <= math.log(FLOAT32_MAX):
        return
    first = math.floor((math.log(FLOAT32_MAX) - math.log(lr)) / math.log(lr_decay)) + 2
    raise UsageError(
        f"--lr {lr:g} with --lr_decay {lr_decay:g} per round exceeds {FLOAT32_MAX:.3g} (what float32 holds) in "
        f"round {first} of --num_rounds {num_rounds}; use --lr_decay <= 1, a smaller --lr or fewer rounds"
    )


def divergence_hint(settings: FedSettings, round_number: int) -> str:
    """What to change when the global model turned non-finite in `round_number`: the decay if it grew the
    learning rate, else the learning rate."""
    lr = settings.local_training(round_number).lr
    if settings.lr_decay > 1 and round_number > 1:
        return f"its learning rate had grown to {lr:.3g} by --lr_decay {settings.lr_decay:g}; try --lr_decay <= 1"
    return f"its learning rate was {lr:.3g}; try a smaller --lr"


@dataclass(frozen=True)
class RoundPlan:
    """Who trains in a round, on which samples (in training order), and who is attacked."""

    selected: list[int]
    samples: dict[int, list[int]]
    attacked: int | None


def plan_round(shares: list[list[int]], settings: FedSettings, round_number: int) -> RoundPlan:
    """The seeded choices of one round: selected clients, each one's samples in a fresh random order,
    and at an attacked round one eligible client (holding enough images), whose data is cut to
    `victim_images` images when that scenario is chosen. Under secure aggregation the server attacks the
    round, not a client: no client is picked, and with `victim_images` every selected client trains on at most
    that many of its images in an attacked round."""
    rng = np.random.default_rng((settings.seed, round_number))
    selected = sorted(int(c) for c in rng.choice(len(shares), settings.clients_per_round(), replace=False))
    samples = {c: [int(i) for i in rng.permutation(shares[c])] for c in selected}
    if settings.secure_aggregation:
        if round_number in settings.attack_rounds and settings.victim_images is not None:
            samples = {c: indices[: settings.victim_images] for c, indices in samples.items()}
        return RoundPlan(selected, samples, None)
    needed = max(settings.rec_batch_size, settings.victim_images or 0)
    eligible = [c for c in selected if len(shares[c]) >= needed]
    attacked = None
    if round_number in settings.attack_rounds and eligible:
        attacked = int(rng.choice(eligible))
        if settings.victim_images is not None:
            samples[attacked] = samples[attacked][: settings.victim_images]
    return RoundPlan(selected, samples, attacked)
