"""Public knowledge: what the server learns from data, from which public source, disjoint from private images.

The rule: everything the server knows that comes from data comes from a source that is public and
disjoint from every client's private images. main_grad's client holds test images, so the server's
public split is the training split; main_fed's clients hold the training split, so the server's
public split is the test split it evaluates on. A dataset whose two splits are the same images
(the embedded samples, a flat image folder, an npz without both arrays) has no public split: the
server falls back to the dataset's published statistics, or the run is refused in one line. Each
use is named in the report under `public_knowledge` (what, from where, how many images, disjoint
from what).
"""

import math
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
from torch import nn

from fedprivacy.data import DatasetInfo, ImageSplit, Normalization, load_split, make_normalization
from fedprivacy.data.names import KNOWN_STATS, SAMPLE_PARENT, STATS_SAMPLE
from fedprivacy.models import MODEL_COPIES
from fedprivacy.models.imprint import imprint_model
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.memory import require_memory

PUBLIC_IMAGES = 5000  # at most this many public images estimate the imprint block's brightness quantiles


def distinct_splits(name: str, base_dir: str | Path) -> bool:
    """Whether the dataset's train and test splits hold different images (a flat folder, an npz with
    one split and the embedded samples do not: both names load the same images)."""
    base = Path(base_dir).expanduser()
    if name in SAMPLE_PARENT:
        return False
    if name == "imagefolder":
        return (base / "train").is_dir() and (base / "test").is_dir()
    if name == "npz":
        if not base.is_file():
            return False
        with np.load(base) as arrays:
            return {"train_x", "test_x"} <= set(arrays.files)
    return True


def source_name(name: str, base_dir: str | Path) -> str:
    """A dataset as the reports name it: an npz or image folder with its file or folder name."""
    return f"{name}:{Path(base_dir).name}" if name in ("npz", "imagefolder") else name


@dataclass
class PublicData:
    """The split the server may learn from beside the clients' split; loaded on first use, None when
    the dataset has no distinct one."""

    dataset: str
    base_dir: str
    image_size: int | None
    private: str  # the clients' split: "test" in main_grad, "train" in main_fed
    rgb: bool = False  # grey images repeated into 3 channels, as the clients' are

    @property
    def name(self) -> str:
        return "train" if self.private == "test" else "test"

    @cached_property
    def split(self) -> ImageSplit | None:
        if not distinct_splits(self.dataset, self.base_dir):
            return None
        try:
            return load_split(self.dataset, self.name, self.base_dir, False, self.image_size, rgb=self.rgb)
        except UsageError:  # not on disk: no public split
            return None

    def record(self, what: str, images: int) -> dict:
        """The report entry of one use of the public split."""
        return {
            "what": what,
            "from": f"{source_name(self.dataset, self.base_dir)} {self.name} split",
            "images": images,
            "disjoint_from": f"the {self.private} split (the attacked and the clients' images)",
        }


def published_stats(info: DatasetInfo) -> Normalization | None:
    """The per-channel statistics published for the dataset's family, if any."""
    family = SAMPLE_PARENT.get(info.name, info.name)
    return info.stats if family in KNOWN_STATS else None  # load_split took them from KNOWN_STATS (RGB-repeated)


def published_record(info: DatasetInfo, what: str) -> dict:
    family = SAMPLE_PARENT.get(info.name, info.name)
    return {"what": what, "from": f"published statistics of the {family} training set", "images": 0}


def server_normalization(
    info: DatasetInfo, normalize: bool, norm_stats: str, public: PublicData
) -> tuple[Normalization, dict | None]:
    """The run's normalisation, and its public source when it comes from data (--norm_stats dataset):
    published statistics, else measured on the public split, else a one-line refusal."""
    if not (normalize and norm_stats == "dataset"):
        return make_normalization(info, normalize, norm_stats), None
    what = "per-channel mean and std of --norm_stats dataset"
    stats = published_stats(info)
    if stats is not None:
        record = published_record(info, what)
    elif public.split is not None:
        stats, record = public.split.info.stats, public.record(what, min(len(public.split), STATS_SAMPLE))
    else:
        raise UsageError(
            f"--norm_stats dataset: --dataset {info.name} publishes no statistics and has no {public.name} split "
            f"apart from the {public.private} images to measure them on; use --norm_stats half or imagenet"
        )
    return make_normalization(replace(info, stats=stats), True, "dataset"), record


