"""The shared attack interface: settings in, reconstructed images and labels out."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from fl.observation import LocalTraining, Observation


@dataclass(frozen=True)
class AttackConfig:
    """Settings common to the optimisation attacks; each attack documents which it uses."""

    rec_epochs: int
    rec_lr: float
    tv: float
    restarts: int = 1
    seed: int = 0
    progress: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)  # attack-specific flags, by dest name


@dataclass
class Reconstruction:
    """An attack's answer: images in the normalised space (clamped to the pixel box) and labels."""

    images: torch.Tensor
    labels: torch.Tensor
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Flag:
    """An attack-specific command-line flag: argparse's name and keyword arguments.

    Attacks that share a flag import the same Flag object (see attacks/flags.py)."""

    name: str
    kwargs: Mapping[str, Any]

    @property
    def dest(self) -> str:
        return self.name.lstrip("-")


@dataclass(frozen=True)
class AttackSpec:
    """A registered attack: how to run it, its defaults, its own flags and the batches it handles."""

    name: str
    run: Callable[[Observation, AttackConfig], Reconstruction]
    defaults: dict[str, float]
    needs: str
    max_batch: int | None = None
    needs_imprint: bool = False  # the server must put the imprint block (--imprint) before the model
    flags: tuple[Flag, ...] = ()
    restores_labels: bool = False  # reads labels off the gradient (counts from random probe images when B > 1)
    # FedAvg attacks: the client's local training from the run's flags and batch size (None = it shares a gradient)
    client_training: Callable[[Mapping[str, Any], int], LocalTraining] | None = None
