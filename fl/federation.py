"""The FedAvg simulation with an honest-but-curious server that attacks one client's update.

Each round the server broadcasts the global model, samples a fraction C of the clients, and
each trains its own copy in turn (fresh SGD state every round, lr decayed per round). The server
averages the trained models by sample count and evaluates the result on the held-out test split.

At an attacked round the server (seeded) picks one of the selected clients that holds at least
`rec_batch_size` images. By default that client trains as every client does, on all its data of the
round (the realistic case: the attack then reconstructs `rec_batch_size` images from an update of
many local steps over many images). With `victim_images` N the attacked client's data of that round
is instead N of its images (a seeded draw: a client with a few fresh samples, where the threat is
greatest). Either way its update is averaged like any other. The server keeps what it
observed: its OWN copy of the broadcast model, the update, the pseudo-gradient and the public
local-training settings (fl.client.observe_update). The attack therefore starts from the
broadcast model, never from the client's trained weights (the seed's fault). The client's images
of that round are kept aside as ground truth, for scoring only.

With a defense every client applies it (fl.client.client_update): the server averages, and attacks,
only defended updates. A defense with a formal guarantee (DP-SGD) is accounted per client over the
rounds it took part in.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from fedprivacy.data.normalization import Normalization
from fedprivacy.defenses import NO_DEFENSE, Defense
from fedprivacy.fl.case import Case
from fedprivacy.fl.client import client_update, observe_update, privacy_history
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.fl.server import accuracy, fedavg
from fedprivacy.utils.domains import FLOAT32_MAX
from fedprivacy.utils.errors import UsageError

MODEL_MODE = "train"  # clients train, and the server attacks, with the model in training mode


@dataclass(frozen=True)
class FedSettings:
    """The public FedAvg protocol: rounds, client sampling, local training, and when to attack."""

    num_rounds: int
    total_clients: int
    fraction: float  # C: share of clients selected per round (at least one)
    local_epochs: int
    batch_size: int
    lr: float
    lr_decay: float = 1.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    attack_rounds: frozenset[int] = frozenset()  # 1-based; empty = no attack
    rec_batch_size: int = 1  # images the attack reconstructs
    victim_images: int | None = None  # None: the attacked client trains on all its data; N: on N fresh images
    seed: int = 0
    defense: Defense = NO_DEFENSE

    def clients_per_round(self) -> int:
        return max(1, round(self.fraction * self.total_clients))

    def local_training(self, round_number: int) -> LocalTraining:
        """The settings of `round_number` (1-based): lr decayed by lr_decay once per round."""
        return LocalTraining(
            epochs=self.local_epochs,
            batch_size=self.batch_size,
            lr=self.lr * self.lr_decay ** (round_number - 1),
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )


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


def divergence_hint(settings: "FedSettings", round_number: int) -> str:
    """What to change when the global model turned non-finite in `round_number`: the decay if it grew the
    learning rate, else the learning rate."""
    lr = settings.local_training(round_number).lr
    if settings.lr_decay > 1 and round_number > 1:
        return f"its learning rate had grown to {lr:.3g} by --lr_decay {settings.lr_decay:g}; try --lr_decay <= 1"
    return f"its learning rate was {lr:.3g}; try a smaller --lr"


@dataclass(frozen=True)
class FedData:
    """Training images ([0, 1]) split among clients, and the held-out test split."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    shares: list[list[int]]
    test_images: torch.Tensor
    test_labels: torch.Tensor
    normalization: Normalization


@dataclass(frozen=True)
class RoundPlan:
    """Who trains in a round, on which samples (in training order), and who is attacked."""

    selected: list[int]
    samples: dict[int, list[int]]
    attacked: int | None


@dataclass
class FedResult:
    model: nn.Module
    rounds: list[dict] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    initial_accuracy: float = 0.0
    privacy: dict | None = None
    failure: str | None = None  # why the federation stopped early (a non-finite global model); earlier rounds kept
    interrupted: bool = False  # Ctrl-C stopped it; the rounds finished before are kept


def non_finite(model: nn.Module) -> bool:
    """Whether any floating-point parameter or buffer of `model` holds NaN or inf."""
    return any(not torch.isfinite(value).all() for value in model.state_dict().values() if value.is_floating_point())


