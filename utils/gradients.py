"""Gradients of a model at given parameters (torch.func), and distances between gradients."""

from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap


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


def func_model_gradient(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
    create_graph: bool = True,
) -> tuple[torch.Tensor, ...]:
    """model_gradient written with torch.func.grad, so it runs under vmap (autograd.grad cannot); the
    result stays differentiable w.r.t. `images` by ordinary autograd (`create_graph` is taken for
    model_gradient's signature; the graph is always kept). BatchNorm may update `buffers` in place, so
    under vmap each trial needs its own copy (trial_buffers)."""

    def loss(params: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(functional_call(model, (params, state), (images,)), targets)

    return tuple(grad(loss)(parameters, buffers).values())


def trial_buffers(buffers: dict[str, torch.Tensor], trials: int) -> dict[str, torch.Tensor]:
    """One copy of every buffer per trial (leading dimension `trials`), for in-place BatchNorm updates under vmap."""
    return {name: buffer.expand(trials, *buffer.shape).clone() for name, buffer in buffers.items()}


def over_trials(
    per_trial: Callable[..., tuple[torch.Tensor, ...]],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """`per_trial(own_buffers, images, targets)` for R independent trials at once (vmap): `images` is
    R x B x C x H x W and `targets` R x B labels or R x B x K probabilities; each trial gets its own copy
    of `buffers`, and each returned tensor has a leading dimension R."""
    return vmap(per_trial)(trial_buffers(buffers, len(images)), images, targets)


def batched_model_gradient(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """The model gradients of R independent batches at once (over_trials of func_model_gradient)."""
    return over_trials(partial(func_model_gradient, model, parameters), buffers, images, targets)


def squared_distance(first: Sequence[torch.Tensor], second: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over all tensors of the squared element-wise difference (the DLG objective)."""
    return sum(((a - b) ** 2).sum() for a, b in zip(first, second, strict=True))


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels (anisotropic TV)."""
    dx = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().mean()
    dy = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().mean()
    return dx + dy
