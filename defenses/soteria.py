"""Soteria (Sun et al., CVPR 2021): perturb the representation layer's gradient.

The representation r is the input of the model's last fully connected layer. For each feature r_i the
client measures ||dr_i/dx|| / |r_i| on its images (model in eval mode, summed over the images as in the
authors' code; at most MAX_IMAGES of them) and zeroes the `soteria_ratio` share of weight-gradient
columns with the smallest values: the features whose removal moves a reconstruction the most
(small input gradient for their size). No other layer changes.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.defenses.base import Defense, Tensors, trainable_parameters
from fedprivacy.utils.errors import UsageError

FEATURE_CHUNK = 64  # features per batched backward pass: bounds memory
MAX_IMAGES = 64  # the sensitivity is summed over at most this many of the client's images (cost grows with both)


def representation_layer(model: nn.Module) -> tuple[str, nn.Linear]:
    """The last nn.Linear of `model` (its input is the representation) and its name."""
    linears = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise UsageError("--defense soteria needs a model with a fully connected layer (the representation's reader)")
    return linears[-1]


def feature_sensitivity(model: nn.Module, layer: nn.Linear, images: torch.Tensor) -> torch.Tensor:
    """Per representation feature: the sum over (the first MAX_IMAGES) images of ||dr_i/dx|| / |r_i|."""
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    was_training = model.training
    model.eval()
    inputs = images[:MAX_IMAGES].detach().clone().requires_grad_()
    try:
        model(inputs)
    finally:
        hook.remove()
        model.train(was_training)
    features = captured[0].flatten(1)  # [images, features]
    num_images, num_features = features.shape
    norms = []
    for chunk in torch.eye(num_features, device=features.device).split(FEATURE_CHUNK):
        # one backward pass per feature, over all images at once (images do not interact in eval mode)
        directions = chunk.unsqueeze(1).expand(-1, num_images, -1)
        (input_grads,) = torch.autograd.grad(features, inputs, directions, retain_graph=True, is_grads_batched=True)
        norms.append(input_grads.flatten(2).norm(dim=2))  # [chunk, images]
    sensitivity = torch.cat(norms).T / (features.detach().abs() + 1e-10)
    return sensitivity.sum(0)


def soteria_mask(model: nn.Module, layer: nn.Linear, images: torch.Tensor, ratio: float) -> torch.Tensor:
    """1 for the representation features kept, 0 for the floor(ratio x features) least sensitive ones."""
    sensitivity = feature_sensitivity(model, layer, images)
    mask = torch.ones_like(sensitivity)
    mask[sensitivity.argsort()[: math.floor(ratio * len(sensitivity))]] = 0.0
    return mask


@dataclass(frozen=True)
class Soteria(Defense):
    """Zeroes the representation layer's weight-gradient columns of the `soteria_ratio` share of features."""

    soteria_ratio: float
    name = "soteria"

    def protect(self, shared: Tensors, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        if self.soteria_ratio == 0:
            return shared
        name, layer = representation_layer(model)
        index = list(trainable_parameters(model)).index(f"{name}.weight")
        mask = soteria_mask(model, layer, images, self.soteria_ratio)
        return tuple(t * mask if i == index else t for i, t in enumerate(shared))
