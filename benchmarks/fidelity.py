"""The fidelity ledger's harness: one shared observation, three implementations, one row.

Ours runs in this process through `run_ours`, the one function that drives our attacks (so a change of the
attack configuration API is a change here only). The original implementation and the paper's official code
run from their fetched checkouts (benchmarks/references.md) in the references' virtual environment, through
the drivers in benchmarks/fidelity_drivers/, which receive the same weights, private batch, shared gradient
or update and settings, check that their own gradient of the batch equals the shared one, and answer with
their reconstruction. All three are scored here the same way, in pixel space.
"""

import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import ROOT, Skipped  # noqa: E402
from fedprivacy.attacks import get_attack  # noqa: E402
from fedprivacy.data import Normalization  # noqa: E402
from fedprivacy.evaluation.metrics import label_accuracy, psnr, ssim  # noqa: E402
from fedprivacy.evaluation.pairing import pair_by_mse  # noqa: E402
from fedprivacy.evaluation.report import bare, show_image  # noqa: E402
from fedprivacy.fl.exchange import client_share, share_gradient  # noqa: E402
from fedprivacy.fl.observation import LocalTraining, Observation  # noqa: E402

REFS = Path(os.environ.get("FIDELITY_REFS", ROOT.parent / "refs"))
DRIVERS = Path(__file__).with_name("fidelity_drivers")
THREADS = 1
RECOGNISED = 0.5  # SSIM above which an image counts as recognisable
IMPLEMENTATIONS = ("ours", "original", "official")


@dataclass(frozen=True)
class Reference:
    """A fetched implementation: its GitHub repository, the commit measured, its checkout folder under REFS and
    the driver that runs it."""

    repository: str
    commit: str
    folder: str
    driver: str

    @property
    def path(self) -> Path:
        return REFS / self.folder

    def require(self) -> Path:
        """The checkout; a missing one (or a missing references venv) skips the case with how to get it."""
        python = REFS / "venv" / "bin" / "python"
        if not (self.path / ".").is_dir():
            raise Skipped(
                f"{self.repository} is not at {self.path}: git clone https://github.com/{self.repository} "
                f"{self.path} && git -C {self.path} checkout {self.commit[:7]} (benchmarks/references.md)"
            )
        if not python.is_file():
            raise Skipped(f"no references venv at {REFS / 'venv'}: python -m benchmarks.fidelity_env")
        return python


@dataclass
class Shared:
    """The one observation every implementation attacks: our Observation of the private batch (pixel images
    `images`, `labels`), and, for a FedAvg update, the FedSGD gradient of the same batch for the gap check."""

    obs: Observation
    images: torch.Tensor
    labels: torch.Tensor
    batch_gradient: tuple[torch.Tensor, ...]
    extra: dict = field(default_factory=dict)  # artefacts a reference needs beside the observation (a generator)


@dataclass
class Outcome:
    """One implementation's answer, in pixel space, and what it cost."""

    images: torch.Tensor
    labels: torch.Tensor | None
    seconds: float
    iterations: int
    gradient_gap: float | None = None
    patched: list[str] = field(default_factory=list)


def observe(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    mode: str,
    local: LocalTraining | None = None,
    grant_labels: bool = False,
    **extra: object,
) -> Shared:
    """The shared observation of a pixel-space batch: gradient (FedSGD) or update after `local` training."""
    normalised = normalization.normalize(images)
    obs = client_share(model, normalised, labels, normalization, mode, local, grant_labels=grant_labels)
    gradient = (
        obs.gradient if local is None else share_gradient(model, normalised, labels, normalization, mode).gradient
    )
    return Shared(obs, images, labels, tuple(gradient), dict(extra))


def run_ours(attack: str, shared: Shared, settings: dict, iterations: int = 0) -> Outcome:
    """Our attack on the shared observation. `settings`: the attack's options by field name (attacks/config/) and
    the run's seed; `iterations` counts the work where the attack's statistics do not. The one place the fidelity
    ledger drives our attacks."""
    spec = get_attack(attack)
    config = spec.configure(**settings, progress=False)
    started = time.perf_counter()
    result = spec.run(shared.obs, config)
    seconds = time.perf_counter() - started
    pixels = shared.obs.normalization.denormalize(result.images).clamp(0, 1)
    return Outcome(pixels, result.labels, seconds, int(result.stats.get("iterations", iterations)))


