"""The server's side of the wall: an Observation built only from what the server holds (its own copy of the
broadcast model, what was shared, counts and the public image shape), never from private tensors."""

import copy

import torch
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.fl.observation import Observation, in_mode


def observed(
    model: nn.Module,
    image_shape: tuple[int, ...],
    num_images: int,
    normalization: Normalization,
    model_mode: str,
    **shared,
) -> Observation:
    """The Observation of what was shared: the server's own copy of the broadcast `model` in the client's mode,
    the public facts (the class count is the model's output width on a blank image of the public shape)."""
    device = next(model.parameters()).device
    with torch.no_grad():
        num_classes = copy.deepcopy(model).eval()(torch.zeros((1, *image_shape), device=device)).shape[1]
    return Observation(
        model=in_mode(copy.deepcopy(model), model_mode),
        num_images=num_images,
        image_shape=tuple(image_shape),
        num_classes=num_classes,
        normalization=normalization,
        model_mode=model_mode,
        **shared,
    )
