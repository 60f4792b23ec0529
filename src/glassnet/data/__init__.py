"""Datasets (offline, seeded, train/test splits), standardization and data augmentation."""

from . import augment
from .datasets import (
    DATASETS,
    Dataset,
    load_blobs,
    load_circles,
    load_csv,
    load_dataset,
    load_digits,
    load_iris,
    load_mnist1d,
    load_moons,
    load_spirals,
    load_xor,
)
from .preprocessing import Standardizer, standardize

__all__ = [
    "DATASETS", "Dataset", "augment", "Standardizer", "load_blobs", "load_circles", "load_csv", "load_dataset",
    "load_digits", "load_iris", "load_mnist1d", "load_moons", "load_spirals", "load_xor",
    "standardize",
]
