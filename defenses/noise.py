"""Additive noise on the shared gradient or update (DLG section 6, GGL's defense set)."""

from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.defenses.base import Defense, Tensors

SAMPLERS = {
    "gaussian": torch.randn,  # standard deviation 1
    "laplacian": lambda *shape: torch.distributions.Laplace(0.0, 1.0).sample(shape),  # scale b = 1
}


@dataclass(frozen=True)
class AdditiveNoise(Defense):
    """Every shared entry plus independent noise: Gaussian with standard deviation `noise_scale`, or
    Laplacian with scale b = `noise_scale` (standard deviation sqrt(2) b)."""

    noise_scale: float
    distribution: str = "gaussian"

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.distribution

    def protect(self, shared: Tensors, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> Tensors:
        sample = SAMPLERS[self.distribution]
        return tuple(t + self.noise_scale * sample(*t.shape).to(t.device, t.dtype) for t in shared)

    def parameters(self) -> dict[str, float]:
        return {"noise_scale": self.noise_scale}
