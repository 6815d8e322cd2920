"""The dataset catalogue: one `load_split` for every name, returning [0, 1] images and metadata."""

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset
from torchvision.transforms import v2

from fedprivacy.data import embedded, real
from fedprivacy.data.names import DATASETS, IMAGENET_STATS, KNOWN_STATS, SAMPLE_PARENT, STATS_SAMPLE
from fedprivacy.data.normalization import Normalization
from fedprivacy.utils.data_dir import DATA_DIR
from fedprivacy.utils.domains import IMAGE_SIZE
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.memory import require_memory


@dataclass(frozen=True)
class DatasetInfo:
    """Public facts about a dataset: shape, classes and its per-channel statistics."""

    name: str
    channels: int
    image_size: tuple[int, int]
    num_classes: int
    class_names: tuple[str, ...]
    stats: Normalization

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, *self.image_size)


@dataclass
class ImageSplit:
    """One split: a torch Dataset of ([0, 1] image (C, H, W), label) and its DatasetInfo."""

    dataset: Dataset
    info: DatasetInfo

    def __len__(self) -> int:
        return len(self.dataset)

    def batch(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Stack the given items into (images (N, C, H, W), labels (N,)); refused up front if they would not fit."""
        require_memory(
            f"{len(indices)} images of {'x'.join(map(str, self.info.shape))}",
            len(indices) * math.prod(self.info.shape),
            "lower --image_size",
        )
        items = [self.dataset[i] for i in indices]
        return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


class Augmented(Dataset):
    """Random crop with 4-pixel padding, plus horizontal flips for colour images."""

    def __init__(self, dataset: Dataset, channels: int, size: tuple[int, int]):
        self.dataset = dataset
        steps = [v2.RandomCrop(size, padding=4)] + ([v2.RandomHorizontalFlip()] if channels == 3 else [])
        self.transform = v2.Compose(steps)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[index]
        return self.transform(image), label


class AsRGB(Dataset):
    """Grey images repeated into three channels, as GRNN's official code feeds MNIST to its LeNet-5."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[index]
        return image.expand(3, -1, -1), label


def resize(images: torch.Tensor, image_size: int | None) -> torch.Tensor:
    if not image_size or images.shape[-1] == image_size and images.shape[-2] == image_size:
        return images
    require_memory(
        f"{len(images)} images of {images.shape[1]}x{image_size}x{image_size}",
        2 * len(images) * images.shape[1] * image_size**2,
        "lower --image_size",
    )
    return F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True).clamp(0, 1)


def in_memory(name: str, split: str, base_dir: Path) -> tuple[torch.Tensor, torch.Tensor, int, list[str] | None]:
    if name == "digits":
        return (*embedded.load_digits_split(split), None)
    if name in SAMPLE_PARENT:
        return (*embedded.load_foolbox_sample(name), None)
    images, labels, classes = real.load_npz(split, base_dir)
    return images, labels, int(labels.max()) + 1 if classes is None else len(classes), classes


def measured_stats(dataset: Dataset, shape: torch.Size) -> Normalization:
    count = min(len(dataset), STATS_SAMPLE)
    require_memory(
        f"{count} images of {'x'.join(map(str, shape))} (statistics)", count * shape.numel(), "lower --image_size"
    )
    images = torch.stack([dataset[i][0] for i in range(count)])
    return Normalization(tuple(images.mean((0, 2, 3)).tolist()), tuple(images.std((0, 2, 3)).clamp_min(1e-3).tolist()))


def load_split(
    name: str,
    split: str = "test",
    base_dir: str | Path = DATA_DIR,
    download: bool = False,
    image_size: int | None = None,
    augment: bool = False,
    rgb: bool = False,
) -> ImageSplit:
    """Load one split ('train' or 'test') of a dataset by name; images in [0, 1] (grey ones as RGB with `rgb`)."""
    if name not in DATASETS:
        raise UsageError(f"--dataset {name!r} is unknown; choose one of: {', '.join(DATASETS)}")
    base_dir = Path(base_dir).expanduser()
    if name in real.TORCHVISION:
        dataset, classes = real.load_torchvision(name, split, base_dir, download, image_size)
        num_classes = len(classes)
    elif name == "tiny_imagenet":
        dataset, classes = real.load_tiny_imagenet(split, base_dir, image_size)
        num_classes = len(classes)
    elif name == "imagefolder":
        dataset, classes = real.load_image_folder(split, base_dir, image_size)
        num_classes = len(classes)
    else:
        images, labels, num_classes, classes = in_memory(name, split, base_dir)
        dataset = TensorDataset(resize(images, image_size), labels)
    if len(dataset) == 0:
        raise UsageError(f"--dataset {name}: the {split} split is empty")
    first = dataset[0][0]
    if rgb and first.shape[0] != 1:
        raise UsageError(f"--rgb applies only to grey images; --dataset {name} has {first.shape[0]} channels")
    if rgb:
        dataset, first = AsRGB(dataset), first.expand(3, -1, -1)
    if min(first.shape[1:]) < IMAGE_SIZE.low:
        raise UsageError(
            f"--dataset {name}: its images are {first.shape[1]}x{first.shape[2]} pixels; the metrics need at least "
            f"{IMAGE_SIZE.low} a side (resize with --image_size)"
        )
    family = SAMPLE_PARENT.get(name, name)
    if family in KNOWN_STATS:
        mean, std = KNOWN_STATS[family]
        stats = Normalization(mean * 3, std * 3) if rgb else Normalization(mean, std)
    else:
        stats = measured_stats(dataset, first.shape)
    info = DatasetInfo(
        name=name,
        channels=first.shape[0],
        image_size=(first.shape[1], first.shape[2]),
        num_classes=num_classes,
        class_names=tuple(classes) if classes else tuple(str(i) for i in range(num_classes)),
        stats=stats,
    )
    if augment:
        dataset = Augmented(dataset, info.channels, info.image_size)
    return ImageSplit(dataset, info)


def dataset_label(name: str, base_dir: str | Path) -> str:
    """The dataset's name in output file names; an npz file is named by its file name."""
    return Path(base_dir).stem if name == "npz" else name


def make_normalization(info: DatasetInfo, normalize: bool, stats: str = "half") -> Normalization:
    """The normalisation a run uses: none, mean/std 0.5 (the original implementation's), the dataset's, or ImageNet's.

    ImageNet's statistics are what the shared pretrained ResNet-20 was trained with.
    """
    if not normalize:
        return Normalization.identity(info.channels)
    if stats == "dataset":
        return info.stats
    if stats == "imagenet":
        if info.channels != len(IMAGENET_STATS[0]):
            raise UsageError(
                f"--norm_stats imagenet: ImageNet's statistics are for {len(IMAGENET_STATS[0])} channels, --dataset "
                f"{info.name} has {info.channels}; use --norm_stats half or dataset, or --rgb for grey images"
            )
        return Normalization(*IMAGENET_STATS)
    return Normalization((0.5,) * info.channels, (0.5,) * info.channels)
