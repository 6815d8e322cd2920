"""Shared set-up: one torch thread per test process (pytest-xdist runs two processes; these tiny
models run fastest single-threaded), a fixed seed per test, the embedded CIFAR-10 sample and the
path of the optional shared data."""

from pathlib import Path

import pytest
import torch

from data import load_split

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def cifar_sample():
    return load_split("cifar10_sample")
