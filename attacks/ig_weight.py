"""Inverting Gradients on a weight update: the client took --local_steps full-batch SGD steps at
--local_lr on its batch and sent new weights; the attack differentiates through those steps."""

from collections.abc import Mapping
from typing import Any

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.flags import KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS
from attacks.inverting import invert, update_target
from fl.observation import LocalTraining, Observation


def client_training(flags: Mapping[str, Any], num_images: int) -> LocalTraining:
    """--local_steps full-batch steps: one epoch is one step when the mini-batch is the whole batch."""
    return LocalTraining(epochs=flags["local_steps"], batch_size=num_images, lr=flags["local_lr"])


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, update_target(obs, "ig_weight"), "ig_weight")


SPEC = AttackSpec(
    name="ig_weight",
    run=run,
    defaults={"rec_epochs": 8000, "rec_lr": 0.1, "tv": 1e-6},
    needs="the client's weight update and its public local-training settings (--local_steps, --local_lr)",
    flags=(KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS),
    client_training=client_training,
)
