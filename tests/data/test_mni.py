"""The MNI152 hemisphere split: left trains, right tests, world coordinates kept."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from medunet.data.mni import write_hemisphere_split


def _template(folder, shape=(20, 12, 10)):
    folder.mkdir()
    affine = np.array([[1.0, 0, 0, -10], [0, 1, 0, -6], [0, 0, 1, -5], [0, 0, 0, 1]])
    x = np.arange(shape[0])[:, None, None] * np.ones(shape)
    gm = np.where(x % 4 < 2, 200, 0).astype(np.uint8)
    wm = np.where(x % 4 == 3, 200, 0).astype(np.uint8)
    for name, data in (("t1", x.astype(np.float32)), ("gm", gm), ("wm", wm)):
        nib.save(nib.Nifti1Image(data, affine), folder / f"{name}.nii.gz")
    return affine


def test_left_trains_right_tests_in_world_coordinates(tmp_path):
    affine = _template(tmp_path / "mni")
    out = write_hemisphere_split(tmp_path / "mni", tmp_path / "split", step=2)
    left = nib.load(out / "imagesTr" / "mni_left.nii.gz")
    right = nib.load(out / "imagesTs" / "mni_right.nii.gz")
    assert left.shape == (5, 6, 5) and right.shape == (5, 6, 5)  # x = 0 mm at voxel 10
    np.testing.assert_allclose(left.affine[:3, :3], affine[:3, :3] * 2)
    assert right.affine[0, 3] == pytest.approx(0.0)  # the right half starts at x = 0 mm
    assert float(np.asarray(right.dataobj)[0, 0, 0]) == 10.0  # its voxel is the template's 10
    labels = np.asarray(nib.load(out / "labelsTr" / "mni_left.nii.gz").dataobj)
    assert set(np.unique(labels).tolist()) <= {0, 1, 2}
    datalist = json.loads((out / "evaluate.json").read_text())
    assert datalist["validation"][0]["label"] == "labelsTs/mni_right.nii.gz"


def test_a_missing_map_is_named(tmp_path):
    _template(tmp_path / "mni")
    (tmp_path / "mni" / "wm.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"wm\.nii\.gz is missing"):
        write_hemisphere_split(tmp_path / "mni", tmp_path / "split")
