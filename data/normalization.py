"""Per-channel normalisation and the valid pixel box in the normalised space."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Normalization:
    """x_norm = (x - mean) / std per channel; identity when mean 0 and std 1."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def identity(cls, channels: int) -> "Normalization":
        return cls((0.0,) * channels, (1.0,) * channels)

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, len(self.mean), 1, 1)
        mean = torch.tensor(self.mean, dtype=like.dtype, device=like.device).view(shape)
        std = torch.tensor(self.std, dtype=like.dtype, device=like.device).view(shape)
        return mean, std

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] images (N, C, H, W) into the normalised space."""
        mean, std = self._stats(images)
        return (images - mean) / std

    def denormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map normalised images back to pixel space (not clamped)."""
        mean, std = self._stats(images)
        return images * std + mean

    def box(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower and upper bounds (1, C, 1, 1) of valid pixels [0, 1] in the normalised space."""
        mean, std = self._stats(like)
        return (0 - mean) / std, (1 - mean) / std

    def clamp(self, images: torch.Tensor) -> torch.Tensor:
        """Clamp normalised images to the valid pixel box."""
        low, high = self.box(images)
        return torch.maximum(torch.minimum(images, high), low)
