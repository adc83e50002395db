"""Saving named after the input, with its pixel size, never over an existing file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from monai.data import MetaTensor

from medunet.data import read_microscopy
from medunet.transforms import SaveMicroscopyd, output_stem


def _image(name, shape=(1, 6, 8), spacing=(0.5, 0.25)):
    affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
    return MetaTensor(
        torch.zeros(shape), affine=affine, meta={"filename_or_obj": name, "unit": "um"}
    )


def test_output_stem():
    assert output_stem("/a/b/case_0000.ome.tif") == "case"
    assert output_stem(["/a/x.png", "/a/y.png"]) == "x"
    assert output_stem("scan.nii.gz") == "scan"


def test_save_names_after_input_keeps_spacing_and_refuses_overwrite(tmp_path):
    data = {"image": _image("/in/cells_0000.tif"), "lab": torch.ones(1, 6, 8, dtype=torch.int32)}
    saver = SaveMicroscopyd("lab", tmp_path, "_labels", overwrite=False)
    saver(data)
    array, meta = read_microscopy(tmp_path / "cells_labels.tif", channels=False)
    assert array.shape == (1, 6, 8) and meta["spacing"] == pytest.approx([0.5, 0.25])
    assert tifffile.imread(tmp_path / "cells_labels.tif").dtype == np.uint16
    with pytest.raises(FileExistsError, match=r"cells_labels\.tif exists"):
        saver(data)
