"""The FedAvg simulation with an honest-but-curious server that attacks one client's update: the one round
loop both engines drive (the local one here; Flower's Simulation Engine supplies only the transport,
flower/engine.py).

Each round the server broadcasts the global model, samples a fraction C of the clients, and
each trains its own copy (fresh SGD state every round, lr decayed per round). The server
averages the trained models by sample count and evaluates the result on the held-out test split.

At an attacked round the server (seeded) picks one of the selected clients that holds at least
`rec_batch_size` images. By default that client trains as every client does, on all its data of the
round (the realistic case: the attack then reconstructs `rec_batch_size` images from an update of
many local steps over many images). With `victim_images` N the attacked client's data of that round
is instead N of its images (a seeded draw: a client with a few fresh samples, where the threat is
greatest). Either way its update is averaged like any other. The server builds what it observed from
what it received (fl/view.py): its OWN copy of the broadcast model, the update, the example count, the
pseudo-gradient and the public local-training settings. The attack therefore starts from the
broadcast model, never from the client's trained weights (the seed's fault). The client's images
of that round are kept aside as ground truth, for scoring only.

Under secure aggregation (`settings.secure_aggregation`) the server attacks the round instead: it learns only
the FedAvg aggregate of the selected clients' updates, their number and their total count (the ideal
functionality here; Flower's SecAgg+ through flower/secagg.py), moves its model by it, and its attack
reconstructs the union of the round's images, which the harness keeps aside, attributed to no client.

With a defense every client applies it (fl.client.client_update): the server averages, and attacks,
only defended updates. A defense with a formal guarantee (DP-SGD) is accounted per client over the
rounds it took part in.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.defenses import Defense
from fedprivacy.fl.case import Case
from fedprivacy.fl.client import client_update
from fedprivacy.fl.protocol import (
    FedSettings,
    LocalTraining,
    RoundPlan,
    divergence_hint,
    plan_round,
    privacy_history,
)
from fedprivacy.fl.secure_aggregation import SecureAggregate, moved_by, observe_aggregate, secure_aggregate
from fedprivacy.fl.server import accuracy, fedavg
from fedprivacy.fl.view import observe_update
from fedprivacy.utils.progress import loss_bar

MODEL_MODE = "train"  # clients train, and the server attacks, with the model in training mode


@dataclass(frozen=True)
class FedData:
    """Training images ([0, 1]) split among clients, and the held-out test split."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    shares: list[list[int]]
    test_images: torch.Tensor
    test_labels: torch.Tensor
    normalization: Normalization


@dataclass
class FedResult:
    model: nn.Module
    rounds: list[dict] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    initial_accuracy: float = 0.0
    privacy: dict | None = None
    failure: str | None = None  # why the federation stopped early (a non-finite global model); earlier rounds kept
    interrupted: bool = False  # Ctrl-C stopped it; the rounds finished before are kept


@dataclass(frozen=True)
class Reply:
    """What the server received from one client: its (defended) update of the broadcast model, the state it
    averages, and the number of examples it trained on."""

    update: tuple[torch.Tensor, ...]
    state: dict[str, torch.Tensor]
    num_examples: int


