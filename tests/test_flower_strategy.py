"""The auditing strategy without Ray: it aggregates bit for bit as the FedAvg it wraps, hands the sink the
Observation the client's training really produced, skips a mismatched reply in one line, and refuses at
start-up an attack whose local-training settings the server does not know."""

import numpy as np
import pytest
import torch

pytest.importorskip("flwr")

from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.serverapp.strategy import FedAvg  # noqa: E402
from flwr.supercore.task_identity import TaskIdentity  # noqa: E402

from fedprivacy.data import Normalization, load_split  # noqa: E402
from fedprivacy.fl.client import train_locally  # noqa: E402
from fedprivacy.fl.functional import functional_update  # noqa: E402
from fedprivacy.fl.observation import LocalTraining  # noqa: E402
from fedprivacy.flower.knowledge import ConfigKey, ServerKnowledge  # noqa: E402
from fedprivacy.flower.records import to_record, to_state  # noqa: E402
from fedprivacy.flower.strategy import AuditingStrategy, PublicFacts  # noqa: E402
from fedprivacy.models import build_model  # noqa: E402
from fedprivacy.utils.errors import UsageError  # noqa: E402

NORM = Normalization((0.5,), (0.5,))
KNOWN = ServerKnowledge({"lr": ConfigKey("lr"), "epochs": 2, "batch_size": 4, "momentum": 0.9})
LOCAL = LocalTraining(epochs=2, batch_size=4, lr=0.05, momentum=0.9)


class NodeList:
    """The part of a Grid that FedAvg's sampling reads."""

    def get_node_ids(self) -> list[int]:
        return [11, 22, 33]


@pytest.fixture(scope="module", autouse=True)
def _identity() -> None:
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_split("digits", "train").batch(list(range(18)))
    return NORM.normalize(images), labels


def replies_of(messages: list[Message], model: torch.nn.Module, digits, rename: bool = False) -> list[Message]:
    """Each node trains `model` on its own 6 digits with the configured settings and replies."""
    images, labels = digits
    replies = []
    for index, message in enumerate(messages):
        rows = slice(6 * index, 6 * index + 6)
        state = train_locally(model, images[rows], labels[rows], LOCAL, "train").state_dict()
        if rename:
            state = {f"module.{name}": value for name, value in state.items()}
        content = RecordDict({"arrays": to_record(state), "metrics": MetricRecord({"num-examples": 6})})
        replies.append(Message(content, reply_to=message))
    return replies


def audited_round(model, digits, rename=False):
    seen = []
    strategy = AuditingStrategy(
        FedAvg(), model, KNOWN, PublicFacts((1, 8, 8), NORM), lambda r, n, o: seen.append((r, n, o)), per_round=None
    )
    broadcast = to_record(model.state_dict())
    messages = list(strategy.configure_train(1, broadcast, ConfigRecord({"lr": LOCAL.lr}), NodeList()))
    replies = replies_of(sorted(messages, key=lambda m: m.metadata.dst_node_id), model, digits, rename)
    return strategy, replies, seen


def test_aggregation_is_bit_for_bit_that_of_the_wrapped_fedavg(digits) -> None:
    model = build_model("cnn", 1, (8, 8), 10)
    strategy, replies, seen = audited_round(model, digits)
    audited, metrics = strategy.aggregate_train(1, replies)
    plain, _ = FedAvg().aggregate_train(1, replies)
    assert len(seen) == 3 and list(audited) == list(plain)
    for name in plain:
        assert audited[name].numpy().tobytes() == plain[name].numpy().tobytes()


def test_the_observation_is_what_the_client_training_produced(digits) -> None:
    model = build_model("cnn", 1, (8, 8), 10)
    broadcast = {k: v.clone() for k, v in model.state_dict().items()}
    strategy, replies, seen = audited_round(model, digits)
    strategy.aggregate_train(1, replies)
    server_round, node, obs = seen[0]
    assert (server_round, node) == (1, 11)
    assert obs.num_images == 6 and obs.local_training == LOCAL and obs.image_shape == (1, 8, 8)
    for (name, p), shared in zip(obs.model.named_parameters(), obs.update, strict=True):
        assert torch.equal(p.detach(), broadcast[name])
        reply = to_state(replies[0].content["arrays"])[name]
        assert torch.equal(shared, reply - broadcast[name])
    images, labels = digits
    simulated = functional_update(obs.model, obs.parameters(), obs.buffers(), images[:6], labels[:6], LOCAL, "train")
    assert max(float((s.detach() - o).abs().max()) for s, o in zip(simulated, obs.update, strict=True)) < 1e-5


def test_a_mismatched_reply_is_skipped_in_one_line_and_the_round_goes_on(digits, capsys) -> None:
    model = build_model("cnn", 1, (8, 8), 10)
    strategy, replies, seen = audited_round(model, digits, rename=True)
    audited, _ = strategy.aggregate_train(1, replies)
    plain, _ = FedAvg().aggregate_train(1, replies)
    lines = capsys.readouterr().err.strip().splitlines()
    assert seen == [] and len(lines) == 3
    assert lines[0] == "audit of round 1 node 11 skipped: the reply lacks array '0.weight'"
    assert all(np.array_equal(audited[name].numpy(), plain[name].numpy()) for name in plain)


