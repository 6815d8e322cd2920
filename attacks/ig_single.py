"""Inverting Gradients on one shared gradient (FedSGD): match the gradient of the whole batch."""

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.flags import KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS
from attacks.inverting import gradient_target, invert
from fl.observation import Observation


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, gradient_target(obs), "ig_single")


SPEC = AttackSpec(
    name="ig_single",
    run=run,
    defaults={"rec_epochs": 4000, "rec_lr": 0.1, "tv": 1e-6},
    needs="the shared gradient and a final linear layer (labels), or --known_labels",
    flags=(KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS),
)