def plan_round(shares: list[list[int]], settings: FedSettings, round_number: int) -> RoundPlan:
    """The seeded choices of one round: selected clients, each one's samples in a fresh random order,
    and at an attacked round one eligible client (holding enough images), whose data is cut to
    `victim_images` images when that scenario is chosen."""
    rng = np.random.default_rng((settings.seed, round_number))
    selected = sorted(int(c) for c in rng.choice(len(shares), settings.clients_per_round(), replace=False))
    samples = {c: [int(i) for i in rng.permutation(shares[c])] for c in selected}
    needed = max(settings.rec_batch_size, settings.victim_images or 0)
    eligible = [c for c in selected if len(shares[c]) >= needed]
    attacked = None
    if round_number in settings.attack_rounds and eligible:
        attacked = int(rng.choice(eligible))
        if settings.victim_images is not None:
            samples[attacked] = samples[attacked][: settings.victim_images]
    return RoundPlan(selected, samples, attacked)


def run_federation(
    model: nn.Module,
    data: FedData,
    settings: FedSettings,
    progress: bool = True,
) -> FedResult:
    """Train `model` (in place) by FedAvg for `settings.num_rounds` and collect the attacked cases."""
    device = next(model.parameters()).device
    normalize = data.normalization.normalize
    test_images, test_labels = normalize(data.test_images).to(device), data.test_labels.to(device)
    result = FedResult(model=model, initial_accuracy=accuracy(model, test_images, test_labels))
    bar = tqdm(
        total=settings.num_rounds * settings.clients_per_round(), desc="fedavg", disable=not progress, leave=False
    )
    last = result.initial_accuracy
    history: dict[int, list[tuple[float, int]]] = {}  # client -> (sampling rate, steps) per round taken part
    with bar:
        for round_number in range(1, settings.num_rounds + 1):
            try:
                started = time.perf_counter()
                plan = plan_round(data.shares, settings, round_number)
                local = settings.local_training(round_number)
                states, counts = [], []
                for client in plan.selected:
                    bar.set_postfix_str(f"round {round_number}/{settings.num_rounds} client {client} acc {last:.1%}")
                    indices = plan.samples[client]
                    pixels, labels = data.train_images[indices], data.train_labels[indices]
                    images, labels = normalize(pixels).to(device), labels.to(device)
                    update, state = client_update(model, images, labels, local, MODEL_MODE, settings.defense)
                    history.setdefault(client, []).extend(privacy_history(local, len(indices)))
                    if client == plan.attacked:
                        observation = observe_update(
                            model, update, images, data.normalization, MODEL_MODE, local, settings.rec_batch_size
                        )
                        meta = {"round": round_number, "client": client, "dataset_indices": indices, "lr": local.lr}
                        result.cases.append(Case(observation, pixels, labels.cpu(), meta))
                    states.append(state)
                    counts.append(len(indices))
                    bar.update()
                model.load_state_dict(fedavg(states, counts))
                if non_finite(model):
                    result.failure = (
                        f"round {round_number}: the global model turned non-finite (NaN or inf) after averaging; "
                        f"the {round_number - 1} round(s) before it are kept "
                        f"({divergence_hint(settings, round_number)})"
                    )
                    break
                record = {
                    "round": round_number,
                    "accuracy": accuracy(model, test_images, test_labels),
                    "seconds": time.perf_counter() - started,
                    "lr": local.lr,
                    "clients": plan.selected,
                    "attacked_client": plan.attacked,
                }
                result.rounds.append(record)
                last = record["accuracy"]
            except KeyboardInterrupt:
                result.interrupted = True
                break
    result.cases = [case for case in result.cases if case.meta["round"] <= len(result.rounds)]  # whole rounds only
    result.privacy = client_privacy(settings.defense, history)
    return result


def client_privacy(defense: Defense, history: dict[int, list[tuple[float, int]]]) -> dict | None:
    """Each client's guarantee over the rounds it took part in, and the weakest one; None without one."""
    per_client = {client: defense.privacy(steps) for client, steps in sorted(history.items())}
    if not per_client or any(value is None for value in per_client.values()):
        return None
    epsilons = [value["epsilon"] for value in per_client.values()]
    worst = None if None in epsilons else max(epsilons)
    return {"epsilon_max": worst, "delta": defense.settings().get("delta"), "per_client": per_client}
