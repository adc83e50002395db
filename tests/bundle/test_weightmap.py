"""``medunet weightmap``'s work: the map on the labels' grid, every output checked first."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from medunet.bundle import write_weight_map


def test_writes_the_map_and_refuses_what_would_be_lost(tmp_path):
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:15], labels[5:15, 16:26] = 1, 2  # two objects one pixel apart
    tifffile.imwrite(tmp_path / "lab.tif", labels)
    out, png, weights = write_weight_map(tmp_path / "lab.tif", tmp_path / "w.tif",
                                         tmp_path / "w.png")  # fmt: skip
    assert out.is_file() and png.is_file() and weights.shape == (40, 40)
    assert weights[10, 15] > weights[30, 30] + 5  # the gap between them weighs most
    np.testing.assert_allclose(tifffile.imread(out), weights)
    with pytest.raises(FileExistsError, match=r"w\.tif exists; pass --overwrite"):
        write_weight_map(tmp_path / "lab.tif", tmp_path / "w.tif")
    with pytest.raises(ValueError, match=r"write a \.tif"):
        write_weight_map(tmp_path / "lab.tif", tmp_path / "w.nii.gz")
    with pytest.raises(ValueError, match=r"the preview is a \.png"):
        write_weight_map(tmp_path / "lab.tif", tmp_path / "w2.tif", tmp_path / "w.jpg")
    assert not (tmp_path / "w2.tif").exists()  # nothing written before the check
