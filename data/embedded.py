"""Offline datasets that ship inside installed packages, so a fresh clone runs without downloads.

`digits` is scikit-learn's 1,797 real 8x8 handwritten digits (first 1,437 train, last 360 test).
The `*_sample` sets are the 20 real test images per dataset in the foolbox 3.3.4 wheel; train and
test are the same 20 images, so they suit attacks, not training.
"""

import importlib.util
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fedprivacy.utils.errors import UsageError

FOOLBOX_PREFIX = {
    "cifar10_sample": ("cifar10", 10),
    "cifar100_sample": ("cifar100", 100),
    "mnist_sample": ("mnist", 10),
    "fmnist_sample": ("fashionMNIST", 10),
}
DIGITS_TRAIN = 1437


def foolbox_data_dir() -> Path:
    """Folder of foolbox's sample images, found without importing foolbox (it needs eagerpy)."""
    spec = importlib.util.find_spec("foolbox")
    if spec is None or spec.origin is None:
        raise UsageError("embedded sample images need foolbox: run 'make demo' or 'pip install -r requirements.txt'")
    return Path(spec.origin).parent / "data"


def load_foolbox_sample(name: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The 20 sample images of one dataset as (N, C, H, W) floats in [0, 1], labels, classes."""
    prefix, num_classes = FOOLBOX_PREFIX[name]
    files = sorted(foolbox_data_dir().glob(f"{prefix}_*.png"))
    images, labels = [], []
    for path in files:
        pixels = np.asarray(Image.open(path), dtype=np.float32) / 255.0
        images.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
        labels.append(int(path.stem.rsplit("_", 1)[1]))
    return torch.from_numpy(np.stack(images)), torch.tensor(labels), num_classes


def load_digits_split(split: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    """scikit-learn's digits as (N, 1, 8, 8) floats in [0, 1] and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    part = slice(0, DIGITS_TRAIN) if split == "train" else slice(DIGITS_TRAIN, None)
    return images[part], labels[part], 10
