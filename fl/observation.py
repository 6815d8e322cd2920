"""What an honest-but-curious server sees of one client's contribution; attacks get only this."""

from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.protocol import LocalTraining

__all__ = ["LocalTraining", "Observation", "in_mode"]


def in_mode(model: nn.Module, model_mode: str) -> nn.Module:
    """`model` switched to the client's mode ("train" or "eval"), the one place that mapping is written."""
    return model.train(model_mode == "train")


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

    @property
    def device(self) -> torch.device:
        """Where the shared tensors and the broadcast model live; every tensor an attack makes follows it."""
        return self.gradient[0].device

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
