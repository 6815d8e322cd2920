"""A client's side: compute a gradient (FedSGD) or train locally (FedAvg) on a private batch, defend, and share.

The server receives an Observation built from the broadcast model and the defended share; the client's
trained copy and its undefended gradient never leave this module. `client_share` is main_grad's
simulated client: the gradient, or the update after the local training the entry script chose, with
the batch labels only when the threat model grants them (--known_labels).
"""

import copy
from dataclasses import replace

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.defenses import NO_DEFENSE, Defense
from fedprivacy.defenses.base import trainable_parameters
from fedprivacy.fl.observation import LocalTraining, Observation, client_steps, in_mode
from fedprivacy.fl.view import observed as observed_by_server


def trainable(model: nn.Module) -> list[torch.Tensor]:
    return list(trainable_parameters(model).values())


def privacy_history(local: LocalTraining | None, num_images: int) -> list[tuple[float, int]]:
    """What a privacy accountant needs of one share: [(sampling rate, steps)]; a FedSGD gradient is one
    step over the whole batch."""
    if local is None:
        return [(1.0, 1)]
    return [(min(1.0, local.batch_size / num_images), local.steps(num_images))]


def train_locally(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    local: LocalTraining,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> nn.Module:
    """A trained copy of `model`: `local.epochs` passes over the batch in order, mini-batch SGD on the
    gradients `defense` takes (the plain gradient unless it is DP-SGD)."""
    trained = in_mode(copy.deepcopy(model), model_mode)
    parameters = trainable(trained)
    optimizer = torch.optim.SGD(parameters, lr=local.lr, momentum=local.momentum, weight_decay=local.weight_decay)
    for _ in range(local.epochs):
        for start in range(0, len(images), local.batch_size):
            batch = slice(start, start + local.batch_size)
            for parameter, gradient in zip(
                parameters, defense.step_gradient(trained, images[batch], labels[batch]), strict=True
            ):
                parameter.grad = gradient
            optimizer.step()
    return trained


def client_update(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    local: LocalTraining,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """Train locally, then defend the update (trained minus broadcast parameters). Returns the defended
    update, which is all the server sees of the weights, and the state it aggregates: the trained state
    moved by what the defense changed (so without a defense it is the trained state, bit for bit)."""
    trained = train_locally(model, images, labels, local, model_mode, defense)
    update = tuple((new - old).detach() for new, old in zip(trainable(trained), trainable(model), strict=True))
    defended = defense.protect(update, model, images, labels)
    state = dict(trained.state_dict())
    for (name, parameter), raw, shared in zip(trainable_parameters(trained).items(), update, defended, strict=True):
        state[name] = parameter.detach() + (shared - raw)
    return defended, state


def observed(
    model: nn.Module,
    images: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    num_images: int | None = None,
    **shared,
) -> Observation:
    """The Observation of a batch (the server sees only its count and shape); the attack reconstructs
    `num_images` images (default: the whole batch)."""
    count = images.shape[0] if num_images is None else num_images
    return observed_by_server(model, tuple(images.shape[1:]), count, normalization, model_mode, **shared)


def share_gradient(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> Observation:
    """FedSGD: the (defended) mean cross-entropy gradient of a normalised batch, as the server receives it."""
    client_model = in_mode(copy.deepcopy(model), model_mode)
    gradient = defense.protect(defense.step_gradient(client_model, images, labels), client_model, images, labels)
    return observed(model, images, normalization, model_mode, gradient=gradient)


def share_update(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
    defense: Defense = NO_DEFENSE,
) -> Observation:
    """FedAvg: train locally and share the (defended) weight update; `gradient` is the update as a
    pseudo-gradient, -update / (lr x steps), for attacks that expect one gradient."""
    update, _ = client_update(model, images, labels, local, model_mode, defense)
    return observe_update(model, update, images, normalization, model_mode, local)


def observe_update(
    model: nn.Module,
    update: tuple[torch.Tensor, ...],
    images: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
    num_images: int | None = None,
) -> Observation:
    """What the server sees of a client that shared `update` of broadcast `model` after training on `images`:
    the update, the public settings, the number of examples, and the pseudo-gradient; the attack
    reconstructs `num_images` of the images (default: all)."""
    scale = local.lr * client_steps(local, len(images))
    return observed(
        model,
        images,
        normalization,
        model_mode,
        num_images,
        gradient=tuple(-u / scale for u in update),
        update=update,
        local_training=local,
        num_examples=len(images),
    )


def with_labels(obs: Observation, labels: torch.Tensor) -> Observation:
    """`obs` with the true labels handed to the server."""
    return replace(obs, labels=labels)


def client_share(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining | None,
    defense: Defense = NO_DEFENSE,
    grant_labels: bool = False,
) -> Observation:
    """The observation of one batch: the gradient (`local` None) or the update after `local` training,
    each defended by the client with `defense`; with the labels when `grant_labels`."""
    if local is None:
        observation = share_gradient(model, images, labels, normalization, model_mode, defense)
    else:
        observation = share_update(model, images, labels, normalization, model_mode, local, defense)
    return with_labels(observation, labels) if grant_labels else observation


def share_privacy(local: LocalTraining | None, num_images: int, defense: Defense) -> dict | None:
    """The formal guarantee `defense` gives one client's share of `num_images` (None for most defenses)."""
    return defense.privacy(privacy_history(local, num_images))
