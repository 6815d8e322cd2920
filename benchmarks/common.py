"""Helpers for benchmark cases: the shared real data, a case's run as data (an attack preset, overrides of its
options, the rest of its flags and its data), running main_grad, and row building."""

import platform
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

import main_grad
from fedprivacy.data import ImageSplit, load_split

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CIFAR10 = SHARED / "data" / "cifar10_subset.npz"
MNIST = SHARED / "data" / "mnist_test.npz"
RESNET20 = SHARED / "weights" / "resnet20_cifar10.th"
IMAGES = ROOT / "benchmarks" / "images"


class Skipped(Exception):
    """A case cannot run on this machine (missing data, no package registry); it is skipped with one line why."""


class MissingData(Skipped):
    """The shared evaluation data is not beside the checkout; the case is skipped."""


def require(path: Path) -> Path:
    if not path.exists():
        raise MissingData(f"{path} is missing")
    return path


@dataclass(frozen=True)
class Data:
    """A case's data: a dataset of the catalogue, the file or folder it lives in (None: an embedded one), and
    how the case prepares it (e.g. --normalize, --image_size 32)."""

    dataset: str
    path: Path | None = None
    flags: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        """The entry scripts' data flags (refused with MissingData when the shared file is not there)."""
        place = [] if self.path is None else ["--base_data_dir", str(require(self.path))]
        return ["--dataset", self.dataset, *place, *self.flags]

    def split(self, name: str = "test") -> ImageSplit:
        """One split, loaded as the entry scripts load it (data.load_split), for cases that call the API."""
        return load_split(self.dataset, name, "data_files" if self.path is None else require(self.path))


CIFAR10_SUBSET = Data("npz", CIFAR10)  # 5,000 training and 1,000 test images of CIFAR-10
MNIST_TEST = Data("npz", MNIST)  # the 10,000 MNIST test images


@dataclass(frozen=True)
class Run:
    """A case's run of an entry script: `attack`, a preset (`dlg.paper`) or an attack at its defaults (`rtf`),
    with some of its `options` overridden (field -> value), on `data`, with the other `flags` (model, batches,
    client, defense, server)."""

    attack: str
    data: Data
    flags: tuple[str, ...] = ()
    options: Mapping[str, object] = field(default_factory=dict)

    def argv(self) -> list[str]:
        name = self.attack.partition(".")[0]
        head = ["--preset", self.attack] if "." in self.attack else ["--attack", self.attack]
        overrides = []
        for key, value in self.options.items():
            if value is not False:
                overrides += [f"--{name}.{key}"] if value is True else [f"--{name}.{key}", str(value)]
        return [*head, *self.data.argv(), *self.flags, *overrides]


def run_grad(*flags: str, stem: str | None = None) -> dict:
    """Run main_grad.py with these flags (quietly) and return its report. Its grid and JSON go to
    benchmarks/images under main_grad's name, or under <stem>.* when given: that run writes to a scratch
    folder first, so that it cannot replace another case's grid of the same main_grad name."""
    if stem is None:
        return main_grad.main([*flags, "--quiet", "--overwrite", "--out_dir", str(IMAGES)])
    with tempfile.TemporaryDirectory(dir=IMAGES.parent) as scratch:
        report = main_grad.main([*flags, "--quiet", "--out_dir", scratch])
        grid, target = Path(report["grid"]), IMAGES / f"{stem}.png"
        grid.replace(target)
        grid.with_suffix(".json").replace(target.with_suffix(".json"))
    report["grid"] = str(target)
    return report


def row_from_report(report: dict, **extra: object) -> dict:
    """The standard columns of a gradient-attack row from a main_grad report."""
    args, summary = report["args"], report["summary"]
    counted = [e["iterations"] for e in report["experiments"] if "iterations" in e]  # cpa, rtf count none
    iterations = sum(counted) if counted else None
    return {
        "attack": args["attack"],
        "model": args["model"],
        "dataset": args["dataset"],
        "batch": args["rec_batch_size"],
        "images": summary["images"],
        "psnr_mean": summary["psnr"],
        "psnr_median": summary["psnr_median"],
        "ssim": summary["ssim"],
        "label_acc": summary["label_acc"],
        "success_rate": summary["success_rate"],
        "seconds": summary["seconds"],
        "it_per_s": iterations / summary["seconds"] if iterations is not None and summary["seconds"] else None,
        "threads": report.get("threads"),
        "grid": str(Path(report["grid"]).relative_to(ROOT)),
        **extra,
    }


def machine() -> str:
    """Where a result was measured: processor, torch threads and version."""
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
