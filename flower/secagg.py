"""Flower's real secure aggregation, SecAgg+ (flwr 1.42), as one round's transport: the server learns what
Flower's server learns, the dequantised FedAvg mean of the clients' masked vectors, and the harness can hold
it beside the ideal functionality (fl/secure_aggregation.py).

flwr 1.42 runs SecAgg+ only on its legacy stack (docs/flower.md, "Secure aggregation"): `SecAggPlusWorkflow`
is a fit workflow that needs a `LegacyContext` around a legacy `flwr.server.strategy.Strategy`, and
`secaggplus_mod` on the client reads FitIns/FitRes records. So each round here runs inside a ServerApp's main
as `DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))` over `LegacyContext(context, ServerConfig(1),
PlannedSecAggRound)`, one round per call: the strategy sends the broadcast to the round's planned clients (by
node id, naming the partition in each FitIns) and keeps, in `aggregate_fit`, exactly what Flower's server
receives: the same aggregate in every FitRes (after SecAgg+'s weighting, clipping and quantisation) and, in
the clear, each participant's node id, example count and metrics. Clients are
`ClientApp(client_fn=..., mods=[secaggplus_mod])` around a NumPyClient that trains as main_fed's clients do.

How it plugs into the one federation loop both engines drive (fl/federation.py): `main_fed.py --engine flower
--secure_aggregation` runs the Flower engine with `secagg_client_app` as its clients and `SecAggPlusClients` as
its transport, whose `aggregate` runs `secagg_round` for the round's planned clients; the loop moves its model
with `fl.secure_aggregation.moved_by` and builds the attacked Observation with `observe_aggregate`, exactly as
the local engine does with the ideal functionality's `secure_aggregate(updates, counts)`.
`SecAggPlusSettings.check` runs with the flags, before any work.

SecAgg+'s pitfalls this module closes (measured in the issue's research notes): it halts silently (no
aggregate, no exception) with fewer than 2 clients or a failed client; it overflows its modulus silently; the
clients' payload dtype caps its precision (every payload is sent as float64 here); its stochastic rounding
draws from numpy's global RNG in the client's process (seeded per round and client, so a run reproduces).
"""

import copy
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from flwr.app import Context
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import FitIns, FitRes, Parameters, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import Grid
from torch import nn

from fedprivacy.fl.client import client_update
from fedprivacy.fl.federation import MODEL_MODE, FedData
from fedprivacy.fl.protocol import FedSettings, LocalTraining, RoundPlan, plan_round
from fedprivacy.fl.secure_aggregation import SecureAggregate
from fedprivacy.flower.engine import PARTITION, payload
from fedprivacy.utils.errors import UsageError

ROUND = "server-round"  # in each FitIns config: the federation's round (DefaultWorkflow runs one round per call)
PAYLOAD = "payload"  # in each FitIns config: what the client masks, "update" or "weights"
PAYLOADS = ("update", "weights")
INT32_LIMIT = 2**31  # SecAgg+ casts quantised values to int32
MODULUS_LIMIT = 2**32  # the largest modulus Flower documents


