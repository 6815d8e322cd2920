"""Checks of user-supplied data on load: an .npz file's arrays (dtype, layout, range, labels) and the
images of a folder, each problem one line naming the file."""

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fedprivacy.utils.errors import UsageError

MAX_CLASSES = 100_000  # a label beyond this is a corrupt file, not a task (the model would need one output each)
CHANNELS = (1, 3)


def refuse(path: Path, problem: str) -> UsageError:
    return UsageError(f"--dataset npz: {path}: {problem}")


def open_npz(path: Path) -> Mapping[str, np.ndarray]:
    """The arrays of an .npz archive (never unpickled); anything else is refused."""
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # numpy's reasons name pickles, not the format
        raise refuse(path, "not an .npz archive of arrays (numpy.savez writes one)") from None
    if isinstance(arrays, np.ndarray):
        raise refuse(path, f"a single array of shape {arrays.shape} (.npy); save test_x, test_y with numpy.savez")
    return arrays


def read_array(arrays: Mapping[str, np.ndarray], name: str, path: Path) -> np.ndarray:
    """One named array; a missing, object (pickled) or damaged one is refused."""
    if name not in arrays:
        raise refuse(path, f"no '{name}' array (has {sorted(arrays)})")
    try:
        return arrays[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise refuse(path, f"'{name}' cannot be read without pickle or is damaged ({str(error)[:120]})") from None


def npz_pixels(x: np.ndarray, name: str, path: Path) -> np.ndarray:
    """Images N,H,W or N,H,W,C (C 1 or 3) as float32 N,C,H,W in [0, 1]: integers 0..255 are divided by
    255, floats must already be in [0, 1] and are kept as they are."""
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in CHANNELS):
        looks = (
            " (this looks like N,C,H,W: store x.transpose(0, 2, 3, 1))"
            if x.ndim == 4 and x.shape[1] in CHANNELS
            else ""
        )
        raise refuse(path, f"'{name}' has shape {x.shape}; need N,H,W or N,H,W,C with C 1 or 3{looks}")
    if 0 in x.shape:
        raise refuse(path, f"'{name}' is empty (shape {x.shape})")
    if x.dtype.kind in "ui":
        if x.min() < 0 or x.max() > 255:
            raise refuse(path, f"'{name}' integer pixels must lie in 0..255 (found {x.min()}..{x.max()})")
        pixels = x.astype(np.float32) / 255.0
    elif x.dtype.kind == "f":
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise refuse(
                path,
                f"'{name}' float pixels must be finite and in [0, 1] (found {np.nanmin(x):g}..{np.nanmax(x):g}); "
                "store raw 0..255 pixels as uint8",
            )
        pixels = x.astype(np.float32)
    else:
        raise refuse(path, f"'{name}' has dtype {x.dtype}; pixels must be uint8 0..255 or floats in [0, 1]")
    return pixels[:, None] if pixels.ndim == 3 else pixels.transpose(0, 3, 1, 2)


def npz_labels(y: np.ndarray, name: str, path: Path, count: int, classes: int | None) -> np.ndarray:
    """Integer labels, one per image, in 0..classes-1 (at most MAX_CLASSES without a 'classes' array)."""
    if y.ndim != 1 or y.dtype.kind not in "ui":
        raise refuse(path, f"'{name}' must be a 1-D integer array (found shape {y.shape}, dtype {y.dtype})")
    if len(y) != count:
        raise refuse(path, f"'{name}' has {len(y)} labels for {count} images")
    limit = MAX_CLASSES if classes is None else classes
    if y.min() < 0 or y.max() >= limit:
        where = f"the {classes} names in 'classes'" if classes is not None else "without a 'classes' array"
        raise refuse(path, f"'{name}' labels must lie in 0..{limit - 1} ({where}); found {y.min()}..{y.max()}")
    return y.astype(np.int64)


def npz_classes(arrays: Mapping[str, np.ndarray], path: Path) -> list[str] | None:
    """The optional 'classes' array of class names."""
    if "classes" not in arrays:
        return None
    names = read_array(arrays, "classes", path)
    if names.ndim != 1 or len(names) == 0:
        raise refuse(path, f"'classes' must be a non-empty 1-D array of names (found shape {names.shape})")
    return [str(c) for c in names]


def decode_failure(path: Path, error: Exception) -> UsageError:
    """An image file that cannot be decoded, as one line naming it."""
    return UsageError(f"--dataset imagefolder: {path} cannot be decoded as an image ({str(error)[:120]})")
