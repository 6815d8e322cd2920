"""Flower: (1) breaching issue #20's question on the quickstart-pytorch app (what ig_weight, ig_multi and dlg
recover from a client of 1, 8 or 32 images training 1 or 3 epochs at batch 32); (2) the same app behind
Flower's LocalDpMod at two strengths; (3) per-round wall time and peak memory of --engine flower against
--engine local for 10, 100 and 1,000 virtual clients, with Ray's start-up apart.

(1) and (2) build the Flower messages in this process and hand them to the AuditingStrategy, without
transport (tests/test_flower_deployment.py and test_flower_engine.py show transport changes nothing); the
client is flower/quickstart.py's train on the CIFAR-10 subset's first images, at round 1 of a fresh Net."""

import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import torch

from benchmarks.common import CIFAR10_SUBSET, IMAGES, ROOT

SHARED_MACHINE = "timed on a 2-core machine shared with other jobs (load average 8-19)"
BREACHING_TABLE = (
    "Flower quickstart-pytorch app audited (breaching #20): 60-minute-blitz CNN, SGD momentum 0.9, batch 32, "
    "lr 0.01, CIFAR-10 subset, round 1"
)
DP_TABLE = "Flower quickstart app behind Flower's LocalDpMod (clip the update, add Gaussian noise): ig_multi, 8 images"
ENGINE_TABLE = "main_fed --engine flower vs --engine local: per-round wall time and peak memory (C = 0.1, 2 rounds)"
BUDGET = {"ig_weight": ("iterations", 50), "ig_multi": ("iterations", 50), "dlg": ("steps", 20)}  # short CPU
# budgets, each attack's budget option and value (defaults: 8000, 24000, 300)
NORM = (0.5, 0.5, 0.5)


def client_batch(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `count` CIFAR-10 subset training images ([0, 1], N C H W) and labels."""
    return CIFAR10_SUBSET.split("train").batch(list(range(count)))


def audit_quickstart(attack: str, count: int, epochs: int, mods: tuple = (), steps: int | None = None) -> dict:
    """One audited reply of the quickstart client: the AttackAudit's scored report."""
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
    from flwr.serverapp.strategy import FedAvg
    from flwr.supercore.task_identity import TaskIdentity

    from fedprivacy.data import Normalization
    from fedprivacy.flower.audit import AttackAudit
    from fedprivacy.flower.knowledge import ConfigKey, ServerKnowledge
    from fedprivacy.flower.quickstart import Net, local_train
    from fedprivacy.flower.strategy import AuditingStrategy, PublicFacts
    from fedprivacy.flower.truth import TruthChannel

    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    norm = Normalization(NORM, NORM)
    pixels, labels = client_batch(count)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        truth = TruthChannel(folder)

        def train(message: Message, context: Context) -> Message:
            net = Net()
            net.load_state_dict(message.content["arrays"].to_torch_state_dict())
            local_train(net, norm.normalize(pixels), labels, lr=message.content["config"]["lr"], epochs=epochs)
            truth.put(1, 7, pixels, labels)
            metrics = MetricRecord({"num-examples": count})
            return Message(RecordDict({"arrays": ArrayRecord(net.state_dict()), "metrics": metrics}), reply_to=message)

        name = f"flower_{count}img_{epochs}ep{'_dp' + str(mods[0].epsilon) if mods else ''}"
        name += "" if steps is None else f"_{steps}steps"
        budget, default = BUDGET[attack]
        # One trial, as these rows were measured (the audit's own default runs two to measure their spread).
        settings = {budget: steps or default, "restarts": 1, "min_trials": 1}
        sink = AttackAudit(attack, IMAGES / "flower", truth, True, name, wait=True, **settings)
        knowledge = ServerKnowledge({"lr": ConfigKey("lr"), "epochs": epochs, "batch_size": 32, "momentum": 0.9})
        fedavg = FedAvg(min_train_nodes=1, min_available_nodes=1)
        strategy = AuditingStrategy(fedavg, Net(), knowledge, PublicFacts((3, 32, 32), norm), sink)

        class Nodes:
            def get_node_ids(self) -> list[int]:
                return [7]

        broadcast = ArrayRecord(strategy.model.state_dict())
        (message,) = strategy.configure_train(1, broadcast, ConfigRecord({"lr": 0.01}), Nodes())
        context = Context(run_id=1, node_id=7, node_config={}, state=RecordDict(), run_config={})
        handler = train
        for mod in reversed(mods):
            handler = (lambda m, h: lambda msg, ctx: m(msg, ctx, h))(mod, handler)
        strategy.aggregate_train(1, [handler(message, context)])
    return sink.reports[-1]


def quickstart_row(table: str, report: dict, **extra: object) -> dict:
    summary = report["summary"]
    return {
        "table": table,
        "attack": report["attack"],
        "images": report["num_images"],
        "local_epochs": report["local_training"]["epochs"],
        **extra,
        "rec_steps": report["attack_settings"][BUDGET[report["attack"]][0]],
        "psnr": summary["psnr"],
        "ssim": summary["ssim"],
        "label_acc": summary["label_acc"],
        "seconds": summary["seconds"],
        "grid": str(Path(report["grid"]).relative_to(ROOT)),
    }


def breaching_case(attack: str, count: int, epochs: int, steps: int | None = None):
    def case() -> dict:
        row = quickstart_row(BREACHING_TABLE, audit_quickstart(attack, count, epochs, steps=steps))
        row["notes"] = (
            f"budget {steps or BUDGET[attack][1]} steps, 1 trial (defaults 8000 / 24000 / 300); ig_weight, ig_multi "
            "both differentiate through the configured training (the audit's Observation), they differ in step size; "
            f"{SHARED_MACHINE}"
        )
        return row

    return case


def dp_case(epsilon: float | None):
    def case() -> dict:
        from flwr.clientapp.mod import LocalDpMod

        mods = () if epsilon is None else (LocalDpMod(clipping_norm=1.0, sensitivity=1.0, epsilon=epsilon, delta=1e-5),)
        report = audit_quickstart("ig_multi", 8, 1, mods)
        strength = "none" if epsilon is None else f"clip 1, epsilon {epsilon:g}, delta 1e-5"
        row = quickstart_row(DP_TABLE, report, local_dp=strength)
        row["notes"] = (
            "LocalDpMod clips the update (reply - broadcast) to L2 norm 1 and adds Gaussian noise of std "
            "sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon to every weight; compare the gaussian and dpsgd columns "
            f"of benchmarks/audit/audit.md (our own client-side noise); {SHARED_MACHINE}"
        )
        return row

    return case


class PeakMemory:
    """Peak resident memory of this process and everything it started (Ray's raylet and workers), sampled."""

    def __init__(self) -> None:
        self.peak, self.running = 0, True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def tree_rss(self) -> int:
        table = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                table[int(stat.parent.name)] = (int(fields[1]), int(fields[21]) * resource.getpagesize())
            except (OSError, IndexError, ValueError):
                continue
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += table.get(pid, (0, 0))[1]
            todo += [child for child, (parent, _) in table.items() if parent == pid]
        return total

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.tree_rss())
            time.sleep(0.5)

    def __enter__(self) -> "PeakMemory":
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.running = False
        self.thread.join()


