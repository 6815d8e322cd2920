"""Norm clipping of the whole shared gradient or update, and the norm helpers DP-SGD shares."""

from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.defenses.base import Defense, Tensors


def l2_norm(tensors: Tensors) -> torch.Tensor:
    """The global L2 norm of all tensors together (as one flat vector)."""
    return torch.stack([t.pow(2).sum() for t in tensors]).sum().sqrt()


def clip_scale(norms: torch.Tensor, bound: float) -> torch.Tensor:
    """min(1, bound / norm): the factor that brings the norm down to `bound` and leaves a smaller one alone."""
    return (bound / norms.clamp_min(torch.finfo(norms.dtype).tiny)).clamp(max=1.0)


@dataclass(frozen=True)
class Clipping(Defense):
    """Scales the shared tensors together so that their global L2 norm is at most `clip_norm`."""

    clip_norm: float
    name = "clip"

    def protect(self, shared: Tensors, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        scale = clip_scale(l2_norm(shared), self.clip_norm)
        return tuple(t * scale for t in shared)
