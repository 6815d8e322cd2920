"""main_fed's federation as a Flower app on the Simulation Engine: the same partitions, round plans
(fl.federation.plan_round), client training and defense (fl.client.client_update), FedAvg rule and
attacked cases as the local engine, so the global model and the attack's result match it.

Virtual clients are interchangeable: the server gives client k's messages to the k-th node (by node id)
and names the partition in each; the node trains on the samples the round's seeded plan gives that
partition, with the settings the server sends (no start-up query: a simulated message costs ~0.5 s on 2
cores). The server audits the attacked client's reply through AuditingStrategy; the private batch, for
scoring only, comes from the harness's own copy of the data (the attack sees only the Observation)."""

import copy
import time
from collections.abc import Callable, Iterable

import torch
from flwr.app import ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from torch import nn

from fedprivacy.fl.case import Case
from fedprivacy.fl.client import client_update, privacy_history
from fedprivacy.fl.federation import MODEL_MODE, FedData, FedResult, FedSettings, RoundPlan, client_privacy, plan_round
from fedprivacy.fl.observation import LocalTraining, Observation
from fedprivacy.fl.server import accuracy, fedavg
from fedprivacy.flower.knowledge import ConfigKey, ServerKnowledge
from fedprivacy.flower.records import to_record, to_state
from fedprivacy.flower.simulation import Resources, quiet, simulate, start_ray

PARTITION = "partition-id"  # in each train config: the client whose data the node trains on
CONFIG_KEYS = {
    "epochs": "local-epochs",
    "batch_size": "batch-size",
    "lr": "lr",
    "momentum": "momentum",
    "weight_decay": "weight-decay",
}
_PAYLOADS: dict[str, tuple[nn.Module, FedData]] = {}  # per Ray worker: the model skeleton and the data


def payload(ref) -> tuple[nn.Module, FedData]:
    """The (model, data) shipped once through Ray's object store, fetched once per worker process."""
    import ray

    key = ref.hex()
    if key not in _PAYLOADS:
        _PAYLOADS[key] = ray.get(ref)
    return _PAYLOADS[key]


def train_config(local: LocalTraining) -> ConfigRecord:
    """The settings the server sends each round (the audit reads them back through CONFIG_KEYS)."""
    return ConfigRecord({key: getattr(local, field) for field, key in CONFIG_KEYS.items()})


def client_app(ref, settings: FedSettings, device: str) -> ClientApp:
    """The virtual client: train the planned samples of the partition the server names, and reply."""
    app = ClientApp()

    @app.train()
    def train(message: Message, context: Context) -> Message:
        skeleton, data = payload(ref)
        config = message.content["config"]
        model = copy.deepcopy(skeleton).to(device)
        model.load_state_dict(to_state(message.content["arrays"]))
        indices = plan_round(data.shares, settings, int(config["server-round"])).samples[int(config[PARTITION])]
        local = ServerKnowledge({f: ConfigKey(k) for f, k in CONFIG_KEYS.items()}).local_training(config)
        images = data.normalization.normalize(data.train_images[indices]).to(device)
        labels = data.train_labels[indices].to(device)
        _, state = client_update(model, images, labels, local, MODEL_MODE, settings.defense)
        metrics = MetricRecord({"num-examples": len(indices)})
        return Message(RecordDict({"arrays": to_record(state), "metrics": metrics}), reply_to=message)

    return app


class PlannedFedAvg(FedAvg):
    """FedAvg that selects the round plan's clients (by partition) and averages with fl.server.fedavg,
    in the plan's order: the local engine's rule, so the two engines agree to the last bit."""

    def __init__(self, shares: list[list[int]], settings: FedSettings, node_of: dict[int, int]) -> None:
        super().__init__(fraction_evaluate=0.0)
        self.shares, self.settings, self.node_of = shares, settings, node_of
        self.partition_of = {node: partition for partition, node in node_of.items()}
        self.plans: dict[int, RoundPlan] = {}
        self.started: dict[int, float] = {}

    def plan(self, server_round: int) -> RoundPlan:
        if server_round not in self.plans:
            self.plans[server_round] = plan_round(self.shares, self.settings, server_round)
        return self.plans[server_round]

    def configure_train(self, server_round, arrays, config, grid) -> Iterable[Message]:
        self.started[server_round] = time.perf_counter()
        messages = []
        for client in self.plan(server_round).selected:
            record = train_config(self.settings.local_training(server_round))
            record["server-round"], record[PARTITION] = server_round, client
            content = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: record})
            messages.append(Message(content, dst_node_id=self.node_of[client], message_type=MessageType.TRAIN))
        return messages

    def aggregate_train(self, server_round, replies):
        replies = list(replies)
        failed = [m.error.reason for m in replies if m.has_error()]
        if failed or len(replies) != len(self.plan(server_round).selected):
            raise RuntimeError(f"round {server_round}: {len(failed)} client(s) failed: {failed[:1]}")
        replies.sort(key=lambda m: self.partition_of[m.metadata.src_node_id])
        states = [to_state(m.content["arrays"]) for m in replies]
        counts = [int(m.content["metrics"]["num-examples"]) for m in replies]
        return to_record(fedavg(states, counts)), None


