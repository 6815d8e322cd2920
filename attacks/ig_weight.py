"""Inverting Gradients on a weight update: the client took several full-batch SGD steps on its batch and
sent new weights (main_grad: --local_steps at --local_lr); the attack differentiates through those steps."""

from fedprivacy.attacks.base import AttackConfig, Reconstruction
from fedprivacy.attacks.inverting import invert, spec, update_target
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, update_target(obs), "ig_weight")


SPEC = spec("ig_weight", run, {"rec_epochs": 8000, "rec_lr": 0.1, "tv": 1e-6}, update=True)
