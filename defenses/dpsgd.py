"""DP-SGD (Abadi et al. 2016): per-example clipping and Gaussian noise in every gradient the client takes,
with the privacy budget from Opacus's RDP accountant."""

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fedprivacy.defenses.base import Defense, Tensors, trainable_parameters
from fedprivacy.defenses.clipping import clip_scale, l2_norm
from fedprivacy.utils.errors import UsageError


def rdp_accountant():
    """A fresh Opacus RDP accountant. Opacus is imported here, not with this module, and the root logger is
    put back as it was: Opacus calls logging.basicConfig on import, which would reconfigure the logging of
    every program importing this package (Flower's lines doubled, DEBUG lines added)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        from opacus.accountants import RDPAccountant
    finally:
        root.handlers[:], root.level = handlers, level
    return RDPAccountant()


def mixes_examples(model: nn.Module) -> bool:
    """True when a BatchNorm layer in training mode couples the examples of a batch."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules())


@dataclass(frozen=True)
class DPSGD(Defense):
    """Each example's gradient clipped to `clip_norm`; the sum gets N(0, (noise_multiplier x clip_norm)^2)
    noise and is divided by the batch size. `delta` is the delta of the reported (epsilon, delta)."""

    clip_norm: float
    noise_multiplier: float
    delta: float = 1e-5
    name = "dpsgd"

    def step_gradient(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        if mixes_examples(model):
            raise UsageError(
                "--defense dpsgd needs per-example gradients, but BatchNorm in training mode mixes the examples; "
                "use a model without BatchNorm (mlp, fc2, lenet, cnn) or --model_mode eval"
            )
        parameters = tuple(trainable_parameters(model).values())
        summed = [torch.zeros_like(p) for p in parameters]
        for image, label in zip(images, labels, strict=True):  # a loop: faster than vmap on these models
            loss = F.cross_entropy(model(image.unsqueeze(0)), label.unsqueeze(0))
            gradient = torch.autograd.grad(loss, parameters)
            scale = clip_scale(l2_norm(gradient), self.clip_norm)
            for total, g in zip(summed, gradient, strict=True):
                total.add_(g * scale)
        std = self.noise_multiplier * self.clip_norm if self.noise_multiplier else 0.0  # 0 x inf bound is 0
        return tuple((total + std * torch.randn_like(total)) / len(images) for total in summed)

    def privacy(self, history: Sequence[tuple[float, int]]) -> dict:
        """(epsilon, delta) from Opacus's RDP accountant for `history` of (sampling rate, steps); mini-batches
        are taken in order, so the Poisson-sampling assumption of the accountant is an approximation."""
        epsilon, loose = None, False
        if self.noise_multiplier > 0:
            accountant = rdp_accountant()
            for sample_rate, steps in history:
                for _ in range(steps):
                    accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=sample_rate)
            with warnings.catch_warnings(record=True) as caught:  # Opacus warns when its orders bound loosely
                warnings.simplefilter("always")
                try:
                    epsilon = accountant.get_epsilon(self.delta)
                except (ZeroDivisionError, OverflowError):  # a multiplier so far from 1 that RDP's floats give out
                    epsilon, loose = (None, True) if self.noise_multiplier < 1 else (0.0, False)
                else:
                    loose = any("Optimal order" in str(w.message) for w in caught)
        return {
            "epsilon": epsilon if epsilon is not None and math.isfinite(epsilon) else None,
            "epsilon_loose": loose,  # the best RDP order was at the edge of Opacus's range: a weak noise level
            "delta": self.delta,
            "steps": sum(steps for _, steps in history),
            "sample_rates": sorted({rate for rate, _ in history}),
            "accountant": "opacus RDP",
        }
