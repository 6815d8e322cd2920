"""The unit the evaluation scores: what the server observed of one batch, beside the private truth."""

from dataclasses import dataclass, field

import torch

from fedprivacy.fl.observation import Observation


@dataclass
class Case:
    """One attacked batch: what the server observed and the private truth kept for scoring."""

    observation: Observation
    images: torch.Tensor  # private, [0, 1]
    labels: torch.Tensor  # private
    meta: dict = field(default_factory=dict)
