"""Side by side with breaching 0.1.2 (Geiping et al.'s library): DLG on LeNet and Inverting Gradients on
ResNet-18, both on the same model weights, CIFAR-10 test images, shared gradient and iteration count.

breaching runs in its own virtual environment (benchmarks/breaching_env.py) through
benchmarks/breaching_driver.py, which rebuilds its own `lenet_zhu` / CIFAR `resnet18`, loads our parameters and
checks that it computes the same gradient of the true batch. Each side attacks with its own published settings,
one thread, the two alternating image by image; both reconstructions are scored by evaluation/metrics.py in
pixel space (denormalised, clamped to [0, 1]).
"""

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks import breaching_env
from benchmarks.common import CIFAR10_SUBSET
from fedprivacy.attacks import ATTACKS
from fedprivacy.data import Normalization
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.fl.exchange import client_share
from fedprivacy.models import build_model

TABLE = "Speed: side by side with breaching 0.1.2"
DRIVER = Path(__file__).with_name("breaching_driver.py")
THREADS = 1
# breaching's CIFAR-10 constants (its config case/data/CIFAR10.yaml), used by both sides for IG.
CIFAR10_NORMALIZATION = Normalization(
    (0.4914672374725342, 0.4822617471218109, 0.4467701315879822),
    (0.24703224003314972, 0.24348513782024384, 0.26158785820007324),
)


@dataclass(frozen=True)
class Setting:
    """One comparison: our attack and model against breaching's, on CIFAR-10 test images `images`."""

    attack: str
    model: str
    breaching_attack: str
    breaching_model: str
    normalization: Normalization
    known_labels: bool
    iterations: int
    options: dict  # our attack's options: its budget (`iterations` in its unit) and settings
    images: tuple[int, ...]
    unit: str
    notes: str


@dataclass
class Side:
    """One side's totals over the images: seconds, timed units, PSNR per image, labels right."""

    seconds: float = 0.0
    units: int = 0
    psnr: list[float] | None = None
    labels_right: int = 0

    def add(self, seconds: float, units: int, score: float, labels_right: int) -> None:
        self.seconds += seconds
        self.units += units
        self.psnr = [*(self.psnr or []), score]
        self.labels_right += labels_right


def breaching_attack(request: dict, python: Path) -> dict:
    """Run the driver in breaching's venv on `request` and return its answer."""
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "request.pt", Path(folder) / "answer.pt"]
        torch.save(request, paths[0])
        done = subprocess.run(
            [str(python), "-I", str(DRIVER), *map(str, paths)], cwd=folder, env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"breaching driver failed: {done.stderr.strip().splitlines()[-3:]}")
        return torch.load(paths[1], weights_only=True)


