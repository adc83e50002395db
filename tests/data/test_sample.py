"""The embedded sample is the real nuclei2d image."""

from __future__ import annotations

import numpy as np
import tifffile

from medunet.data import load_sample


def test_sample_shapes_and_labels():
    image, labels = load_sample()
    assert image.shape == labels.shape == (512, 512)
    assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0
    assert len(np.unique(labels)) - 1 == 125


def test_sample_matches_shared_data(shared_data):
    _, labels = load_sample()
    np.testing.assert_array_equal(labels, tifffile.imread(shared_data / "nuclei2d/labels.tif"))
