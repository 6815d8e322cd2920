"""The sink that attacks audited replies: one registered attack per Observation, off the round's critical path
(queued and run by one worker thread while the federation goes on; `wait=True` runs it inside the round).
Before each attack it prints the cost estimate, then the attack's progress (log lines where no terminal
shows a bar), then one summary line; it writes `{name}_{attack}_r{round}_n{node}` as a PNG, the JSON with
the verdict and its evidence, and an .npz of the reconstructed pixels (and the inputs read off in closed
form), never overwriting. Without ground truth (a real deployment) the verdict rests on the attack's own
match and its restarts; with a TruthChannel (simulation) the result is scored as main_fed's is."""

import contextlib
import math
import queue
import sys
import threading
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack  # noqa: E402
from fedprivacy.attacks.base import check_observation  # noqa: E402
from fedprivacy.attacks.cost import estimate_cost  # noqa: E402
from fedprivacy.evaluation.report import (  # noqa: E402
    output_paths,
    save_figure,
    save_grid,
    show_image,
    verdict_words,
    write_json,
)
from fedprivacy.evaluation.runner import Attempt, attempt, run_result, scored  # noqa: E402
from fedprivacy.fl.case import Case  # noqa: E402
from fedprivacy.fl.observation import Observation  # noqa: E402
from fedprivacy.flower.truth import Private, TruthChannel  # noqa: E402
from fedprivacy.utils.atomic import write_together  # noqa: E402
from fedprivacy.utils.errors import UsageError  # noqa: E402

AUDIT_RESTARTS = 2  # the audit's default: two trials at least, so the verdict measures their spread


def attack_setup(name: str, preset: str | None = None, **settings) -> tuple[AttackSpec, AttackConfig]:
    """The registered attack `name` with its defaults, then its `preset`, then `settings` (its options and the
    run's knobs by name, attacks/spec.py); an attack that restarts runs AUDIT_RESTARTS trials unless told
    otherwise, none stopping before two finished (an attack without restarts ignores a trial count); an attack
    the audit cannot serve is a one-line error at start-up."""
    spec = get_attack(name)
    if spec.needs.imprint:
        raise UsageError(f"attack {name} needs the server's imprint block before the model; the audit has none")
    if spec.budget(spec.options_with(preset)).restarts:
        settings = {"restarts": AUDIT_RESTARTS, "min_trials": AUDIT_RESTARTS, **settings}
    else:
        settings.pop("restarts", None)
    return spec, spec.configure(preset, **settings)