def side_by_side(setting: Setting):
    """A benchmark row: time per unit of both sides, their ratio, and both PSNRs."""

    def case() -> dict:
        split = CIFAR10_SUBSET.split("test")
        python = breaching_env.ensure()
        norm = setting.normalization
        config = ATTACKS[setting.attack].configure(progress=False, **setting.options)
        ours, theirs, gaps = Side(), Side(), []
        threads = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            for index in setting.images:
                truth, labels = split.batch([index])
                torch.manual_seed(0)
                model = build_model(setting.model, 3, (32, 32), 10)
                obs = client_share(
                    model, norm.normalize(truth), labels, norm, "train", None, grant_labels=setting.known_labels
                )
                started = time.perf_counter()
                result = ATTACKS[setting.attack].run(obs, config)
                seconds = time.perf_counter() - started
                units = result.stats.get("gradient_evaluations", setting.iterations) + 1  # +1: the final scoring
                score = float(psnr(norm.denormalize(result.images).clamp(0, 1), truth)[0])
                ours.add(seconds, units, score, int((result.labels == labels).sum()))
                answer = breaching_attack(
                    {
                        "attack": setting.breaching_attack,
                        "model": setting.breaching_model,
                        "model_mode": "train",
                        "parameters": [p.detach() for p in obs.parameters().values()],
                        "gradient": list(obs.gradient),
                        "images": norm.normalize(truth),
                        "true_labels": labels,
                        "labels": labels if setting.known_labels else None,
                        "mean": norm.mean,
                        "std": norm.std,
                        "iterations": setting.iterations,
                        "seed": index,
                        "threads": THREADS,
                    },
                    python,
                )
                score = float(psnr(norm.denormalize(answer["images"]).clamp(0, 1), truth)[0])
                theirs.add(answer["seconds"], answer["evaluations"] + 1, score, int((answer["labels"] == labels).sum()))
                gaps.append(answer["gradient_gap"])
        finally:
            torch.set_num_threads(threads)
        ours_rate, theirs_rate = ours.seconds / ours.units, theirs.seconds / theirs.units
        return {
            "table": TABLE,
            "attack": f"{setting.attack} / {setting.breaching_attack}",
            "model": f"{setting.model} / {setting.breaching_model}",
            "images": ",".join(map(str, setting.images)),
            "iterations": setting.iterations,
            "time_per": setting.unit,
            "ours_s_per_it": ours_rate,
            "breaching_s_per_it": theirs_rate,
            "ratio": ours_rate / theirs_rate,
            "target_ratio_at_most": 1.0,
            "ours_units": ours.units,
            "breaching_units": theirs.units,
            "ours_seconds": ours.seconds,
            "breaching_seconds": theirs.seconds,
            "ours_psnr": float(np.mean(ours.psnr)),
            "breaching_psnr": float(np.mean(theirs.psnr)),
            "ours_psnr_per_image": [round(p, 2) for p in ours.psnr],
            "breaching_psnr_per_image": [round(p, 2) for p in theirs.psnr],
            "ours_labels_right": ours.labels_right,
            "breaching_labels_right": theirs.labels_right,
            "gradient_gap": max(gaps),
            "threads": THREADS,
            "notes": setting.notes,
        }

    return case


def ig_setting(tv: float, notes: str) -> Setting:
    """IG on ResNet-18, CIFAR-10 test image 0, labels given to both, 200 iterations; ours at TV weight `tv`."""
    return Setting(
        attack="ig_single",
        model="resnet18",
        breaching_attack="invertinggradients",
        breaching_model="resnet18",
        normalization=CIFAR10_NORMALIZATION,
        known_labels=True,
        iterations=200,
        options={"iterations": 200, "lr": 0.1, "tv": tv},
        images=(0,),
        unit="iteration",
        notes="IG with labels given to both: signed Adam lr 0.1, step decay at 3/8, 5/8, 7/8, pixel box, CIFAR-10 "
        f"normalisation; {notes}; untrained ResNet-18 in training mode (batch statistics); 200 iterations instead "
        "of the paper's 24,000, for CPU",
    )


CASES = {
    "breaching_dlg_lenet": side_by_side(
        Setting(
            attack="dlg",
            model="lenet",
            breaching_attack="deepleakage",
            breaching_model="lenet_zhu",
            normalization=Normalization.identity(3),
            known_labels=False,
            iterations=300,
            options={"steps": 300, "lr": 1.0, "tv": 0.0},
            images=(0, 1),
            unit="gradient evaluation",
            notes="DLG as published on both sides: images and soft labels learnt jointly by L-BFGS (lr 1, 20 "
            "iterations a step), 300 steps, unnormalised [0, 1] images; ours takes strong-Wolfe line-search steps "
            "and stops at L-BFGS's tolerance, breaching's plain steps run all 300, so time is per gradient "
            "evaluation (closure calls counted on both sides, +1 final scoring pass each); breaching's returned "
            "labels are the argmax of a random template, not of its learnt labels (0.1.2's joint attacker returns "
            "`labels.argmax()` of the template it drew for the shape)",
        )
    ),
    "breaching_ig_resnet18": side_by_side(ig_setting(1e-6, "each side's default TV weight: ours 1e-6, breaching 0.2")),
    "breaching_ig_resnet18_tv02": side_by_side(
        ig_setting(
            0.2,
            "both at breaching's TV weight 0.2 (both TVs are mean |dx| + mean |dy|; breaching's also "
            "counts the image border against zero padding)",
        )
    ),
}