@dataclass(frozen=True)
class SecAggPlusSettings:
    """`SecAggPlusWorkflow`'s settings (Flower's defaults; num_shares and reconstruction_threshold as shares of
    the round's clients: every client holds a share and all are needed), and what each client masks: its
    `update` (trained minus broadcast state) or its trained `weights` (Flower's example), float64 either way."""

    num_shares: float | int = 1.0
    reconstruction_threshold: float | int = 1.0
    max_weight: float = 1000.0
    clipping_range: float = 8.0
    quantization_range: int = 2**22
    modulus_range: int = 2**32
    timeout: float | None = None
    payload: str = "update"

    def check(self, clients_per_round: int, largest_client: int | None = None) -> None:
        """Before any work, one line for settings SecAgg+ would fail on silently or with a traceback: fewer than
        2 clients, a value beyond its integer types, a sum that overflows the modulus, a client heavier than
        `max_weight` (`largest_client`: the most examples one client may train on, when known)."""
        if self.payload not in PAYLOADS:
            raise UsageError(f"--secagg_payload {self.payload}: choose one of {', '.join(PAYLOADS)}")
        if clients_per_round < 2:
            raise UsageError(
                f"--secure_aggregation with --engine flower: SecAgg+ needs at least 2 clients per round (it halts "
                f"silently with fewer); this federation selects {clients_per_round}"
            )
        if not 0 < self.quantization_range < INT32_LIMIT:
            raise UsageError(
                f"--secagg_quantization_range {self.quantization_range}: must lie in 1..2^31-1 (SecAgg+ casts "
                "quantised values to int32)"
            )
        if self.modulus_range > MODULUS_LIMIT:
            raise UsageError(f"--secagg_modulus_range {self.modulus_range}: Flower supports at most 2^32")
        if self.clipping_range <= 0:
            raise UsageError(f"--secagg_clipping_range {self.clipping_range:g}: must be positive")
        if clients_per_round * self.quantization_range >= self.modulus_range:
            raise UsageError(
                f"--secagg_quantization_range {self.quantization_range}: {clients_per_round} clients' quantised "
                f"values sum beyond --secagg_modulus_range {self.modulus_range} and would wrap around silently; "
                f"keep clients x quantization_range below the modulus"
            )
        if largest_client is not None and largest_client > self.max_weight:
            raise UsageError(
                f"--secagg_max_weight {self.max_weight:g}: a client may train on {largest_client} examples; SecAgg+ "
                "weights a client by examples / max_weight, which must stay at most 1 (beyond it values are clipped "
                "and the weights' sum may overflow)"
            )
        try:
            self.workflow()
        except (TypeError, ValueError) as error:  # Flower's own checks of its settings, as one line
            raise UsageError(f"--secure_aggregation settings: {error}".replace("`", "")) from None

    def workflow(self) -> SecAggPlusWorkflow:
        """Flower's fit workflow with these settings."""
        return SecAggPlusWorkflow(
            self.num_shares,
            self.reconstruction_threshold,
            max_weight=self.max_weight,
            clipping_range=self.clipping_range,
            quantization_range=self.quantization_range,
            modulus_range=self.modulus_range,
            timeout=self.timeout,
        )

    def weights(self, counts: Sequence[int]) -> list[float]:
        """The weight SecAgg+ gives each client's values: its examples / max_weight, quantised to 1 / Q."""
        return [round(count / self.max_weight * self.quantization_range) / self.quantization_range for count in counts]

    def clips(self, counts: Sequence[int], largest: float) -> bool:
        """Whether a client's weighted values may reach `clipping_range` (`largest`: the largest |value| any client
        sends), beyond which SecAgg+ clips them silently."""
        return max(self.weights(counts)) * largest >= self.clipping_range

    def error_bound(self, counts: Sequence[int], largest: float) -> float:
        """The most SecAgg+'s aggregate can differ, per coordinate, from the exact FedAvg mean of values of at most
        `largest` in size sent by clients of `counts` examples, when nothing is clipped: each client's stochastic
        rounding (< one step 2c/Q), divided by the total quantised weight W, plus the weights' own rounding."""
        weights = self.weights(counts)
        total, examples = sum(weights), sum(counts)
        rounding = len(counts) * 2 * self.clipping_range / self.quantization_range / total
        weighting = largest * sum(abs(w / total - n / examples) for w, n in zip(weights, counts, strict=True))
        return rounding + weighting

    def noise_rms(self, num_clients: int, total_examples: int) -> float:
        """The expected per-coordinate RMS of the rounding noise, sqrt(K / 6) (2c / Q) max_weight / N, which the
        server can state from the public K and N: a stochastically rounded uniform fraction has variance 1/6 of a
        step squared. Values that quantise exactly (zeros: a dead unit's update) add none, so it is at most this."""
        step = 2 * self.clipping_range / self.quantization_range
        return math.sqrt(num_clients / 6) * step * self.max_weight / total_examples

    def record(self) -> dict:
        """The settings as the JSON records them."""
        return asdict(self)


