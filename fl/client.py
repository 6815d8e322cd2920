"""A client's side: compute a gradient (FedSGD) or train locally (FedAvg) on a private batch, and defend it.

What leaves this module is what the client sends: the defended gradient or update (and, for FedAvg, the
trained state the server averages); the server builds its view from that alone (fl/view.py).
"""

import copy

import torch
from torch import nn

from fedprivacy.defenses import NO_DEFENSE, Defense
from fedprivacy.defenses.base import trainable_parameters
from fedprivacy.fl.observation import in_mode
from fedprivacy.fl.protocol import LocalTraining


def trainable(model: nn.Module) -> list[torch.Tensor]:
    return list(trainable_parameters(model).values())


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


def client_gradient(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> tuple[torch.Tensor, ...]:
    """FedSGD: the (defended) mean cross-entropy gradient of a normalised batch at broadcast `model`."""
    client_model = in_mode(copy.deepcopy(model), model_mode)
    return defense.protect(defense.step_gradient(client_model, images, labels), client_model, images, labels)
