"""Inverting Gradients on a weight update: the client took several full-batch SGD steps on its batch and
sent new weights (main_grad: --client.epochs steps at --client.lr); the attack differentiates through those steps."""

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.inverting import InvertingOptions
from fedprivacy.attacks.inverting import invert, update_target
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig[InvertingOptions]) -> Reconstruction:
    return invert(obs, config, update_target(obs), "ig_weight")
