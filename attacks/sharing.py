"""What main_grad's simulated client shares for a given attack, and labels granted to the server.

An attack whose spec has `client_training` attacks a weight update (FedAvg): the client trains as the
client flags say (--local_lr, --local_steps, ...) and shares the update. Any other attack gets the
gradient (FedSGD). With --known_labels the server is also told the batch labels (the Inverting
Gradients paper's setting).
"""

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from attacks.base import AttackSpec
from attacks.flags import CLIENT_FLAGS
from data.normalization import Normalization
from defenses import NO_DEFENSE, Defense
from fl.client import privacy_history, share_gradient, share_update
from fl.observation import Observation
from utils.errors import UsageError


@dataclass(frozen=True)
class LabelledObservation(Observation):
    """An Observation whose server also knows the batch labels (a stronger threat model)."""

    labels: torch.Tensor | None = None


def with_labels(obs: Observation, labels: torch.Tensor) -> LabelledObservation:
    """`obs` with the true labels handed to the server."""
    return LabelledObservation(**{f.name: getattr(obs, f.name) for f in fields(obs)}, labels=labels)


def known_labels(obs: Observation) -> torch.Tensor | None:
    """The labels the server was told, if any."""
    return getattr(obs, "labels", None)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated client's local-training flags, used by attacks on weight updates."""
    group = parser.add_argument_group("simulated client (attacks on weight updates: ig_weight, ig_multi)")
    for flag in CLIENT_FLAGS:
        group.add_argument(flag.name, **flag.kwargs)


def client_share(
    spec: AttackSpec,
    flags: Mapping[str, Any],
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    normalization: Normalization,
    model_mode: str,
    defense: Defense = NO_DEFENSE,
) -> Observation:
    """The observation `spec` attacks: the gradient, or the update after the local training its flags set,
    each defended by the client with `defense`."""
    if flags.get("known_labels") and not any(flag.dest == "known_labels" for flag in spec.flags):
        raise UsageError(f"--known_labels: --attack {spec.name} does not take known labels")
    if spec.client_training is None:
        observation = share_gradient(model, images, labels, normalization, model_mode, defense)
    else:
        local = spec.client_training(flags, len(images))
        observation = share_update(model, images, labels, normalization, model_mode, local, defense)
    return with_labels(observation, labels) if flags.get("known_labels") else observation


def share_privacy(spec: AttackSpec, flags: Mapping[str, Any], num_images: int, defense: Defense) -> dict | None:
    """The formal guarantee `defense` gives one client's share of `num_images` (None for most defenses)."""
    local = None if spec.client_training is None else spec.client_training(flags, num_images)
    return defense.privacy(privacy_history(local, num_images))
