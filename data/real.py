"""Real datasets on disk under --base_data_dir: torchvision sets, Tiny-ImageNet, image folders, npz."""

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import datasets, transforms

from fedprivacy.data import validation
from fedprivacy.data.names import TORCHVISION_SETS
from fedprivacy.utils.errors import UsageError

TORCHVISION = dict(
    zip(TORCHVISION_SETS, (datasets.MNIST, datasets.FashionMNIST, datasets.CIFAR10, datasets.CIFAR100), strict=True)
)
SPLITS = ("train", "test")  # sub-folders of an image folder that hold the two splits


def missing(name: str, where: Path, hint: str) -> UsageError:
    return UsageError(
        f"--dataset {name}: not found in {where} (--base_data_dir); set BASE_DATADIR or "
        f"--base_data_dir to the folder that holds it{hint}, or use an embedded set "
        "(digits, cifar10_sample, cifar100_sample, mnist_sample, fmnist_sample)"
    )


def to_tensor(image_size: int | None) -> transforms.Compose:
    steps = [transforms.Resize((image_size, image_size))] if image_size else []
    return transforms.Compose([*steps, transforms.ToTensor()])


def load_torchvision(
    name: str, split: str, base_dir: Path, download: bool, image_size: int | None
) -> tuple[Dataset, list[str]]:
    """MNIST, Fashion-MNIST, CIFAR-10/100 as torchvision lays them out; --download fetches them."""
    if not download and not base_dir.is_dir():
        raise missing(name, base_dir, ", pass --download")
    try:
        dataset = TORCHVISION[name](
            str(base_dir), train=split == "train", download=download, transform=to_tensor(image_size)
        )
    except RuntimeError as error:
        raise missing(name, base_dir, ", pass --download") from error
    return dataset, list(dataset.classes)


class FileList(Dataset):
    """Images read from a list of (path, label), converted to RGB tensors in [0, 1]."""

    def __init__(self, items: list[tuple[Path, int]], image_size: int | None):
        self.items = items
        self.transform = to_tensor(image_size)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path, label = self.items[index]
        try:
            return self.transform(Image.open(path).convert("RGB")), label
        except (OSError, ValueError, SyntaxError) as error:  # PIL's errors for unreadable or truncated files
            raise validation.decode_failure(path, error) from None


def load_tiny_imagenet(split: str, base_dir: Path, image_size: int | None) -> tuple[Dataset, list[str]]:
    """Tiny-ImageNet-200 from base_dir/tiny-imagenet-200 (train folders; val via annotations)."""
    root = base_dir / "tiny-imagenet-200"
    if not (root / "wnids.txt").is_file():
        raise missing("tiny_imagenet", root, "")
    classes = sorted((root / "wnids.txt").read_text().split())
    index = {wnid: i for i, wnid in enumerate(classes)}
    if split == "train":
        items = [(p, index[p.parts[-3]]) for p in sorted((root / "train").glob("*/images/*.JPEG"))]
    else:
        rows = [line.split("\t") for line in (root / "val" / "val_annotations.txt").read_text().splitlines()]
        items = [(root / "val" / "images" / row[0], index[row[1]]) for row in rows if row]
    return FileList(items, image_size or 64), classes


def load_image_folder(split: str, base_dir: Path, image_size: int | None) -> tuple[Dataset, list[str]]:
    """Any folder of class sub-folders (or train/ and test/ folders of them), resized."""
    if not base_dir.is_dir():
        raise missing("imagefolder", base_dir, "")
    splits = [name for name in SPLITS if (base_dir / name).is_dir()]
    if splits and split not in splits:
        raise UsageError(
            f"--dataset imagefolder: {base_dir} has {splits[0]}/ but no {split}/; add {split}/ "
            f"or point --base_data_dir at {base_dir / splits[0]}"
        )
    root = base_dir / split if splits else base_dir
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
    items = [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((root / name).rglob("*"))
        if path.suffix.lower() in suffixes
    ]
    if not items:
        raise missing("imagefolder", root, " (class sub-folders of images)")
    return FileList(items, image_size or 32), classes


def load_npz(split: str, path: Path) -> tuple[torch.Tensor, torch.Tensor, list[str] | None]:
    """Arrays {split}_x (uint8 0..255 or float [0, 1], N,H,W[,C]), {split}_y and optional class names from
    one .npz file, validated (data/validation.py)."""
    if not path.is_file():
        raise missing("npz", path, " (a .npz file with test_x/test_y)")
    arrays = validation.open_npz(path)
    classes = validation.npz_classes(arrays, path)
    pixels = validation.npz_pixels(validation.read_array(arrays, f"{split}_x", path), f"{split}_x", path)
    labels = validation.npz_labels(
        validation.read_array(arrays, f"{split}_y", path),
        f"{split}_y",
        path,
        len(pixels),
        None if classes is None else len(classes),
    )
    return torch.from_numpy(np.ascontiguousarray(pixels)), torch.from_numpy(labels), classes