def engine_case(engine: str, dataset: str, clients: int):
    def case() -> dict:
        import main_fed

        data = CIFAR10_SUBSET.argv() if dataset == "cifar10" else []
        flags = [*data, "--total_clients", str(clients), "--C", "0.1", "--iid", "--num_rounds", "2", "--seed", "0"]
        flags += ["--attack", "none", "--engine", engine, "--model", "cnn"]
        flags += ["--client.epochs", "1", "--client.batch_size", "50", "--client.lr", "0.1"]
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as each Ray worker has; 2 threads on a busy 2-core box run 7x slower
        with tempfile.TemporaryDirectory() as out, PeakMemory() as memory:
            started = time.perf_counter()
            report = main_fed.main([*flags, "--quiet", "--out_dir", out])
            wall = time.perf_counter() - started
        torch.set_num_threads(threads)
        rounds = [r["seconds"] for r in report["rounds"]]
        return {
            "table": ENGINE_TABLE,
            "dataset": dataset,
            "clients": clients,
            "engine": engine,
            "s_per_round": sum(rounds) / len(rounds),
            "first_round_s": rounds[0],
            "later_round_s": sum(rounds[1:]) / len(rounds[1:]),
            "wall_s": wall,
            "startup_s": wall - sum(rounds),
            "peak_mib": memory.peak / 2**20,
            "notes": "ConvNet, iid split, 1 local epoch, batch 50, 1 torch thread in the driver and in each of Ray's "
            "2 workers; a round is training the selected clients plus the server's test evaluation (the first flower "
            "round also warms the workers up); startup_s: everything but the rounds (data, model, and for flower: "
            "Ray start, actor pool, node registration); peak_mib: resident memory of the process tree (Ray's raylet "
            f"and workers included), sampled every 0.5 s; {SHARED_MACHINE}",
        }

    return case


CASES = {
    **{
        f"flower_breaching20_{attack}_{count}img_{epochs}ep": breaching_case(attack, count, epochs)
        for attack in ("ig_weight", "ig_multi", "dlg")
        for count in (1, 8, 32)
        for epochs in (1, 3)
    },
    "flower_breaching20_ig_multi_1img_1ep_1000steps": breaching_case("ig_multi", 1, 1, steps=1000),
    "flower_breaching20_ig_multi_8img_1ep_1000steps": breaching_case("ig_multi", 8, 1, steps=1000),
    **{f"flower_localdp_{name}": dp_case(eps) for name, eps in (("none", None), ("eps10", 10.0), ("eps1", 1.0))},
    **{
        f"flower_engine_{dataset}_{clients}c_{engine}": engine_case(engine, dataset, clients)
        for dataset, sizes in (("digits", (10, 100)), ("cifar10", (10, 100, 1000)))
        for clients in sizes
        for engine in ("local", "flower")
    },
}