def nodes_by_client(grid: Grid, expected: int, patience: float = 600.0) -> dict[int, int]:
    """Once all `expected` virtual nodes are up: client k -> the k-th node id in sorted order."""
    deadline = time.monotonic() + patience
    while len(nodes := sorted(grid.get_node_ids())) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nodes)} of {expected} Flower nodes came up")
        time.sleep(0.1)
    return dict(enumerate(nodes))


class Stopped(Exception):
    """The federation was interrupted: raised by the Grid in the ServerApp's thread, which it ends."""


def stop(grid: Grid) -> None:
    """End the ServerApp's thread at its next message exchange (it would wait for replies that never come,
    keeping the process alive after the results were written)."""

    def stopped(*_args, **_kwargs):
        raise Stopped

    grid.push_messages = grid.pull_messages = stopped


def run_flower_federation(
    model: nn.Module,
    data: FedData,
    settings: FedSettings,
    resources: Resources,
    on_round: Callable[[int, dict[str, torch.Tensor]], None] | None = None,
) -> FedResult:
    """Run the federation on Flower's Simulation Engine; train `model` in place; like run_federation."""
    import ray

    from fedprivacy.flower.strategy import AuditingStrategy, PublicFacts

    device = next(model.parameters()).device
    start_ray(resources)
    ref = ray.put((copy.deepcopy(model).cpu(), data))
    client_device = "cuda" if resources.client_gpus > 0 and device.type == "cuda" else "cpu"
    test_images = data.normalization.normalize(data.test_images).to(device)
    test_labels = data.test_labels.to(device)
    result = FedResult(model=model, initial_accuracy=accuracy(model, test_images, test_labels))
    server = ServerApp()
    grids: list[Grid] = []

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        grids.append(grid)
        node_of = nodes_by_client(grid, settings.total_clients)
        planned = PlannedFedAvg(data.shares, settings, node_of)

        def attacked(server_round: int) -> set[int]:
            client = planned.plan(server_round).attacked
            return set() if client is None else {node_of[client]}

        def keep(server_round: int, node: int, observation: Observation) -> None:
            indices = planned.plan(server_round).samples[planned.partition_of[node]]
            meta = {"round": server_round, "client": planned.partition_of[node], "dataset_indices": indices}
            meta["lr"] = settings.local_training(server_round).lr
            result.cases.append(Case(observation, data.train_images[indices], data.train_labels[indices], meta))

        knowledge = ServerKnowledge({field: ConfigKey(key) for field, key in CONFIG_KEYS.items()})
        facts = PublicFacts(tuple(data.train_images.shape[1:]), data.normalization, MODEL_MODE, settings.rec_batch_size)
        audit = AuditingStrategy(
            planned, copy.deepcopy(model), knowledge, facts, keep, settings.attack_rounds, attacked, per_round=None
        )

        def evaluate(server_round: int, arrays) -> MetricRecord:
            if server_round == 0:
                return MetricRecord()
            model.load_state_dict(to_state(arrays))
            plan = planned.plan(server_round)
            result.rounds.append(
                {
                    "round": server_round,
                    "accuracy": accuracy(model, test_images, test_labels),
                    "seconds": time.perf_counter() - planned.started[server_round],
                    "lr": settings.local_training(server_round).lr,
                    "clients": plan.selected,
                    "attacked_client": plan.attacked,
                }
            )
            if on_round is not None:
                on_round(server_round, copy.deepcopy(model.state_dict()))
            return MetricRecord({"accuracy": result.rounds[-1]["accuracy"]})

        audit.start(grid, to_record(model.state_dict()), num_rounds=settings.num_rounds, evaluate_fn=evaluate)

    try:
        simulate(server, client_app(ref, settings, client_device), settings.total_clients, resources)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep the rounds finished before it
        quiet()
        for grid in grids:
            stop(grid)
        result.interrupted = True
        result.rounds = list(result.rounds)
        result.cases = [case for case in result.cases if case.meta["round"] <= len(result.rounds)]
    history: dict[int, list[tuple[float, int]]] = {}
    for round_number in range(1, len(result.rounds) + 1):
        plan, local = plan_round(data.shares, settings, round_number), settings.local_training(round_number)
        for client in plan.selected:
            history.setdefault(client, []).extend(privacy_history(local, len(plan.samples[client])))
    result.privacy = client_privacy(settings.defense, history)
    return result
