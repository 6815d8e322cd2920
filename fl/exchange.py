"""One simulated exchange between a client and the server: the client computes and defends its share
(fl/client.py), the server builds its view from what it received (fl/view.py). main_grad's simulated
client, and the observations of the tests and benchmarks."""

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.defenses import NO_DEFENSE, Defense
from fedprivacy.fl.client import client_gradient, client_update
from fedprivacy.fl.observation import Observation
from fedprivacy.fl.protocol import LocalTraining, privacy_history
from fedprivacy.fl.view import observe_gradient, observe_update, with_labels


def share_gradient(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> Observation:
    """FedSGD: the client's (defended) gradient of a normalised batch, as the server observes it."""
    gradient = client_gradient(model, images, labels, model_mode, defense)
    return observe_gradient(model, gradient, len(images), tuple(images.shape[1:]), normalization, model_mode)


def share_update(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    local: LocalTraining,
    defense: Defense = NO_DEFENSE,
) -> Observation:
    """FedAvg: the client trains locally and shares its (defended) weight update, as the server observes it."""
    update, _ = client_update(model, images, labels, local, model_mode, defense)
    return observe_update(model, update, len(images), tuple(images.shape[1:]), normalization, model_mode, local)


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
