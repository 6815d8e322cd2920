"""A client's side: compute a gradient (FedSGD) or train locally (FedAvg) on a private batch, and share.

The server receives an Observation built from the broadcast model; the client's trained copy
never leaves this module.
"""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from data.normalization import Normalization
from fl.observation import LocalTraining, Observation


def trainable(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def local_steps(local: LocalTraining, num_images: int) -> int:
    """Number of SGD steps: epochs times mini-batches per epoch."""
    return local.epochs * math.ceil(num_images / local.batch_size)


def train_locally(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, local: LocalTraining, model_mode: str
) -> nn.Module:
    """A trained copy of `model`: `local.epochs` passes over the batch in order, mini-batch SGD."""
    trained = copy.deepcopy(model).train(model_mode == "train")
    optimizer = torch.optim.SGD(
        trainable(trained), lr=local.lr, momentum=local.momentum, weight_decay=local.weight_decay
    )
    for _ in range(local.epochs):
        for start in range(0, len(images), local.batch_size):
            optimizer.zero_grad()
            batch = slice(start, start + local.batch_size)
            F.cross_entropy(trained(images[batch]), labels[batch]).backward()
            optimizer.step()
    return trained


def observed(
    model: nn.Module, images: torch.Tensor, normalization: Normalization, model_mode: str, **shared
) -> Observation:
    """The Observation of a batch: the broadcast model, public shapes, and what was shared."""
    with torch.no_grad():
        num_classes = copy.deepcopy(model).eval()(images[:1]).shape[1]
    return Observation(
        model=copy.deepcopy(model),
        num_images=images.shape[0],
        image_shape=tuple(images.shape[1:]),
        num_classes=num_classes,
        normalization=normalization,
        model_mode=model_mode,
        **shared,
    )


def share_gradient(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, normalization: Normalization, model_mode: str
) -> Observation:
    """FedSGD: the mean cross-entropy gradient of a normalised batch, as the server receives it."""
    client_model = copy.deepcopy(model).train(model_mode == "train")
    loss = F.cross_entropy(client_model(images), labels)
    gradient = torch.autograd.grad(loss, trainable(client_model))
    return observed(model, images, normalization, model_mode, gradient=tuple(g.detach() for g in gradient))


def share_update(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
) -> Observation:
    """FedAvg: train locally and share the weight update; `gradient` is the update as a
    pseudo-gradient, -update / (lr x steps), for attacks that expect one gradient."""
    trained = train_locally(model, images, labels, local, model_mode)
    return observe_update(model, trained, images, normalization, model_mode, local)


def observe_update(
    model: nn.Module,
    trained: nn.Module,
    images: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
) -> Observation:
    """What the server sees of a client that trained `model` into `trained` on `images`: the update,
    the public settings, and the pseudo-gradient (used when the caller also needs the trained model)."""
    update = tuple((new - old).detach() for new, old in zip(trainable(trained), trainable(model), strict=True))
    scale = local.lr * local_steps(local, len(images))
    return observed(
        model,
        images,
        normalization,
        model_mode,
        gradient=tuple(-u / scale for u in update),
        update=update,
        local_training=local,
    )
