"""Gradient pruning (DLG section 6; the 'gradient compression' of GGL's defense set)."""

import math
from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.defenses.base import Defense, Tensors


def prune_smallest(tensor: torch.Tensor, ratio: float) -> torch.Tensor:
    """`tensor` with its floor(ratio x size) smallest-magnitude entries set to zero (the rest kept exactly)."""
    drop = math.floor(ratio * tensor.numel())
    if drop == 0:
        return tensor
    flat = tensor.flatten()
    kept = flat.abs().topk(flat.numel() - drop).indices
    pruned = torch.zeros_like(flat)
    pruned[kept] = flat[kept]
    return pruned.view_as(tensor)


@dataclass(frozen=True)
class Pruning(Defense):
    """In every shared tensor (layer by layer), the `prune_ratio` share of entries with the smallest
    magnitude is set to zero; 0.9 keeps the largest 10%."""

    prune_ratio: float
    name = "prune"

    def protect(self, shared: Tensors, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        return tuple(prune_smallest(t, self.prune_ratio) for t in shared)
