"""Datasets by name: real ones under --base_data_dir, embedded ones offline; normalisation.

The names (data/names.py) import without torch, for the entry scripts' --help; the loaders and types load
on first use (`from fedprivacy.data import load_split` works as usual)."""

from importlib import import_module

from fedprivacy.data.names import DATASETS, NORM_STATS

LAZY = {
    "DatasetInfo": "catalog",
    "ImageSplit": "catalog",
    "load_split": "catalog",
    "make_normalization": "catalog",
    "Normalization": "normalization",
}


def __getattr__(name: str) -> object:
    """The loaders and types, imported (with torch) when first asked for."""
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{LAZY[name]}"), name)


__all__ = ["DATASETS", "NORM_STATS", "DatasetInfo", "ImageSplit", "Normalization", "load_split", "make_normalization"]
