"""Batch label restoration strategies by name (`--label_strategy`), each in its own module.

- count: class counts from the bias gradient and the model's mean output on random images
  (attacks/labels.py; exact iDLG rule at batch 1);
- llg: LLG, Wainakh et al. 2022 (attacks/labels_llg.py);
- ilrg: iLRG, Ma et al. 2023 (attacks/labels_ilrg.py).

Each reads the last layer of `obs.gradient`, which for a client that shared a weight update is
its pseudo-gradient, -update / (lr x steps). Labels come back sorted by class.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from fedprivacy.attacks import labels, labels_ilrg, labels_llg
from fedprivacy.attacks.options import option
from fedprivacy.fl.observation import Observation

STRATEGIES: dict[str, Callable[[Observation, torch.Generator | None], torch.Tensor]] = {
    "count": labels.restore_labels,
    "llg": labels_llg.restore,
    "ilrg": labels_ilrg.restore,
}


@dataclass(frozen=True)
class LabelOptions:
    """The option of every attack that restores labels with a named strategy (idlg, the Inverting
    Gradients variants)."""

    label_strategy: str = option(
        "count",
        "how the server restores the batch labels from the last layer's gradient: count estimation, "
        "LLG (Wainakh et al.) or iLRG (Ma et al.); see attacks/label_strategies.py",
        choices=tuple(STRATEGIES),
    )


def restore(obs: Observation, strategy: str = "count", generator: torch.Generator | None = None) -> torch.Tensor:
    """The private batch's labels by the named strategy (a ValueError if the model does not fit it)."""
    return STRATEGIES[strategy](obs, generator)
