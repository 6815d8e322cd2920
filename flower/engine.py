"""main_fed's federation as a Flower app on the Simulation Engine: Flower supplies only the transport. The
round loop is fl.federation.run_federation, the same as the local engine's (partitions, round plans, FedAvg
rule, the server's view of the attacked client, records and privacy history); this module sends each round's
broadcast to the selected virtual clients through the ServerApp's Grid and turns their replies into what the
server received (update = reply - broadcast, the example count), so the global model and the attack's result
match the local engine's.

Virtual clients are interchangeable: the server gives client k's messages to the k-th node (by node id)
and names the partition in each; the node trains on the samples the round's seeded plan gives that
partition, with the settings the server sends (no start-up query: a simulated message costs ~0.5 s on 2
cores). The private batch, for scoring only, comes from the harness's own copy of the data (the attack sees
only the Observation)."""

import copy
import time
from collections.abc import Callable

from flwr.app import ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from torch import nn

from fedprivacy.fl.client import client_update
from fedprivacy.fl.federation import (
    MODEL_MODE,
    FedData,
    FedResult,
    Reply,
    SecureTransport,
    Transport,
    federation_privacy,
    run_federation,
)
from fedprivacy.fl.protocol import FedSettings, LocalTraining, RoundPlan, plan_round
from fedprivacy.flower.knowledge import ConfigKey, ServerKnowledge
from fedprivacy.flower.records import to_record, to_state, update_of
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


class FlowerClients:
    """The Transport over the ServerApp's Grid: each selected client's train message goes to its virtual node,
    and each reply becomes what the server received."""

    def __init__(self, grid: Grid, node_of: dict[int, int]) -> None:
        self.grid, self.node_of = grid, node_of
        self.partition_of = {node: client for client, node in node_of.items()}

    def train(
        self, round_number: int, plan: RoundPlan, model: nn.Module, local: LocalTraining, trained: Callable[[int], None]
    ) -> dict[int, Reply]:
        broadcast = to_record(model.state_dict())
        messages = []
        for client in plan.selected:
            record = train_config(local)
            record["server-round"], record[PARTITION] = round_number, client
            content = RecordDict({"arrays": broadcast, "config": record})
            messages.append(Message(content, dst_node_id=self.node_of[client], message_type=MessageType.TRAIN))
        replies = list(self.grid.send_and_receive(messages))
        failed = [m.error.reason for m in replies if m.has_error()]
        if failed or len(replies) != len(plan.selected):
            raise RuntimeError(f"round {round_number}: {len(failed)} client(s) failed: {failed[:1]}")
        received = {}
        for message in sorted(replies, key=lambda m: self.partition_of[m.metadata.src_node_id]):
            client = self.partition_of[message.metadata.src_node_id]
            state = to_state(message.content["arrays"])
            update = update_of(model, to_state(broadcast), state)
            received[client] = Reply(update, state, int(message.content["metrics"]["num-examples"]))
            trained(client)
        return received


def nodes_by_client(grid: Grid, expected: int, patience: float = 600.0) -> dict[int, int]:
    """Once all `expected` virtual nodes are up: client k -> the k-th node id in sorted order."""
    deadline = time.monotonic() + patience
    while len(nodes := sorted(grid.get_node_ids())) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nodes)} of {expected} Flower nodes came up")
        time.sleep(0.1)
    return dict(enumerate(nodes))


class Stopped(KeyboardInterrupt):
    """The federation was interrupted: raised by the Grid in the ServerApp's thread, whose round loop then
    keeps the finished rounds and ends, as on Ctrl-C."""


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
    progress: bool | str = True,
    clients: Callable[..., ClientApp] = client_app,
    transport: Callable[[Grid, Context, dict[int, int]], Transport | SecureTransport] | None = None,
) -> FedResult:
    """Run the federation on Flower's Simulation Engine; train `model` in place; like run_federation. The virtual
    clients are `clients(ref, settings, device)` and the server reaches them through `transport(grid, context,
    {client: node})` (default: plain train messages; flower/secagg.py supplies SecAgg+'s). Ctrl-C or SIGTERM keep
    the rounds finished before it."""
    import ray

    device = next(model.parameters()).device
    start_ray(resources)
    ref = ray.put((copy.deepcopy(model).cpu(), data))
    client_device = "cuda" if resources.client_gpus > 0 and device.type == "cuda" else "cpu"
    result, grids = FedResult(model=model), []
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        grids.append(grid)
        node_of = nodes_by_client(grid, settings.total_clients)
        reach = FlowerClients(grid, node_of) if transport is None else transport(grid, context, node_of)
        run_federation(model, data, settings, progress, reach, result)

    try:
        simulate(server, clients(ref, settings, client_device), settings.total_clients, resources)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM in this thread: keep the rounds finished before it
        quiet()
        for grid in grids:
            stop(grid)
        result.interrupted = True
        result.cases = [case for case in result.cases if case.meta["round"] <= len(result.rounds)]
        result.privacy = federation_privacy(data.shares, settings, len(result.rounds))
    return result