class AttackAudit:
    """Attack each Observation handed over by an AuditingStrategy and write `{name}_{attack}_r{round}_n{node}`;
    `wait=False` (default) queues it for a worker thread, `finish()` waits for the queue to empty. `threads`
    sets torch's CPU threads for the attack (None: as they are): where the clients run on the same cores (a
    simulation), more than one thread makes OpenMP's threads wait on each other, up to 50 times slower."""

    def __init__(
        self,
        attack: str,
        out_dir: str | Path,
        truth: TruthChannel | None = None,
        overwrite: bool = False,
        name: str = "flower",
        wait: bool = False,
        threads: int | None = None,
        preset: str | None = None,
        **settings,
    ) -> None:
        self.spec, self.config = attack_setup(attack, preset, **settings)
        self.out_dir, self.truth, self.overwrite, self.name = Path(out_dir), truth, overwrite, name
        self.wait, self.threads = wait, threads
        self.reports: list[dict] = []
        self.pending: queue.Queue = queue.Queue()
        self.worker: threading.Thread | None = None

    def __call__(self, server_round: int, node: int, observation: Observation) -> None:
        if self.wait:
            self.audit(server_round, node, observation)
            return
        if self.worker is None:  # one worker for the run's lifetime: it waits on the queue
            self.worker = threading.Thread(target=self.work, name="attack-audit", daemon=True)
            self.worker.start()
        self.pending.put((server_round, node, observation))
        say(f"audit of round {server_round} node {node} queued ({self.pending.qsize()} waiting): the round goes on")

    def work(self) -> None:
        """The worker: audit queued observations one by one, as they come."""
        while True:
            item = self.pending.get()
            try:
                self.audit(*item)
            except Exception:  # one failed audit is reported and the others go on
                say(f"audit of round {item[0]} node {item[1]} failed:\n{traceback.format_exc()}")
            finally:
                self.pending.task_done()

    def finish(self) -> None:
        """Wait until every queued audit is written (the ServerApp must not exit before)."""
        if self.pending.unfinished_tasks:
            say(f"waiting for {self.pending.unfinished_tasks} queued audit(s) to finish")
        self.pending.join()

    def audit(self, server_round: int, node: int, observation: Observation) -> dict:
        """Estimate, attack, judge, write and summarise one audited reply."""
        where = f"audit of round {server_round} node {node}"
        if self.threads:
            torch.set_num_threads(self.threads)
        estimate = None
        with contextlib.suppress(UsageError):  # the attack cannot serve this reply: the attempt says so
            check_observation(self.spec, observation)
            estimate = estimate_cost(self.spec, observation, self.config)
            say(f"{where}: {estimate.line()}")
        tried = attempt(self.spec, self.config, observation)
        private = None if self.truth is None else self.truth.take(server_round, node)
        stem = f"{self.name}_{self.spec.name}_r{server_round}_n{node}"
        png, json_path = output_paths(self.out_dir, stem, self.overwrite)
        local = observation.local_training
        report = {
            "round": server_round,
            "node": node,
            **({} if private is None or private.partition is None else {"partition": private.partition}),
            "attack": self.spec.name,
            "attack_settings": {**vars(self.config.options), "min_trials": self.config.min_trials},
            "num_images": observation.num_images,
            "local_training": None if local is None else vars(local),
            "status": tried.status,
            **({} if tried.error is None else {"error": tried.error}),
            "threads": torch.get_num_threads(),
            "cost_estimate": None if estimate is None else estimate.describe(),
            "seconds": tried.seconds,
        }
        if private is None:
            report |= self.unscored(observation, tried)
            writers = self.unscored_writers(tried, observation, png)
        else:
            report, writers = self.score(observation, tried, private, png, report)
        report["grid"] = str(png) if png in writers else None
        writers[json_path] = lambda path: write_json(path, report)
        write_together(writers)
        self.reports.append(report)
        say(summary(where, report, json_path))
        return report

    def unscored(self, observation: Observation, tried: Attempt) -> dict:
        """No ground truth: the verdict on the attack's own evidence, its statistics, the restored labels."""
        found = tried.verdict(observation).record()
        if tried.result is None:
            return {"scored": False, **found}
        labels = [int(y) for y in tried.result.labels.cpu()]
        return {"scored": False, "restored_labels": labels, "stats": tried.result.stats, **found}

    def unscored_writers(self, tried: Attempt, observation: Observation, png: Path) -> dict:
        if tried.result is None:
            return {}
        pixels = observation.normalization.denormalize(tried.result.images.detach().cpu()).clamp(0, 1)
        labels = tried.result.labels.cpu()
        return {
            png: lambda path: save_reconstructions(pixels, [f"label {int(y)}" for y in labels], path),
            png.with_suffix(".npz"): lambda path: save_arrays(path, pixels, labels, tried),
        }

    def score(self, observation: Observation, tried: Attempt, private: Private, png: Path, report: dict):
        """Simulation: score against the private batch handed over the separate channel, as main_fed does."""
        outcome = scored(tried, Case(observation, private.pixels, private.labels, {}), 0)
        run = run_result([outcome])
        experiment = run.experiments[0]
        report |= {
            "scored": True,
            "verdict": experiment["verdict"],
            "verdict_evidence": experiment["verdict_evidence"],
            "summary": run.summary,
            "per_image": run.per_image,
            "experiments": run.experiments,
        }
        captions = ["diverged" if row["psnr"] is None else f"{row['psnr']:.1f} dB" for row in run.per_image]
        writers = {png: lambda path: save_grid(run.truth, run.reconstructed, captions, path)}
        if tried.result is not None:
            labels = tried.result.labels.cpu()
            writers[png.with_suffix(".npz")] = lambda path: save_arrays(path, run.reconstructed, labels, tried)
        return report, writers


def say(line: str) -> None:
    """One line on stderr, where Flower's logs (and a terminal) show it."""
    print(line, file=sys.stderr, flush=True)


def summary(where: str, report: dict, json_path: Path) -> str:
    """One line: the attack, its verdict, what the share gave away in closed form, PSNR when scored."""
    evidence = report.get("verdict_evidence", {})
    analytic = evidence.get("analytic", {}).get("summary")
    psnr = report.get("summary", {}).get("psnr") if report.get("scored") else None
    parts = [
        f"{where}: {report['attack']}",
        verdict_words({report["verdict"]: 1}),
        *([f"analytic: {analytic}"] if analytic else []),
        *([f"PSNR {psnr:.2f} dB"] if psnr is not None else []),
        str(json_path),
    ]
    return " | ".join(parts)


def save_arrays(path: Path, pixels: torch.Tensor, labels: torch.Tensor, tried: Attempt) -> None:
    """The reconstructed pixels ([0, 1], N C H W), their labels, and the layer inputs read off in closed form."""
    arrays = {"pixels": pixels.numpy().astype(np.float32), "labels": labels.numpy()}
    if tried.leakage is not None:
        arrays |= {name: value.numpy() for name, value in tried.leakage.arrays().items()}
    with open(path, "wb") as handle:  # a file object: numpy would add .npz to a temporary name
        np.savez(handle, **arrays)


def save_reconstructions(pixels: torch.Tensor, captions: list[str], path: Path, columns: int = 10) -> None:
    """The reconstructed images alone ([0, 1], N C H W), a caption under each: a deployment has no truth."""
    columns = min(columns, len(pixels))
    rows = math.ceil(len(pixels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for index, image in enumerate(pixels):
        axis = axes[divmod(index, columns)]
        show_image(axis, image)
        axis.set_title(captions[index], fontsize=7, y=-0.28)
    figure.tight_layout()
    save_figure(figure, path)
