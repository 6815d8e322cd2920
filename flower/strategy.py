"""A Flower strategy wrapper that audits what clients send: it keeps each round's broadcast, turns every
chosen reply into our Observation on the server side (update = reply - broadcast, the configured local
training, the reply's example count, the public image shape: fl/view.py, never a private tensor) for a sink,
then lets the wrapped strategy aggregate the untouched replies. A sink that
works off the round's critical path (flower/audit.py) is waited for when the strategy's run ends."""

import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Result, Strategy
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.observation import Observation
from fedprivacy.fl.view import observe_update
from fedprivacy.flower.knowledge import ServerKnowledge
from fedprivacy.flower.records import first_mismatch, to_state, update_of

Sink = Callable[[int, int, Observation], None]  # (server round, node id, observation)
Nodes = Collection[int] | Callable[[int], Collection[int]] | None  # node ids, per round, or None = any


@dataclass(frozen=True)
class PublicFacts:
    """What the server knows of the clients' data and model: image shape, normalisation, model mode, and
    how many images the attack reconstructs from a reply (None: as many as the client trained on)."""

    image_shape: tuple[int, int, int]
    normalization: Normalization
    model_mode: str = "train"
    num_images: int | None = None


class AuditingStrategy(Strategy):
    """Wrap `strategy`; at `rounds` (None = all) audit up to `per_round` replies of `nodes` (node ids, a
    function of the round giving them, or None = any)."""

    def __init__(
        self,
        strategy: Strategy,
        model: nn.Module,
        knowledge: ServerKnowledge,
        facts: PublicFacts,
        sink: Sink,
        rounds: Collection[int] | None = None,
        nodes: Nodes = None,
        per_round: int | None = 1,
    ) -> None:
        self.strategy, self.model, self.knowledge, self.facts, self.sink = strategy, model, knowledge, facts, sink
        self.rounds, self.nodes, self.per_round = rounds, nodes, per_round
        self.sent: dict[int, tuple[ArrayRecord, ConfigRecord]] = {}
        self.skipped: list[str] = []

    def summary(self) -> None:
        self.strategy.summary()

    def start(self, grid: Grid, initial_arrays: ArrayRecord, *args, **kwargs) -> Result:
        """Flower's round loop (Strategy.start) over this wrapper; then wait for the sink's queued audits."""
        try:
            return super().start(grid, initial_arrays, *args, **kwargs)
        finally:
            finish = getattr(self.sink, "finish", None)
            if finish is not None:
                finish()

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        messages = list(self.strategy.configure_train(server_round, arrays, config, grid))
        if self.rounds is None or server_round in self.rounds:
            key = getattr(self.strategy, "configrecord_key", "config")
            sent = messages[0].content.config_records.get(key, config) if messages else config
            self.sent[server_round] = (arrays, ConfigRecord(dict(sent)))
        return messages

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        if server_round in self.sent:
            self.audit(server_round, replies)
        return self.strategy.aggregate_train(server_round, replies)

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)

    def audit(self, server_round: int, replies: list[Message]) -> None:
        """Hand the chosen replies of a round to the sink as Observations; a mismatched reply is one line."""
        broadcast, config = self.sent.pop(server_round)
        nodes = self.nodes(server_round) if callable(self.nodes) else self.nodes
        chosen = [m for m in replies if not m.has_error() and (nodes is None or m.metadata.src_node_id in nodes)]
        audited = 0
        for message in sorted(chosen, key=lambda m: m.metadata.src_node_id):
            if self.per_round is not None and audited >= self.per_round:
                break
            node = message.metadata.src_node_id
            observation = self.observe(broadcast, config, message)
            if isinstance(observation, str):
                line = f"audit of round {server_round} node {node} skipped: {observation}"
                self.skipped.append(line)
                print(line, file=sys.stderr)
                continue
            self.sink(server_round, node, observation)
            audited += 1

    def observe(self, broadcast: ArrayRecord, config: ConfigRecord, message: Message) -> Observation | str:
        """The reply as an Observation, or why it cannot be one."""
        content = message.content
        if len(content.array_records) != 1 or len(content.metric_records) != 1:
            return "a reply must carry one ArrayRecord and one MetricRecord"
        reply = next(iter(content.array_records.values()))
        mismatch = first_mismatch(broadcast, reply)
        if mismatch is not None:
            return mismatch
        weight_key = getattr(self.strategy, "weighted_by_key", "num-examples")
        metrics = next(iter(content.metric_records.values()))
        if weight_key not in metrics:
            return f"its metrics lack {weight_key!r}, the number of examples"
        model = self.model_at(broadcast)
        update = update_of(model, to_state(broadcast), to_state(reply))
        local, facts = self.knowledge.local_training(config), self.facts
        return observe_update(
            model, update, int(metrics[weight_key]), facts.image_shape, facts.normalization, facts.model_mode, local,
            facts.num_images,
        )  # fmt: skip

    def model_at(self, broadcast: ArrayRecord) -> nn.Module:
        """The server's model loaded with the broadcast arrays."""
        self.model.load_state_dict(to_state(broadcast))
        return self.model
