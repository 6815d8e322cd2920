"""Datasets by name: real ones under --base_data_dir, embedded ones offline; normalisation."""

from fedprivacy.data.catalog import DATASETS, DatasetInfo, ImageSplit, load_split, make_normalization
from fedprivacy.data.normalization import Normalization

__all__ = ["DATASETS", "DatasetInfo", "ImageSplit", "Normalization", "load_split", "make_normalization"]