def imprint_server(
    model: nn.Module, info: DatasetInfo, bins: int, normalization: Normalization, public: PublicData
) -> tuple[nn.Module, dict]:
    """`model` behind the imprint block, bins at brightness quantiles of public images, else of the
    Gaussian of the published statistics; refused when the dataset has neither."""
    if bins < 2:
        raise UsageError(f"--bins {bins}: the imprint block needs at least 2 bins")
    what = "imprint bins (brightness quantiles)"
    shape = (info.channels, *info.image_size)
    require_memory(
        f"--bins {bins} on {'x'.join(map(str, shape))} images",
        MODEL_COPIES * 2 * bins * math.prod(shape),
        "lower --bins",
    )
    if public.split is not None and len(public.split) > 1:
        count = min(len(public.split), PUBLIC_IMAGES)
        images, _ = public.split.batch(list(range(count)))
        return imprint_model(model, shape, bins, normalization, normalization.normalize(images)), public.record(
            what, count
        )
    stats = published_stats(info)
    if stats is None:
        raise UsageError(
            f"--imprint: --dataset {info.name} publishes no statistics and has no {public.name} split apart from "
            f"the {public.private} images, so the server has no public brightness to set bins from "
            "(give it train/ and test/ folders, or train_x and test_x arrays)"
        )
    return imprint_model(model, shape, bins, normalization, None, replace(info, stats=stats)), published_record(
        info, f"{what}, Gaussian"
    )


def generator_record(meta: dict, public: PublicData, attacked: range) -> dict:
    """The GGL generator's training set from its checkpoint metadata; refused when it may hold the
    attacked or the clients' images (`attacked`: indices of the attacked images in the private split)."""
    trained_on = meta.get("dataset")
    record = {
        "what": "GGL generator's training set",
        "from": f"{trained_on} {meta.get('split', '?')} split",
        "images": meta.get("num_images"),
    }
    if trained_on not in (source_name(public.dataset, public.base_dir), public.dataset):
        return {**record, "disjoint_from": "a different dataset"}
    split, count = meta.get("split"), meta.get("num_images")
    if split == public.name and distinct_splits(public.dataset, public.base_dir):
        return {**record, "disjoint_from": f"the {public.private} split (the attacked and the clients' images)"}
    if split == public.private == "test" and count is not None and count <= attacked.start:
        return {**record, "disjoint_from": f"the attacked test images {attacked.start}-{attacked.stop - 1}"}
    raise UsageError(
        f"--generator: trained on {record['from']} ({count} images), which may hold the attacked or the clients' "
        f"images; {generator_fixes(split, count, public)}"
    )


def generator_fixes(split: str | None, count: int | None, public: PublicData) -> str:
    """The ways out of a refused generator that exist for this dataset and entry script: its public split
    (when the dataset has a distinct one) or, where the attacked images are test images from --start_index
    (main_grad), the test images the generator did not see."""
    distinct = distinct_splits(public.dataset, public.base_dir)
    fixes = [f"train it on the {public.name} split (cli.train_generator --split {public.name})"] if distinct else []
    if public.private == "test" and (split == "test" or not distinct):
        try:
            size = len(load_split(public.dataset, "test", public.base_dir, False, public.image_size, rgb=public.rgb))
        except UsageError:
            size = 0
        if count is not None and count < size:
            fixes.append(f"attack from --start_index {count} on (the test images it did not see)")
        elif size > 1:
            fixes.append(
                f"train it on the first K of the {size} images only (--num_images K, --batch_size at most K) "
                "and attack from --start_index K on"
            )
    if not fixes:
        return (
            f"--dataset {public.dataset} has no images apart from the clients' to train one on; "
            "train it on another dataset of the same image shape"
        )
    return " or ".join(fixes)
