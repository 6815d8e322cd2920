"""Inverting Gradients on a multi-step, multi-image update: the client ran epochs over its images in
mini-batches of a known order (main_grad: --local_epochs, --local_batch_size, --local_lr); the attack
reconstructs all images at once through that whole training."""

from attacks.base import AttackConfig, Reconstruction
from attacks.inverting import invert, spec, update_target
from fl.observation import Observation


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, update_target(obs), "ig_multi")


SPEC = spec("ig_multi", run, {"rec_epochs": 24000, "rec_lr": 1.0, "tv": 1e-6}, update=True)