def train_planned(
    skeleton: nn.Module, data: FedData, settings: FedSettings, device: str, round_number: int, client: int, broadcast
) -> tuple[dict[str, torch.Tensor], int]:
    """Client `client`'s trained state after `round_number`'s local training from the `broadcast` state, on the
    samples the round's seeded plan gives it (main_fed's client), and how many examples it trained on."""
    model = copy.deepcopy(skeleton).to(device)
    model.load_state_dict(broadcast)
    indices = plan_round(data.shares, settings, round_number).samples[client]
    images = data.normalization.normalize(data.train_images[indices]).to(device)
    local = settings.local_training(round_number)
    _, state = client_update(model, images, data.train_labels[indices].to(device), local, MODEL_MODE, settings.defense)
    return state, len(indices)


class SecAggClient(NumPyClient):
    """A virtual client that trains the partition each FitIns names and returns the payload SecAgg+ masks."""

    def __init__(self, ref, settings: FedSettings, device: str) -> None:
        self.ref, self.settings, self.device = ref, settings, device

    def fit(self, parameters, config):
        skeleton, data = payload(self.ref)
        names = list(skeleton.state_dict())
        if len(parameters) != len(names):
            raise ValueError(f"the broadcast holds {len(parameters)} arrays, the client's model {len(names)}")
        broadcast = {name: torch.from_numpy(np.array(array)) for name, array in zip(names, parameters, strict=True)}
        round_number, client = int(config[ROUND]), int(config[PARTITION])
        state, count = train_planned(skeleton, data, self.settings, self.device, round_number, client, broadcast)
        sent = [state[name].detach().cpu().double().numpy() for name in names]
        if config[PAYLOAD] == "update":
            sent = [value - broadcast[name].double().numpy() for value, name in zip(sent, names, strict=True)]
        np.random.seed(np.random.SeedSequence((round_number, client)).generate_state(1))  # secaggplus_mod's rounding
        return sent, count, {}


def secagg_client_app(ref, settings: FedSettings, device: str) -> ClientApp:
    """The virtual clients under SecAgg+: `secaggplus_mod` around a legacy NumPyClient (the mod reads FitIns and
    FitRes records); `ref` is the (model, data) in Ray's object store, as for engine.client_app."""

    def client_fn(context: Context):
        logging.getLogger("flwr").setLevel(logging.WARNING)  # the mod logs each of its four stages at DEBUG
        return SecAggClient(ref, settings, device).to_client()

    return ClientApp(client_fn=client_fn, mods=[secaggplus_mod])


class PlannedSecAggRound(FedAvg):
    """A legacy FedAvg for one SecAgg+ round: the broadcast as its initial parameters, one FitIns per planned
    client (to its node, naming its partition), and in `aggregate_fit` what Flower's server receives."""

    def __init__(self, broadcast: Parameters, instructions: Mapping[int, dict]) -> None:
        super().__init__(fraction_evaluate=0.0, initial_parameters=broadcast)
        self.instructions = dict(instructions)  # node id -> FitIns config
        self.received: list[tuple[int, FitRes]] | None = None
        self.failures = 0

    def configure_fit(self, server_round, parameters, client_manager):
        proxies = {proxy.node_id: proxy for proxy in client_manager.all().values()}
        return [(proxies[node], FitIns(parameters, config)) for node, config in self.instructions.items()]

    def aggregate_fit(self, server_round, results, failures):
        self.received = [(proxy.node_id, fitres) for proxy, fitres in results]
        self.failures = len(failures)
        return None, {}  # the caller moves the global model


