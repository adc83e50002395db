"""Streamed writers: stripes or slabs of any height in, the whole array out, atomically."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import tifffile

from medunet.data.writers import write_nifti_slabs, write_tiled_tiff


def _stripes(array: np.ndarray, heights: list[int]):
    y = 0
    for h in heights:
        yield array[y : y + h]
        y += h


def test_tiled_tiff_from_uneven_stripes(tmp_path):
    array = np.random.default_rng(0).integers(0, 60000, (300, 530)).astype(np.uint16)
    heights = [64, 100, 1, 135]  # rows of tiles cut across stripes, a last short row
    write_tiled_tiff(tmp_path / "a.tif", _stripes(array, heights), array.shape, np.uint16,
                     (0.5, 0.25), overwrite=False)  # fmt: skip
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert tif.pages[0].is_tiled and tif.is_bigtiff
        np.testing.assert_array_equal(tif.asarray(), array)
    with pytest.raises(FileExistsError):
        write_tiled_tiff(tmp_path / "a.tif", iter([array]), array.shape, np.uint16, (1, 1),
                         overwrite=False)  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_nifti_from_slabs_keeps_the_affine(tmp_path):
    volume = np.random.default_rng(1).integers(0, 4, (9, 7, 11)).astype(np.uint8)
    affine = np.diag([-1.5, 1.2, 2.0, 1.0])
    affine[:3, 3] = (4, -3, 7)
    slabs = (volume[:, :, z : z + 4] for z in range(0, 11, 4))
    write_nifti_slabs(tmp_path / "s.nii.gz", slabs, volume.shape, affine, overwrite=False)
    img = nib.load(tmp_path / "s.nii.gz")
    np.testing.assert_array_equal(np.asarray(img.dataobj), volume)
    np.testing.assert_allclose(img.affine, affine)
