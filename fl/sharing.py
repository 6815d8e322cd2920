"""What main_grad's simulated client shares, and labels granted to the server.

The client shares its gradient (FedSGD), or, when the entry script gives it local training, its weight
update after that training (FedAvg); either is defended by the client first. When the threat model
grants them (--known_labels, the Inverting Gradients paper's setting) the observation also carries
the batch labels.
"""

from dataclasses import replace

import torch
from torch import nn

from data.normalization import Normalization
from defenses import NO_DEFENSE, Defense
from fl.client import privacy_history, share_gradient, share_update
from fl.observation import LocalTraining, Observation


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
