"""Data: readers, data lists and samplers for the bundles, and the embedded sample."""

from __future__ import annotations

from medunet.data.cache import cached_dataset, transform_hash
from medunet.data.datalist import case_name, find_images, list_test_images, training_split
from medunet.data.images import (
    VOLUME_SUFFIXES,
    is_volume,
    read_label_image,
    volume_suffixes,
    write_like,
)
from medunet.data.io import atomic_path
from medunet.data.microscopy import (
    MICROSCOPY_SUFFIXES,
    MicroscopyReader,
    read_microscopy,
    write_microscopy_tiff,
)
from medunet.data.mni import write_hemisphere_split
from medunet.data.sample import load_sample, sample_paths, write_sample_split
from medunet.data.sampler import TileSampler
from medunet.data.spacing import dataset_spacing, ras_spacing, stored_spacing
from medunet.data.synthetic import random_blobs

__all__ = [
    "MICROSCOPY_SUFFIXES",
    "VOLUME_SUFFIXES",
    "MicroscopyReader",
    "TileSampler",
    "atomic_path",
    "cached_dataset",
    "case_name",
    "dataset_spacing",
    "find_images",
    "is_volume",
    "list_test_images",
    "load_sample",
    "random_blobs",
    "ras_spacing",
    "read_label_image",
    "read_microscopy",
    "sample_paths",
    "stored_spacing",
    "training_split",
    "transform_hash",
    "volume_suffixes",
    "write_hemisphere_split",
    "write_like",
    "write_microscopy_tiff",
    "write_sample_split",
]
