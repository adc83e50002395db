"""Data: the embedded sample and readers for the project's image formats."""

from __future__ import annotations

from medunet.data.io import atomic_path
from medunet.data.sample import load_sample, sample_paths
from medunet.data.synthetic import random_blobs

__all__ = ["atomic_path", "load_sample", "random_blobs", "sample_paths"]