class Transport(Protocol):
    """How a round's broadcast reaches the selected clients and their replies come back."""

    def train(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> dict[int, Reply]:
        """Each selected client's reply to the broadcast `model`, by client; `trained(client)` after each."""


class SecureTransport(Protocol):
    """How a round's broadcast reaches the selected clients under secure aggregation: the server gets back only
    the aggregate of their updates."""

    def aggregate(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> SecureAggregate:
        """The FedAvg aggregate of the selected clients' updates of the broadcast `model`; `trained(client)` after
        each client trained."""


@dataclass(frozen=True)
class LocalClients:
    """The clients trained in this process, one after another, on the data the round's plan gives them."""

    data: FedData
    defense: Defense

    def train(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> dict[int, Reply]:
        device = next(model.parameters()).device
        replies = {}
        for client in plan.selected:
            indices = plan.samples[client]
            images = self.data.normalization.normalize(self.data.train_images[indices]).to(device)
            labels = self.data.train_labels[indices].to(device)
            update, state = client_update(model, images, labels, local, MODEL_MODE, self.defense)
            replies[client] = Reply(update, state, len(indices))
            trained(client)
        return replies

    def aggregate(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> SecureAggregate:
        """Secure aggregation's ideal functionality over this round's replies: the server learns their FedAvg mean
        update, the number of clients and the total count, nothing else."""
        replies = self.train(round_number, plan, model, local, trained)
        broadcast = model.state_dict()
        updates = [{k: v - broadcast[k] for k, v in replies[c].state.items()} for c in plan.selected]
        return secure_aggregate(updates, [replies[client].num_examples for client in plan.selected])


def non_finite(model: nn.Module) -> bool:
    """Whether any floating-point parameter or buffer of `model` holds NaN or inf."""
    return any(not torch.isfinite(value).all() for value in model.state_dict().values() if value.is_floating_point())


def run_federation(
    model: nn.Module,
    data: FedData,
    settings: FedSettings,
    progress: bool | str = True,
    transport: Transport | SecureTransport | None = None,
    result: FedResult | None = None,
) -> FedResult:
    """Train `model` (in place) by FedAvg for `settings.num_rounds` and collect the attacked cases; the
    clients are reached through `transport` (default: trained in this process; under secure aggregation a
    SecureTransport). `result`, when given, is filled as the rounds finish (a caller on another thread sees the
    finished rounds)."""
    transport = transport or LocalClients(data, settings.defense)
    device = next(model.parameters()).device
    test_images, test_labels = data.normalization.normalize(data.test_images).to(device), data.test_labels.to(device)
    image_shape = tuple(data.train_images.shape[1:])
    result = result or FedResult(model=model)
    result.initial_accuracy = accuracy(model, test_images, test_labels)
    bar = loss_bar(settings.num_rounds * settings.clients_per_round(), "fedavg", progress)
    last, trained_rounds = result.initial_accuracy, 0  # rounds whose clients trained (and spent privacy)
    with bar:
        for round_number in range(1, settings.num_rounds + 1):
            try:
                started = time.perf_counter()
                plan = plan_round(data.shares, settings, round_number)
                local = settings.local_training(round_number)

                def announce(client: int, round_number: int = round_number, last: float = last) -> None:
                    bar.set_postfix_str(f"round {round_number}/{settings.num_rounds} client {client} acc {last:.1%}")
                    bar.update()

                if settings.secure_aggregation:
                    aggregate = transport.aggregate(round_number, plan, model, local, announce)
                    trained_rounds = round_number
                    if round_number in settings.attack_rounds:
                        result.cases.append(round_case(model, aggregate, plan, data, image_shape, local, round_number))
                    model.load_state_dict(moved_by(model.state_dict(), aggregate))
                else:
                    replies = transport.train(round_number, plan, model, local, announce)
                    trained_rounds = round_number
                    if plan.attacked is not None:
                        case = client_case(
                            model, replies, plan, data, image_shape, local, round_number, settings.rec_batch_size
                        )
                        result.cases.append(case)
                    states = [replies[client].state for client in plan.selected]
                    model.load_state_dict(fedavg(states, [replies[client].num_examples for client in plan.selected]))
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
    result.privacy = federation_privacy(data.shares, settings, trained_rounds)
    return result


def client_case(
    model: nn.Module,
    replies: dict[int, Reply],
    plan: RoundPlan,
    data: FedData,
    image_shape: tuple[int, ...],
    local: LocalTraining,
    round_number: int,
    num_images: int,
) -> Case:
    """The attacked client's share as the server observed it (the attack reconstructs `num_images` of its images),
    with that client's images kept aside as truth."""
    reply, indices = replies[plan.attacked], plan.samples[plan.attacked]
    observation = observe_update(
        model, reply.update, reply.num_examples, image_shape, data.normalization, MODEL_MODE, local, num_images
    )
    meta = {"round": round_number, "client": plan.attacked, "dataset_indices": indices, "lr": local.lr}
    return Case(observation, data.train_images[indices], data.train_labels[indices], meta)


def round_case(
    model: nn.Module,
    aggregate: SecureAggregate,
    plan: RoundPlan,
    data: FedData,
    image_shape: tuple[int, ...],
    local: LocalTraining,
    round_number: int,
) -> Case:
    """A securely aggregated round as the server observed it (the aggregate, read as one batch of all the round's
    images); the union of the round's images is kept aside as truth, attributed to no client."""
    observation = observe_aggregate(model, aggregate, image_shape, data.normalization, MODEL_MODE, local)
    indices = [index for client in plan.selected for index in plan.samples[client]]
    meta = {
        "round": round_number,
        "num_clients": aggregate.num_clients,
        "total_examples": aggregate.total_examples,
        "dataset_indices": indices,
        "lr": local.lr,
    }
    return Case(observation, data.train_images[indices], data.train_labels[indices], meta)


def federation_privacy(shares: list[list[int]], settings: FedSettings, rounds: int) -> dict | None:
    """Each client's guarantee over the first `rounds` rounds (those it took part in, by the seeded plans)."""
    history: dict[int, list[tuple[float, int]]] = {}  # client -> (sampling rate, steps) per round taken part
    for round_number in range(1, rounds + 1):
        plan, local = plan_round(shares, settings, round_number), settings.local_training(round_number)
        for client in plan.selected:
            history.setdefault(client, []).extend(privacy_history(local, len(plan.samples[client])))
    return client_privacy(settings.defense, history)


def client_privacy(defense: Defense, history: dict[int, list[tuple[float, int]]]) -> dict | None:
    """Each client's guarantee over the rounds it took part in, and the weakest one; None without one."""
    per_client = {client: defense.privacy(steps) for client, steps in sorted(history.items())}
    if not per_client or any(value is None for value in per_client.values()):
        return None
    epsilons = [value["epsilon"] for value in per_client.values()]
    worst = None if None in epsilons else max(epsilons)
    return {"epsilon_max": worst, "delta": defense.settings().get("delta"), "per_client": per_client}
