"""How main_grad's simulated client trains before it shares a weight update, and the flags that set it.

The entry script decides this, not the attack: an attack only declares that it needs an update
(its capabilities). For each attack on updates the client follows that paper's setting: ig_weight's
client takes --local_steps full-batch SGD steps, ig_multi's runs --local_epochs epochs of
--local_batch_size mini-batches; both at --local_lr. In main_fed the federation's own flags set the
clients' training instead.
"""

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from fedprivacy.fl.observation import LocalTraining
from fedprivacy.utils.domains import COUNT, POSITIVE
from fedprivacy.utils.errors import UsageError


def full_batch_steps(flags: Mapping[str, Any], num_images: int) -> LocalTraining:
    """--local_steps full-batch steps: one epoch is one step when the mini-batch is the whole batch."""
    return LocalTraining(epochs=flags["local_steps"], batch_size=num_images, lr=flags["local_lr"])


def mini_batch_epochs(flags: Mapping[str, Any], num_images: int) -> LocalTraining:
    """--local_epochs epochs of equal mini-batches of --local_batch_size."""
    if num_images % flags["local_batch_size"]:
        raise UsageError(
            f"--rec_batch_size {num_images} is not divisible by --local_batch_size {flags['local_batch_size']}; "
            "ig_multi needs equal mini-batches"
        )
    return LocalTraining(epochs=flags["local_epochs"], batch_size=flags["local_batch_size"], lr=flags["local_lr"])


CLIENT_TRAINING: dict[str, Callable[[Mapping[str, Any], int], LocalTraining]] = {
    "ig_weight": full_batch_steps,
    "ig_multi": mini_batch_epochs,
}


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated client's local-training flags, used by attacks on weight updates."""
    group = parser.add_argument_group("simulated client (attacks on weight updates: ig_weight, ig_multi)")
    add = group.add_argument
    add("--local_lr", type=POSITIVE, default=1e-4, help="client's SGD step size (ig_weight, ig_multi)")
    add("--local_steps", type=COUNT, default=5, help="ig_weight: client's full-batch SGD steps")
    add("--local_epochs", type=COUNT, default=1, help="ig_multi: client's epochs over its batch")
    add(
        "--local_batch_size",
        type=COUNT,
        default=1,
        help="ig_multi: client's mini-batch size; must divide --rec_batch_size",
    )


def client_training(attack: str, flags: Mapping[str, Any], num_images: int) -> LocalTraining | None:
    """The local training of the simulated client that `attack` observes; None: it shares a gradient."""
    train = CLIENT_TRAINING.get(attack)
    return None if train is None else train(flags, num_images)
