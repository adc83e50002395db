"""Volume headers: read without the voxels; NaN, zero or collapsed axes refused in one line."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medunet.data.headers import check_volume_header, read_volume_header


def _nifti(path, affine, shape=(6, 5, 4)):
    img = nib.Nifti1Image(np.zeros(shape, np.float32), None)
    img.set_sform(affine, code=1)
    img.set_qform(None, code=0)
    nib.save(img, path)
    return path


def test_nifti_and_nrrd_headers(tmp_path):
    affine = np.diag([1.5, 1.5, 3.0, 1.0])
    header = check_volume_header(_nifti(tmp_path / "a.nii.gz", affine, (6, 5, 4, 2)))
    assert header.shape == (6, 5, 4) and header.channels == 2
    np.testing.assert_allclose(header.spacing, [1.5, 1.5, 3.0])
    image = sitk.GetImageFromArray(np.zeros((4, 5, 6), np.float32))
    image.SetSpacing((0.5, 0.7, 2.0))
    sitk.WriteImage(image, str(tmp_path / "b.nrrd"))
    header = check_volume_header(tmp_path / "b.nrrd")
    assert header.shape == (6, 5, 4)
    np.testing.assert_allclose(header.spacing, [0.5, 0.7, 2.0])
    assert read_volume_header(tmp_path / "c.tif") is None  # not a volume header


@pytest.mark.parametrize(
    ("affine", "needle"),
    [
        (np.array([[1.0, 0, 0, np.nan], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "NaN or inf"),
        (np.diag([1.0, 1.0, 0.0, 1.0]), r"is singular \(voxel sizes 1, 1, 0\)"),
        (np.array([[1.0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "is singular"),
    ],
    ids=["nan", "zero_axis", "repeated_axis"],
)
def test_headers_that_place_the_volume_nowhere(tmp_path, affine, needle):
    path = _nifti(tmp_path / "bad.nii.gz", affine)
    with pytest.raises(ValueError, match=needle) as err:
        check_volume_header(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_an_unreadable_header_names_the_file(tmp_path):
    (tmp_path / "x.nii.gz").write_text("not a volume")
    with pytest.raises(ValueError, match=r"x\.nii\.gz could not be read"):
        check_volume_header(tmp_path / "x.nii.gz")
