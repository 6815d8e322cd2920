"""What an honest-but-curious server sees of one client's contribution, or under secure aggregation of one
round's aggregate; attacks get only this."""

import math
from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.protocol import LocalTraining

__all__ = ["LocalTraining", "Observation", "client_steps", "in_mode"]


def in_mode(model: nn.Module, model_mode: str) -> nn.Module:
    """`model` switched to the client's mode ("train" or "eval"), the one place that mapping is written."""
    return model.train(model_mode == "train")


def client_steps(local: LocalTraining, num_examples: int, num_clients: int = 1) -> int:
    """The SGD steps behind a shared update, which its pseudo-gradient averages over: one client's steps on its
    `num_examples` images; for the FedAvg mean of `num_clients` clients' updates on `num_examples` images in all
    (secure aggregation), the steps of a client holding ceil(num_examples / num_clients) of them. That is exact
    when the clients hold equal numbers of images or each takes one step; clients of unequal sizes that take
    several steps weigh their images differently and no single count is right."""
    return local.steps(math.ceil(num_examples / num_clients))


@dataclass(frozen=True)
class Observation:
    """The shared gradient with the public facts the server knows, never the private batch.

    `model` is the server's own copy as broadcast; `gradient` has one tensor per trainable
    parameter in `model.named_parameters()` order. A client that trains locally shares
    `update` (new minus broadcast parameters, same order) and the server knows the
    `local_training` settings; `gradient` is then the update turned into a pseudo-gradient.
    `num_images` is how many images the attack reconstructs; a FedAvg client may have trained on more
    (`num_examples`), and the attack then recovers at most `num_images` of them.
    `labels` are the batch labels, present only when the threat model grants them (--known_labels).
    Under secure aggregation (`num_clients` set) `update` is the FedAvg mean of the round's `num_clients`
    updates, `num_examples` their total number of images, and nothing names a client (fl/secure_aggregation.py).
    Built on the server side from what the server received (fl/view.py), never from private tensors.
    """

    model: nn.Module
    gradient: tuple[torch.Tensor, ...]
    num_images: int
    image_shape: tuple[int, int, int]
    num_classes: int
    normalization: Normalization
    model_mode: str
    update: tuple[torch.Tensor, ...] | None = None
    local_training: LocalTraining | None = None
    num_examples: int | None = None  # FedAvg: how many images the client trained on (public: it weights the mean)
    labels: torch.Tensor | None = None
    num_clients: int | None = None  # secure aggregation: how many clients' updates are averaged (None: one's own)

    @property
    def device(self) -> torch.device:
        """Where the shared tensors and the broadcast model live; every tensor an attack makes follows it."""
        return self.gradient[0].device

    def local_steps(self) -> int:
        """The SGD steps per client behind `update`, by which its pseudo-gradient was divided (client_steps)."""
        if self.local_training is None or self.num_examples is None:
            raise ValueError("only a shared weight update has local steps")
        return client_steps(self.local_training, self.num_examples, self.num_clients or 1)

    def model_in_mode(self) -> nn.Module:
        """The broadcast model in the mode the client used when it shared."""
        return in_mode(self.model, self.model_mode)

    def parameters(self) -> dict[str, torch.Tensor]:
        """The broadcast trainable parameters by name (the order of `gradient`), as fresh leaves
        that require grad so an attack can differentiate the model's gradient w.r.t. its inputs."""
        return {name: p.detach().requires_grad_() for name, p in self.model.named_parameters() if p.requires_grad}

    def buffers(self) -> dict[str, torch.Tensor]:
        """The broadcast buffers (BatchNorm statistics), copied so an attack cannot alter them."""
        return {name: b.detach().clone() for name, b in self.model.named_buffers()}
