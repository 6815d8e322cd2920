"""A client's side of FedSGD: compute the gradient of its private batch and share it."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from data.normalization import Normalization
from fl.observation import Observation


def share_gradient(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, normalization: Normalization, model_mode: str
) -> Observation:
    """The mean cross-entropy gradient of a normalised batch, as the server receives it."""
    client_model = copy.deepcopy(model).train(model_mode == "train")
    logits = client_model(images)
    loss = F.cross_entropy(logits, labels)
    gradient = torch.autograd.grad(loss, [p for p in client_model.parameters() if p.requires_grad])
    return Observation(
        model=copy.deepcopy(model),
        gradient=tuple(g.detach() for g in gradient),
        num_images=images.shape[0],
        image_shape=tuple(images.shape[1:]),
        num_classes=logits.shape[1],
        normalization=normalization,
        model_mode=model_mode,
    )
