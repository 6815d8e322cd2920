"""Model weights as Flower ArrayRecords and back, and the first way a reply's arrays differ from the broadcast."""

import numpy as np
import torch
from flwr.app import Array, ArrayRecord
from torch import nn


def to_record(state: dict[str, torch.Tensor]) -> ArrayRecord:
    """A state dict as an ArrayRecord (names kept, values copied to CPU numpy)."""
    return ArrayRecord({name: Array(np.ascontiguousarray(t.detach().cpu().numpy())) for name, t in state.items()})


def to_state(record: ArrayRecord) -> dict[str, torch.Tensor]:
    """An ArrayRecord as a state dict of fresh CPU tensors."""
    return {name: torch.from_numpy(array.numpy().copy()) for name, array in record.items()}


def update_of(
    model: nn.Module, sent: dict[str, torch.Tensor], received: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, ...]:
    """What a reply changed of the broadcast: received minus sent, for `model`'s trainable parameters in their
    order (the order of an Observation's tensors), on the model's device."""
    device = next(model.parameters()).device
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    return tuple((received[name] - sent[name]).to(device) for name in names)


def first_mismatch(broadcast: ArrayRecord, reply: ArrayRecord) -> str | None:
    """None when `reply` carries exactly the broadcast names with the same shapes; else the first difference."""
    for name, array in broadcast.items():
        if name not in reply:
            return f"the reply lacks array {name!r}"
        if tuple(reply[name].shape) != tuple(array.shape):
            return f"array {name!r} has shape {tuple(reply[name].shape)}, the broadcast {tuple(array.shape)}"
    extra = [name for name in reply if name not in broadcast]
    return f"the reply has an array {extra[0]!r} the server never sent" if extra else None
