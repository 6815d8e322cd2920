"""Gradients of a model at given parameters (torch.func), and distances between gradients."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


def model_gradient(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
    create_graph: bool = True,
) -> tuple[torch.Tensor, ...]:
    """Gradient of the mean cross-entropy w.r.t. `parameters`; `targets` are labels or probabilities.

    `parameters` must require grad. The model runs functionally, so any nn.Module works (BatchNorm
    buffers included); `create_graph` keeps the graph so the result can be differentiated again.
    """
    logits = functional_call(model, (parameters, buffers), (images,))
    loss = F.cross_entropy(logits, targets)
    return torch.autograd.grad(loss, tuple(parameters.values()), create_graph=create_graph)


def squared_distance(first: Sequence[torch.Tensor], second: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over all tensors of the squared element-wise difference (the DLG objective)."""
    return sum(((a - b) ** 2).sum() for a, b in zip(first, second, strict=True))


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels (anisotropic TV)."""
    dx = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().mean()
    dy = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().mean()
    return dx + dy