class SecAggPlusClients:
    """The SecureTransport over the ServerApp's Grid: each round runs SecAgg+ among its selected clients' nodes, and
    the server gets back the aggregate Flower's server unmasks (what it reveals beside it, each participant's node
    id and count, is kept in `revealed`, per round, for the record)."""

    def __init__(self, grid: Grid, context: Context, node_of: Mapping[int, int], settings: "SecAggPlusSettings"):
        self.grid, self.context, self.node_of, self.settings = grid, context, dict(node_of), settings
        self.revealed: dict[int, dict] = {}

    def aggregate(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> SecureAggregate:
        nodes = {client: self.node_of[client] for client in plan.selected}
        outcome = secagg_round(self.grid, self.context, round_number, model.state_dict(), nodes, self.settings)
        for client in plan.selected:
            trained(client)
        self.revealed[round_number] = {"node_ids": list(outcome.node_ids), "num_examples": list(outcome.num_examples)}
        return outcome.aggregate


@dataclass(frozen=True)
class SecAggRound:
    """One SecAgg+ round as Flower's server saw it: the aggregate (what the ideal functionality also gives) and
    what SecAgg+ reveals beside it in the clear, per participant: node id, example count and metrics."""

    aggregate: SecureAggregate
    node_ids: tuple[int, ...]
    num_examples: tuple[int, ...]
    metrics: tuple[dict, ...]


def secagg_round(
    grid: Grid,
    context: Context,
    round_number: int,
    broadcast: Mapping[str, torch.Tensor],
    nodes: Mapping[int, int],
    settings: SecAggPlusSettings,
) -> SecAggRound:
    """Run one round of SecAgg+ from within a ServerApp's main: the `broadcast` state goes to the `nodes` of the
    round's clients ({client: node id}), each trains and masks its payload, and the server unmasks their FedAvg
    mean. A round that produced no aggregate of every client (SecAgg+ halted, a client failed) is an error."""
    settings.check(len(nodes))
    names = list(broadcast)
    arrays = [value.detach().cpu().numpy() for value in broadcast.values()]
    config = {ROUND: round_number, PAYLOAD: settings.payload}
    instructions = {node: {**config, PARTITION: client} for client, node in nodes.items()}
    strategy = PlannedSecAggRound(ndarrays_to_parameters(arrays), instructions)
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=1), strategy=strategy)
    DefaultWorkflow(fit_workflow=settings.workflow())(grid, legacy)
    if strategy.received is None:
        raise RuntimeError(
            f"round {round_number}: SecAgg+ produced no aggregate (it halted: a client failed or too few took part)"
        )
    received = sorted(strategy.received, key=lambda pair: pair[0])
    if strategy.failures or len(received) != len(nodes):
        raise RuntimeError(f"round {round_number}: SecAgg+ summed {len(received)} of the {len(nodes)} clients")
    counts = tuple(fitres.num_examples for _, fitres in received)
    if max(counts) > settings.max_weight:
        raise RuntimeError(
            f"round {round_number}: a client trained on {max(counts)} examples, more than max_weight "
            f"{settings.max_weight:g}; SecAgg+ may have clipped its values"
        )
    mean = parameters_to_ndarrays(received[0][1].parameters)  # the same aggregate in every FitRes
    if len(mean) != len(names):
        raise RuntimeError(f"round {round_number}: the aggregate holds {len(mean)} arrays, the model {len(names)}")
    offsets = arrays if settings.payload == "weights" else [0.0] * len(arrays)
    update = {name: torch.from_numpy(value - offset) for name, value, offset in zip(names, mean, offsets, strict=True)}
    return SecAggRound(
        aggregate=SecureAggregate(update, len(received), sum(counts)),
        node_ids=tuple(node for node, _ in received),
        num_examples=counts,
        metrics=tuple(dict(fitres.metrics) for _, fitres in received),
    )
