"""DLG and iDLG on LeNet and real CIFAR-10 test images 0-9 and 10-19, and a plain-loop speed baseline."""

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import CIFAR10_SUBSET, Run, row_from_report, run_grad
from fedprivacy.attacks import get_attack
from fedprivacy.data import Normalization
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import build_model

RESTARTS = 8
TABLE = "DLG and iDLG: LeNet, CIFAR-10 test images, batch 1, 300 L-BFGS steps"
SPEED_IMAGES = 3


@dataclass(frozen=True)
class DlgRow:
    """The paper's DLG or iDLG (its preset) with up to RESTARTS trials, on LeNet and 10 CIFAR-10 test images from
    `start`; a variant row (other images, float64) names its grid `stem`, since main_grad's output name carries
    neither and would be the base row's."""

    attack: str
    start: int = 0
    float64: bool = False
    stem: str | None = None

    def run(self) -> Run:
        flags = ("--model", "lenet", "--num_exp", "10", "--start_index", str(self.start))
        return Run(f"{self.attack}.paper", CIFAR10_SUBSET, flags, {"restarts": RESTARTS, "float64": self.float64})


def dlg_case(row: DlgRow):
    def case() -> dict:
        start, float64 = row.start, row.float64
        report = run_grad(*row.run().argv(), stem=row.stem)
        trials = [e.get("trials", 0) for e in report["experiments"]]
        stalled = sum(e.get("stalled_trials", 0) for e in report["experiments"])
        return {
            "table": TABLE,
            "test_images": f"{start}-{start + 9}",
            "precision": "float64" if float64 else "float32",
            **row_from_report(report),
            "median_trials": float(np.median(trials)),
            "stalled_trials": stalled,
            "notes": f"up to {RESTARTS} trials per image; trials used per image {trials}; unnormalised [0, 1] as DLG",
        }

    return case


def plain_dlg(model, gradient, shape, classes, steps, seed) -> int:
    """The textbook DLG loop (about 25 lines, nn.Module forward), returning gradient evaluations."""
    generator = torch.Generator().manual_seed(seed)
    dummy = torch.randn(shape, generator=generator).requires_grad_()
    dummy_label = torch.randn((shape[0], classes), generator=generator).requires_grad_()
    optimizer = torch.optim.LBFGS([dummy, dummy_label], lr=1.0)
    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        optimizer.zero_grad()
        prediction = model(dummy)
        loss = torch.mean(torch.sum(-F.softmax(dummy_label, -1) * F.log_softmax(prediction, -1), 1))
        dummy_gradient = torch.autograd.grad(loss, model.parameters(), create_graph=True)
        difference = sum(((a - b) ** 2).sum() for a, b in zip(dummy_gradient, gradient, strict=True))
        difference.backward()
        return difference

    for _ in range(steps):
        optimizer.step(closure)
    return evaluations


def speed_case() -> dict:
    """Milliseconds per gradient evaluation: our DLG against the plain loop, same images and seeds."""
    split = CIFAR10_SUBSET.split("test")
    identity = Normalization.identity(3)
    ours = plain = ours_evals = plain_evals = 0.0
    for index in range(SPEED_IMAGES):
        torch.manual_seed(0)
        model = build_model("lenet", 3, (32, 32), 10)
        image, label = split.batch([index])
        observation = share_gradient(model, image, label, identity, "train")
        started = time.perf_counter()
        config = get_attack("dlg").configure("paper", seed=index, progress=False)
        ours_evals += get_attack("dlg").run(observation, config).stats["gradient_evaluations"]
        ours += time.perf_counter() - started
        started = time.perf_counter()
        plain_evals += plain_dlg(model, observation.gradient, image.shape, 10, 300, index)
        plain += time.perf_counter() - started
    ours_ms, plain_ms = 1000 * ours / ours_evals, 1000 * plain / plain_evals
    return {
        "table": "Speed: DLG per gradient evaluation against a plain 25-line PyTorch DLG loop (LeNet, CIFAR-10)",
        "images": SPEED_IMAGES,
        "ours_ms_per_eval": ours_ms,
        "plain_ms_per_eval": plain_ms,
        "ratio": ours_ms / plain_ms,
        "notes": "same images, models and L-BFGS settings; one trial each; evaluations counted in each closure",
    }


ROWS = {
    "dlg_lenet": DlgRow("dlg"),
    "dlg_lenet_10_19": DlgRow("dlg", start=10, stem="dlg_lenet_10_19"),
    "idlg_lenet": DlgRow("idlg"),
    "dlg_lenet_10_19_float64": DlgRow("dlg", start=10, float64=True, stem="dlg_lenet_10_19_float64"),
    "idlg_lenet_float64": DlgRow("idlg", float64=True, stem="idlg_lenet_float64"),
}
CASES = {name: dlg_case(row) for name, row in ROWS.items()} | {"dlg_speed_vs_plain": speed_case}
