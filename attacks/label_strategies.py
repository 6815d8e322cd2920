"""Batch label restoration strategies by name (the `label_strategy` option), each in its own module.

- count: class counts from the bias gradient and the model's mean output on random images
  (attacks/labels.py; exact iDLG rule at batch 1);
- llg: LLG, Wainakh et al. 2022 (attacks/labels_llg.py);
- ilrg: iLRG, Ma et al. 2023 (attacks/labels_ilrg.py).

Each reads the last layer of `obs.gradient`, which for a client that shared a weight update is
its pseudo-gradient, -update / (lr x steps). Labels come back sorted by class.
"""

from collections.abc import Callable

import torch

from fedprivacy.attacks import labels, labels_ilrg, labels_llg
from fedprivacy.attacks.config.fields import LABEL_STRATEGIES
from fedprivacy.fl.observation import Observation

STRATEGIES: dict[str, Callable[[Observation, torch.Generator | None], torch.Tensor]] = dict(
    zip(LABEL_STRATEGIES, (labels.restore_labels, labels_llg.restore, labels_ilrg.restore), strict=True)
)


def restore(obs: Observation, strategy: str = "count", generator: torch.Generator | None = None) -> torch.Tensor:
    """The private batch's labels by the named strategy (a ValueError if the model does not fit it)."""
    return STRATEGIES[strategy](obs, generator)
