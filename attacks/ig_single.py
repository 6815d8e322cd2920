"""Inverting Gradients on one shared gradient (FedSGD): match the gradient of the whole batch."""

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.inverting import InvertingOptions
from fedprivacy.attacks.inverting import gradient_target, invert
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig[InvertingOptions]) -> Reconstruction:
    return invert(obs, config, gradient_target(obs), "ig_single")
