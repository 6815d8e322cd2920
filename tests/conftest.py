"""Shared set-up: one torch thread per test process (pytest-xdist runs two processes; these tiny
models run fastest single-threaded; OMP_NUM_THREADS=1 also makes the entry scripts' --threads default 1,
so that neither an in-process run nor a subprocess oversubscribes the cores), a fixed seed per test,
the embedded CIFAR-10 sample and the path of the optional shared data."""

import os
from pathlib import Path

import pytest
import torch

from fedprivacy.data import load_split

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def cifar_sample():
    return load_split("cifar10_sample")
