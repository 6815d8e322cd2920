"""Generators for the generative attacks, sized for any channel count and image size.

GRNNGenerator (Ren, Deng and Xie 2022): fixed noise -> a whole batch of images and label
distributions, GLU up-sampling blocks with BatchNorm. ImageGenerator / Critic: a DCGAN-style
generator and a BatchNorm-free critic (WGAN-GP compatible) for GGL's image prior.

Every generator produces pixels in [0, 1]; the attacks map them into the data space with the
observation's normalisation, so the output covers exactly the valid pixel box.
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fedprivacy.utils.errors import UsageError


def upsamplings(image_size: tuple[int, int]) -> int:
    """Number of x2 up-samplings from 4x4 to the smallest power of two covering the image."""
    return max(1, math.ceil(math.log2(max(image_size))) - 2)


def fit(images: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """Resize a power-of-two output to the image size (a no-op when it already matches)."""
    if tuple(images.shape[-2:]) == tuple(image_size):
        return images
    return F.interpolate(images, size=image_size, mode="bilinear", align_corners=False)


class GLU(nn.Module):
    """Gated linear unit over channels: the first half times the sigmoid of the second half."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[1] // 2
        return x[:, :half] * torch.sigmoid(x[:, half:])


def glu_up_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Nearest x2 up-sampling, 3x3 conv to twice the channels, BatchNorm, GLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(in_channels, 2 * out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(2 * out_channels),
        GLU(),
    )


class GRNNGenerator(nn.Module):
    """GRNN's generator: noise (B, latent) -> images (B, C, H, W) in [0, 1] and label probabilities."""

    def __init__(
        self, latent: int, channels: int, image_size: tuple[int, int], num_classes: int, width: int = 32
    ) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
        blocks = upsamplings(image_size)
        top = width * 2 ** (blocks - 1)
        self.labels = nn.Linear(latent, num_classes)
        self.stem = nn.Sequential(nn.ConvTranspose2d(latent, 2 * top, 4, 1, 0), GLU())
        widths = [width * 2 ** (blocks - 1 - i) for i in range(blocks)]
        self.blocks = nn.Sequential(
            *(glu_up_block(a, b) for a, b in zip(widths, widths[1:], strict=False)), glu_up_block(width, channels)
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = self.labels(noise).softmax(dim=1)
        features = self.blocks(self.stem(noise[:, :, None, None]))
        return fit(torch.sigmoid(features), self.image_size), probabilities


class ImageGenerator(nn.Module):
    """DCGAN-style generator: latent (B, latent) -> images (B, C, H, W) in [0, 1]."""

    def __init__(self, latent: int, channels: int, image_size: tuple[int, int], width: int = 32) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
        blocks = upsamplings(image_size)
        self.top = width * 2 ** (blocks - 1)
        self.project = nn.Sequential(nn.Linear(latent, self.top * 16), nn.BatchNorm1d(self.top * 16), nn.ReLU())
        layers: list[nn.Module] = []
        channels_in = self.top
        for _ in range(blocks - 1):
            layers += [
                nn.ConvTranspose2d(channels_in, channels_in // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels_in // 2),
                nn.ReLU(),
            ]
            channels_in //= 2
        layers.append(nn.ConvTranspose2d(channels_in, channels, 4, 2, 1))
        self.blocks = nn.Sequential(*layers)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        features = self.project(latent).view(-1, self.top, 4, 4)
        return fit((torch.tanh(self.blocks(features)) + 1) / 2, self.image_size)


class Critic(nn.Module):
    """Convolutional critic without BatchNorm (the gradient penalty needs per-sample outputs)."""

    def __init__(self, channels: int, image_size: tuple[int, int], width: int = 32) -> None:
        super().__init__()
        self.side = side = 4 * 2 ** upsamplings(image_size)
        layers: list[nn.Module] = []
        channels_in, channels_out = channels, width
        while side > 4:
            layers += [nn.Conv2d(channels_in, channels_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            channels_in, channels_out, side = channels_out, channels_out * 2, side // 2
        self.features = nn.Sequential(*layers)
        self.score = nn.Linear(channels_in * 16, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = fit(images, (self.side, self.side))
        return self.score(self.features(images * 2 - 1).flatten(1)).squeeze(1)


CHECKPOINT_FORMAT = "image-generator/1"


def train_hint(dataset: str, path: str | Path) -> str:
    return f"train one with: python -m fedprivacy.cli.train_generator --dataset {dataset} --out {path}"


def save_checkpoint(path: str | Path, meta: dict, states: dict[str, dict]) -> None:
    """Write a generator checkpoint: the format tag, the metadata and the state dicts (generator, ...). The
    caller makes the write atomic (cli.train_generator writes a temporary name, utils/atomic.py); torch's
    failure to write (a full disk) is the OSError it is."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.save({"format": CHECKPOINT_FORMAT, "meta": meta, **states}, path)
    except RuntimeError as error:  # torch's writer reports a failed write as a RuntimeError
        raise OSError(f"torch could not write it: {str(error).strip().splitlines()[0]}") from None


def read_checkpoint(path: str | Path | None, flag: str = "--generator") -> dict:
    """Load a checkpoint written by save_checkpoint; a missing or foreign file is a one-line UsageError."""
    if not path:
        raise UsageError(f"{flag} PATH is required (a generator checkpoint); {train_hint('<dataset>', 'PATH')}")
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"{flag} {path}: no such file; {train_hint('<dataset>', path)}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file, whatever torch raises
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        hint = train_hint("<dataset>", path)
        raise UsageError(f"{flag} {path} is not a readable checkpoint ({first}); {hint}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{flag} {path} is not a checkpoint of cli.train_generator; {train_hint('<dataset>', path)}")
    return checkpoint


def load_image_generator(
    path: str | Path | None, image_shape: tuple[int, int, int], flag: str = "--generator"
) -> tuple[ImageGenerator, dict]:
    """The trained generator (eval mode) of a checkpoint whose images have `image_shape` (C, H, W)."""
    checkpoint = read_checkpoint(path, flag)
    meta = checkpoint["meta"]
    made = (meta["channels"], *meta["image_size"])
    if tuple(made) != tuple(image_shape):
        shape = "x".join(map(str, image_shape))
        raise UsageError(
            f"{flag} {path} makes {'x'.join(map(str, made))} images (trained on {meta['dataset']}) but the attacked "
            f"images are {shape}; {train_hint('<dataset of the attacked images>', path)}"
        )
    generator = ImageGenerator(meta["latent"], meta["channels"], tuple(meta["image_size"]), meta["width"])
    generator.load_state_dict(checkpoint["generator"])
    return generator.eval().requires_grad_(False), meta
