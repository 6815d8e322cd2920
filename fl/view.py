"""The server's view of one client's contribution, built on the server side from what the server received:
the shared gradient or update, its own broadcast model, the number of examples the client reports, and the
public image shape. No private tensor reaches these functions (tests/test_architecture.py keeps the client
module out of the server side)."""

import copy
from dataclasses import replace

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.observation import Observation, client_steps, in_mode
from fedprivacy.fl.protocol import LocalTraining


def observed(
    model: nn.Module,
    image_shape: tuple[int, ...],
    num_images: int,
    normalization: Normalization,
    model_mode: str,
    **shared,
) -> Observation:
    """The Observation of what was shared: the server's own copy of the broadcast `model` in the client's mode,
    the public facts (the class count is the model's output width on a blank image of the public shape)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        num_classes = copy.deepcopy(model).eval()(torch.zeros((1, *image_shape), device=device)).shape[1]
    return Observation(
        model=in_mode(copy.deepcopy(model), model_mode),
        num_images=num_images,
        image_shape=tuple(image_shape),
        num_classes=num_classes,
        normalization=normalization,
        model_mode=model_mode,
        **shared,
    )


def observe_gradient(
    model: nn.Module,
    gradient: tuple[torch.Tensor, ...],
    num_examples: int,
    image_shape: tuple[int, ...],
    normalization: Normalization,
    model_mode: str,
) -> Observation:
    """FedSGD: a client shared the gradient of `num_examples` images at broadcast `model`."""
    return observed(model, image_shape, num_examples, normalization, model_mode, gradient=gradient)


def observe_update(
    model: nn.Module,
    update: tuple[torch.Tensor, ...],
    num_examples: int,
    image_shape: tuple[int, ...],
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
    num_images: int | None = None,
    num_clients: int | None = None,
) -> Observation:
    """FedAvg: a client shared `update` of broadcast `model` after `local` training on `num_examples` images (or,
    under secure aggregation, `num_clients` clients' mean update on that many images in all): the update, the
    public settings, the count, and the update as a pseudo-gradient, -update / (lr x steps per client); the
    attack reconstructs `num_images` of the images (default: all)."""
    scale = local.lr * client_steps(local, num_examples, num_clients or 1)
    return observed(
        model,
        image_shape,
        num_examples if num_images is None else num_images,
        normalization,
        model_mode,
        gradient=tuple(-u / scale for u in update),
        update=update,
        local_training=local,
        num_examples=num_examples,
        num_clients=num_clients,
    )


def with_labels(obs: Observation, labels: torch.Tensor) -> Observation:
    """`obs` with the true labels handed to the server (a threat model that grants them: --known_labels)."""
    return replace(obs, labels=labels)
