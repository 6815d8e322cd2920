"""Inverting Gradients on a multi-step, multi-image update: the client ran --local_epochs epochs over
its --rec_batch_size images in mini-batches of --local_batch_size (known order) at --local_lr; the
attack reconstructs all images at once through that whole training.

Restored labels (--label_strategy) say how many images of each class the client holds, not which
mini-batch each was in. The attack does not search over that assignment; it is robust to it: the
restored labels go to the image slots in class order, and to first order in the step size the
update is the sum of the mini-batch gradients at the broadcast model, lr x (steps) x the mean
gradient of the whole batch, which does not depend on how the (image, label) pairs are split
into mini-batches. Each reconstructed image takes the slot of its label, and scoring pairs the
reconstructions with the truth by optimal assignment (utils/pairing.py)."""

from collections.abc import Mapping
from typing import Any

from attacks.base import AttackConfig, AttackSpec, Reconstruction
from attacks.flags import KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS
from attacks.inverting import invert, update_target
from fl.observation import LocalTraining, Observation
from utils.errors import UsageError


def client_training(flags: Mapping[str, Any], num_images: int) -> LocalTraining:
    """--local_epochs epochs of equal mini-batches of --local_batch_size."""
    if num_images % flags["local_batch_size"]:
        raise UsageError(
            f"--rec_batch_size {num_images} is not divisible by --local_batch_size {flags['local_batch_size']}; "
            "ig_multi needs equal mini-batches"
        )
    return LocalTraining(epochs=flags["local_epochs"], batch_size=flags["local_batch_size"], lr=flags["local_lr"])


def run(obs: Observation, config: AttackConfig) -> Reconstruction:
    return invert(obs, config, update_target(obs, "ig_multi"), "ig_multi")


SPEC = AttackSpec(
    name="ig_multi",
    run=run,
    defaults={"rec_epochs": 24000, "rec_lr": 1.0, "tv": 1e-6},
    needs="the client's weight update after mini-batch epochs over several images, in a known order",
    flags=(KNOWN_LABELS, LABEL_STRATEGY, LAYER_WEIGHTS),
    client_training=client_training,
)
