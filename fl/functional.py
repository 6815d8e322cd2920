"""The client's local training as a differentiable function of its images (torch.func.functional_call).

The weight-update attacks simulate the client's mini-batch SGD on dummy images and differentiate the
resulting weights with respect to those images. Written once for any nn.Module: residual blocks work
unchanged, and BatchNorm buffers are updated exactly as nn.Module training updates them. It follows
fl.client.train_locally and torch.optim.SGD step for step (order, weight decay, momentum).
"""

from collections.abc import Callable

import torch
from torch import nn

from fedprivacy.fl.observation import LocalTraining, in_mode
from fedprivacy.utils.gradients import func_model_gradient, model_gradient, over_trials


def train_functional(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
    local: LocalTraining,
    model_mode: str,
    create_graph: bool = True,
    gradient: Callable[..., tuple[torch.Tensor, ...]] = model_gradient,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Parameters and buffers after `local` training of `model` on `images` with labels (or probabilities)
    `targets`, in `model_mode`. `parameters` must require grad; with `create_graph` the returned parameters
    are differentiable w.r.t. `images` (and the graph is freed by the caller's backward pass). The given
    buffers are not modified. `gradient` computes each mini-batch gradient (func_model_gradient under vmap)."""
    in_mode(model, model_mode)
    buffers = {name: buffer.clone() for name, buffer in buffers.items()}  # BatchNorm updates them in place
    momentum: dict[str, torch.Tensor] = {}
    for _ in range(local.epochs):
        for start in range(0, len(images), local.batch_size):
            batch = slice(start, start + local.batch_size)
            gradients = gradient(model, parameters, buffers, images[batch], targets[batch], create_graph)
            parameters = {
                name: sgd_step(name, parameter, gradient, local, momentum)
                for (name, parameter), gradient in zip(parameters.items(), gradients, strict=True)
            }
    return parameters, buffers


def sgd_step(
    name: str, parameter: torch.Tensor, gradient: torch.Tensor, local: LocalTraining, momentum: dict[str, torch.Tensor]
) -> torch.Tensor:
    """One torch.optim.SGD step (dampening 0, no Nesterov) written out of place; `momentum` keeps the buffers."""
    if local.weight_decay:
        gradient = gradient.add(parameter, alpha=local.weight_decay)
    if local.momentum:
        momentum[name] = gradient if name not in momentum else momentum[name].mul(local.momentum).add(gradient)
        gradient = momentum[name]
    return parameter.add(gradient, alpha=-local.lr)


def functional_update(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
    local: LocalTraining,
    model_mode: str,
    gradient: Callable[..., tuple[torch.Tensor, ...]] = model_gradient,
) -> tuple[torch.Tensor, ...]:
    """The weight update (trained minus broadcast parameters, in `parameters` order) the client would
    share after training on `images`, differentiable w.r.t. the images."""
    trained, _ = train_functional(model, parameters, buffers, images, targets, local, model_mode, gradient=gradient)
    return tuple(trained[name] - parameter for name, parameter in parameters.items())


def batched_functional_update(
    model: nn.Module,
    parameters: dict[str, torch.Tensor],
    buffers: dict[str, torch.Tensor],
    images: torch.Tensor,
    targets: torch.Tensor,
    local: LocalTraining,
    model_mode: str,
) -> tuple[torch.Tensor, ...]:
    """functional_update of R independent trials at once (vmap): `images` R x B x C x H x W, `targets` R x B;
    each returned tensor has a leading dimension R."""

    def one_trial(own_buffers: dict, trial_images: torch.Tensor, trial_targets: torch.Tensor) -> tuple:
        return functional_update(
            model, parameters, own_buffers, trial_images, trial_targets, local, model_mode, func_model_gradient
        )

    return over_trials(one_trial, buffers, images, targets)
