"""The disk cache key covers the deterministic transforms' settings."""

from __future__ import annotations

import numpy as np
import pytest
from monai.transforms import Compose, RandFlipd

from medunet.data import cached_dataset, transform_hash
from medunet.transforms import BoundaryWeightMapd


def test_transform_hash_changes_with_settings_and_is_stable():
    a = transform_hash([BoundaryWeightMapd("label", sigma=5.0)])
    assert a == transform_hash([BoundaryWeightMapd("label", sigma=5.0)])
    assert a != transform_hash([BoundaryWeightMapd("label", sigma=4.0)])
    assert a != transform_hash([BoundaryWeightMapd("label", w0=5.0)])


def test_cached_dataset_kinds(tmp_path):
    data = [{"label": np.ones((1, 8, 8), np.int32)}]
    transform = Compose([BoundaryWeightMapd("label"), RandFlipd("label", prob=0.0)])
    disk = cached_dataset(data, transform, "disk", tmp_path / "cache")
    assert disk[0]["weight"].shape == (1, 8, 8) and any((tmp_path / "cache").iterdir())
    assert cached_dataset(data, transform, "memory")[0]["weight"].shape == (1, 8, 8)
    assert cached_dataset(data, transform, "none")[0]["weight"].shape == (1, 8, 8)
    with pytest.raises(ValueError, match="cache must be"):
        cached_dataset(data, transform, "ram")
