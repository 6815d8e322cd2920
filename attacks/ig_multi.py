"""Inverting Gradients on a multi-step, multi-image update: the client ran epochs over its images in
mini-batches of a known order (main_grad: --client.epochs, --client.batch_size, --client.lr); the attack
reconstructs all images at once through that whole training.

Restored labels (--ig_multi.label_strategy) say how many images of each class the client holds, not which
mini-batch each was in. The attack does not search over that assignment; it is robust to it: the
restored labels go to the image slots in class order, and to first order in the step size the
update is the sum of the mini-batch gradients at the broadcast model, lr x (steps) x the mean
gradient of the whole batch, which does not depend on how the (image, label) pairs are split
into mini-batches. Each reconstructed image takes the slot of its label, and scoring pairs the
reconstructions with the truth by optimal assignment (evaluation/pairing.py)."""

from fedprivacy.attacks.base import Reconstruction
from fedprivacy.attacks.config.inverting import InvertingOptions
from fedprivacy.attacks.inverting import invert, update_target
from fedprivacy.attacks.spec import AttackConfig
from fedprivacy.fl.observation import Observation


def run(obs: Observation, config: AttackConfig[InvertingOptions]) -> Reconstruction:
    return invert(obs, config, update_target(obs), "ig_multi")
