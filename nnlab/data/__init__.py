"""Data: bundled and synthetic datasets, user files, splits, batching, preprocessing, augmentation."""
from .datasets import (
    KNOWN_DATASETS, ArrayDataset, DataError, DataFileNotFoundError, DatasetSplits, kfold, load_csv,
    load_dataset, load_digits8x8, load_image_folder, load_images, load_mnist5k, load_npz, make_blobs,
    make_circles, make_moons, make_spiral, make_xor, train_dev_test_split,
)
from .loader import DataLoader
from .preprocessing import (
    PCA, MeanSubtract, MinMaxScale, Pipeline, Preprocessor, Standardize, Whiten, preprocessor_from_state,
)
from . import transforms

__all__ = [
    "KNOWN_DATASETS", "ArrayDataset", "DataError", "DataFileNotFoundError", "DatasetSplits", "kfold",
    "load_csv", "load_dataset", "load_digits8x8", "load_image_folder", "load_images", "load_mnist5k", "load_npz",
    "make_blobs", "make_circles", "make_moons", "make_spiral", "make_xor", "train_dev_test_split",
    "DataLoader", "PCA", "MeanSubtract", "MinMaxScale", "Pipeline", "Preprocessor", "Standardize",
    "Whiten", "preprocessor_from_state", "transforms",
]
