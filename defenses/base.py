"""What every client-side defense is: how the client takes one step's gradient, and what it does to its share.

Gradients and updates are tuples with one tensor per trainable parameter, in `named_parameters` order.
A defense acts inside the client (fl.client), so the server only ever sees the defended tensors.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

Tensors = tuple[torch.Tensor, ...]


def trainable_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters a client trains and shares, by name, in `named_parameters` order."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


@dataclass(frozen=True)
class Defense:
    """No defense: the plain mean cross-entropy gradient, shared as it is. Subclasses override the hooks."""

    name: ClassVar[str] = "none"

    def step_gradient(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        """The gradient one FedSGD share or one local SGD step uses, at `model`'s current weights and mode."""
        loss = F.cross_entropy(model(images), labels)
        return tuple(g.detach() for g in torch.autograd.grad(loss, tuple(trainable_parameters(model).values())))

    def protect(self, shared: Tensors, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        """What the client sends instead of `shared` (its gradient or update at broadcast `model`)."""
        return shared

    def privacy(self, history: Sequence[tuple[float, int]]) -> dict | None:
        """The formal guarantee after `history` of (sampling rate, steps); None when the defense gives none."""
        return None

    def parameters(self) -> dict[str, float]:
        """The numeric parameters that set the defense's strength, by flag name."""
        return asdict(self)

    def settings(self) -> dict:
        """The defense and its parameters, as the JSON reports record them."""
        return {"name": self.name, **self.parameters()}

    def label(self) -> str:
        """Short human form for summary lines and tables, e.g. 'prune(prune_ratio=0.9)'."""
        params = ", ".join(f"{key}={value:g}" for key, value in self.parameters().items())
        return f"{self.name}({params})" if params else self.name

    def tag(self) -> str:
        """Suffix for output file names ('' without a defense), so defended runs never collide."""
        values = "-".join(f"{value:g}" for value in self.parameters().values())
        return "" if self.name == "none" else f"_{self.name}{values}"


NO_DEFENSE = Defense()
