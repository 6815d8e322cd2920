"""Shared fixtures: the embedded CIFAR-10 sample and paths to the optional shared data."""

from pathlib import Path

import pytest
import torch

from data import load_split

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def cifar_sample():
    return load_split("cifar10_sample")