def run_reference(
    reference: Reference, attack: str, shared: Shared, settings: dict, iterations: int, seed: int = 0
) -> Outcome:
    """Run `reference`'s driver on the shared observation with `settings` (torch seeded with `seed` first); its
    answer in pixel space."""
    python = reference.require()
    obs = shared.obs
    local = obs.local_training
    request = {
        "reference": str(reference.path),
        "attack": attack,
        "threads": THREADS,
        "seed": seed,
        "model": obs.model_in_mode(),
        "parameters": [p.detach() for p in obs.parameters().values()],
        "model_mode": obs.model_mode,
        "images": obs.normalization.normalize(shared.images),
        "true_labels": shared.labels,
        "num_classes": obs.num_classes,
        "gradient": list(shared.batch_gradient),
        "update": None if obs.update is None else list(obs.update),
        "local": None if local is None else {"steps": obs.local_steps(), "lr": local.lr},
        "normalization": (obs.normalization.mean, obs.normalization.std),
        "settings": settings,
        "iterations": iterations,
        **shared.extra,
    }
    with tempfile.TemporaryDirectory(prefix="fidelity-") as folder:
        # the checkout importable as `fedprivacy` only (to unpickle the shared model), not its top-level folders,
        # whose names (models, utils, data) the references use for their own modules
        (Path(folder) / "site").mkdir()
        (Path(folder) / "site" / "fedprivacy").symlink_to(ROOT)
        env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
        env["PYTHONPATH"] = str(Path(folder) / "site")
        paths = [Path(folder) / "request.pt", Path(folder) / "answer.pt"]
        torch.save(request, paths[0])
        done = subprocess.run(
            [str(python), str(DRIVERS / reference.driver), *map(str, paths)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"{reference.driver} ({reference.repository}) failed: {lines[-3:]}")
        answer = torch.load(paths[1], weights_only=False)
    images = answer["images"]
    if answer["space"] == "normalised":
        images = obs.normalization.denormalize(images)
    return Outcome(
        images.clamp(0, 1),
        answer["labels"],
        answer["seconds"],
        int(answer.get("iterations", iterations)),
        answer.get("gradient_gap"),
        answer["patched"],
    )


@dataclass
class Tally:
    """One implementation's scores over all the case's images."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    labels_right: float = 0.0
    labelled: int = 0
    seconds: float = 0.0
    iterations: int = 0
    gaps: list[float] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    shown: list[torch.Tensor] = field(default_factory=list)

    def add(self, outcome: Outcome, truth: torch.Tensor, labels: torch.Tensor, sign_free: bool) -> None:
        """Score one answer against its private batch: reconstructions paired 1:1 with the truth by optimal
        assignment (grey fills a missing one); with `sign_free`, an image scores as its negative where that is
        closer (CPA recovers sources up to sign; the CPA authors' evaluation does the same)."""
        images = outcome.images
        if len(images) < len(truth):
            images = torch.cat([images, torch.full((len(truth) - len(images), *truth.shape[1:]), 0.5)])
        images = images[pair_by_mse(images, truth)]
        if sign_free:
            flipped = 1 - images
            closer = ((flipped - truth) ** 2).flatten(1).mean(1) < ((images - truth) ** 2).flatten(1).mean(1)
            images = torch.where(closer.view(-1, 1, 1, 1), flipped, images)
        self.psnr += psnr(images, truth).tolist()
        self.ssim += ssim(images, truth).tolist()
        if outcome.labels is not None:
            self.labels_right += label_accuracy(outcome.labels.flatten(), labels) * len(labels)
            self.labelled += len(labels)
        self.seconds += outcome.seconds
        self.iterations += outcome.iterations
        if outcome.gradient_gap is not None:
            self.gaps.append(outcome.gradient_gap)
        self.patched = list(dict.fromkeys([*self.patched, *outcome.patched]))
        self.shown.append(images)

    def columns(self, name: str) -> dict:
        count = len(self.psnr)
        return {
            f"{name}_psnr": sum(self.psnr) / count,
            f"{name}_ssim": sum(self.ssim) / count,
            f"{name}_label_acc": self.labels_right / self.labelled if self.labelled else None,
            f"{name}_recognised": sum(s > RECOGNISED for s in self.ssim) / count,
            f"{name}_seconds": self.seconds,
            f"{name}_s_per_it": self.seconds / self.iterations if self.iterations else None,
        }


def save_ledger_grid(truth: torch.Tensor, rows: dict[str, torch.Tensor], captions: dict[str, list[str]], path: Path):
    """The ground truth over one row per implementation (pixel images), a PSNR caption under each image."""
    count, names = len(truth), list(rows)
    figure, axes = plt.subplots(1 + len(names), count, figsize=(1.2 * count + 0.6, 1.35 * (1 + len(names))))
    axes = axes.reshape(1 + len(names), count)
    for axis in axes.flat:
        bare(axis)
    for row, (name, images) in enumerate([("truth", truth), *rows.items()]):
        axes[row, 0].set_ylabel(name, fontsize=8)
        for column in range(count):
            show_image(axes[row, column], images[column])
            if row:
                axes[row, column].set_title(captions[name][column], fontsize=6, y=-0.22)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def ledger_row(tallies: dict[str, Tally], truth: torch.Tensor, grid: Path, shown: int = 8) -> dict:
    """The row's measured columns (per implementation, the differences ours minus each reference, the gradient
    gaps and patches) and its grid of the first `shown` images."""
    row = {}
    for name, tally in tallies.items():
        row |= tally.columns(name)
    for name in tallies:
        if name != "ours":
            row[f"ours_minus_{name}_db"] = row["ours_psnr"] - row[f"{name}_psnr"]
    for name, tally in tallies.items():
        if name != "ours":
            row[f"{name}_gradient_gap"] = max(tally.gaps) if tally.gaps else None
            row[f"{name}_patched"] = "; ".join(tally.patched) or "nothing"
    images = {name: torch.cat(tally.shown)[:shown] for name, tally in tallies.items()}
    captions = {name: [f"{p:.1f} dB" for p in tallies[name].psnr[:shown]] for name in tallies}
    save_ledger_grid(truth[:shown], images, captions, grid)
    row["grid"] = str(grid.relative_to(ROOT))
    return row


def scaled(default: int, factor: float) -> int:
    """A reference default budget scaled by the case's factor (at least 1)."""
    return max(1, math.ceil(default * factor))