def test_an_attack_needing_unknown_settings_is_one_line_at_start_up() -> None:
    with pytest.raises(UsageError, match=r"server does not know: epochs, batch_size \("):
        ServerKnowledge({"lr": ConfigKey("lr"), "momentum": 0.9})
    with pytest.raises(UsageError, match="no key 'lr'"):
        ServerKnowledge({"lr": ConfigKey("lr"), "epochs": 1, "batch_size": 1}).local_training(ConfigRecord({}))


def test_a_deployment_audit_runs_after_the_round_and_writes_its_verdict_unscored(digits, tmp_path) -> None:
    """No ground truth: the PNG and .npz are the reconstruction, the JSON the verdict on the attack's own
    evidence, the restored labels and the attack's stats; the round does not wait for the audit (it is
    queued), finish() does; a client that trained otherwise than configured (2 epochs, the server believes
    1) is no crash."""
    from fedprivacy.flower.audit import AttackAudit

    model = build_model("cnn", 1, (8, 8), 10)
    believed = ServerKnowledge({"lr": ConfigKey("lr"), "epochs": 1, "batch_size": 4, "momentum": 0.9})
    for _ in range(2):
        sink = AttackAudit("ig_weight", tmp_path, rec_epochs=3)
        strategy = AuditingStrategy(FedAvg(), model, believed, PublicFacts((1, 8, 8), NORM), sink)
        broadcast = to_record(model.state_dict())
        messages = list(strategy.configure_train(1, broadcast, ConfigRecord({"lr": LOCAL.lr}), NodeList()))
        strategy.aggregate_train(1, replies_of(sorted(messages, key=lambda m: m.metadata.dst_node_id), model, digits))
        sink.finish()
        (report,) = sink.reports
        assert report["status"] == "ok" and not report["scored"] and len(report["restored_labels"]) == 6
        assert report["local_training"]["epochs"] == 1 and report["node"] == 11
        assert report["verdict"] == "not_converged" and report["verdict_evidence"]["trials"] == 2
        assert report["cost_estimate"]["gradient_evaluations"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "flower_ig_weight_r1_n11.json",
        "flower_ig_weight_r1_n11.npz",
        "flower_ig_weight_r1_n11.png",
        "flower_ig_weight_r1_n11_run2.json",
        "flower_ig_weight_r1_n11_run2.npz",
        "flower_ig_weight_r1_n11_run2.png",
    ]


def test_the_mod_files_the_batch_train_trained_on_with_its_partition(tmp_path) -> None:
    """The quickstart's train, untouched, behind the mod: the truth channel gets its pixels and labels."""
    from flwr.app import ArrayRecord, Context, Message

    from fedprivacy.data import load_split
    from fedprivacy.flower.mods import file_private_batch
    from fedprivacy.flower.quickstart import Net, local_train
    from fedprivacy.flower.truth import TruthChannel

    half = Normalization((0.5,) * 3, (0.5,) * 3)
    pixels, labels = load_split("cifar10_sample").batch([0, 1, 2])

    def train(message: Message, context: Context) -> Message:
        net = Net()
        local_train(net, half.normalize(pixels), labels, lr=0.01, epochs=2, batch_size=2)
        content = RecordDict({"arrays": ArrayRecord(net.state_dict()), "metrics": MetricRecord({"num-examples": 3})})
        return Message(content, reply_to=message)

    message = Message(RecordDict({"config": ConfigRecord({"server-round": 4})}), dst_node_id=5, message_type="train")
    run_config = {"audit-truth": str(tmp_path)}
    context = Context(run_id=1, node_id=5, node_config={"partition-id": 2}, state=RecordDict(), run_config=run_config)
    file_private_batch(half)(message, context, train)
    private = TruthChannel(tmp_path).take(4, 5)
    assert private.partition == 2 and private.labels.tolist() == labels.tolist()
    assert float((private.pixels - pixels).abs().max()) < 1e-6


def test_the_audit_settings_come_from_the_run_config() -> None:
    from fedprivacy.flower.config import AuditSettings

    settings = AuditSettings.from_run_config({"num-server-rounds": 3, "audit-attack": "idlg", "audit-rounds": "1,3"})
    assert (settings.attack, settings.steps, settings.restarts, settings.rounds) == ("idlg", 0, 2, frozenset({1, 3}))
    assert settings.nodes == 1 and not settings.wait and settings.threads == 1
    assert settings.sink().config.options.restarts == 2 and settings.sink().threads == 1
    with pytest.raises(UsageError, match="audit-step: unknown"):
        AuditSettings.from_run_config({"audit-step": 3})
    with pytest.raises(UsageError, match="audit-steps = '3': takes the attack's optimiser steps"):
        AuditSettings.from_run_config({"audit-steps": "3"})
