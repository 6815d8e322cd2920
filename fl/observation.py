"""What an honest-but-curious server sees of one client's contribution; attacks get only this."""

from dataclasses import dataclass

import torch
from torch import nn

from data.normalization import Normalization


@dataclass(frozen=True)
class Observation:
    """The shared gradient with the public facts the server knows, never the private batch.

    `model` is the server's own copy as broadcast; `gradient` has one tensor per trainable
    parameter in `model.named_parameters()` order.
    """

    model: nn.Module
    gradient: tuple[torch.Tensor, ...]
    num_images: int
    image_shape: tuple[int, int, int]
    num_classes: int
    normalization: Normalization
    model_mode: str

    def parameters(self) -> dict[str, torch.Tensor]:
        """The broadcast trainable parameters by name (the order of `gradient`), as fresh leaves
        that require grad so an attack can differentiate the model's gradient w.r.t. its inputs."""
        return {name: p.detach().requires_grad_() for name, p in self.model.named_parameters() if p.requires_grad}

    def buffers(self) -> dict[str, torch.Tensor]:
        """The broadcast buffers (BatchNorm statistics), copied so an attack cannot alter them."""
        return {name: b.detach().clone() for name, b in self.model.named_buffers()}
