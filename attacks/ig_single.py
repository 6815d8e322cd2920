"""Inverting Gradients on one shared gradient (FedSGD): match the gradient of the whole batch."""

from fedprivacy.attacks.base import AttackConfig, Reconstruction
from fedprivacy.attacks.inverting import gradient_target, invert, spec
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, gradient_target(obs), "ig_single")


SPEC = spec("ig_single", run, {"rec_epochs": 4000, "rec_lr": 0.1, "tv": 1e-6}, update=False)
