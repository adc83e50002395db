"""Single label images: read with their grid, written atomically like their source."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import tifffile

from medunet.data.images import (
    VOLUME_SUFFIXES,
    is_volume,
    read_label_image,
    volume_suffixes,
    write_like,
)


def test_volume_suffixes_and_is_volume():
    assert volume_suffixes() == [*VOLUME_SUFFIXES, "/"]
    assert "/" not in volume_suffixes(dicom_series=False)
    assert is_volume("a/B.NII.GZ") and is_volume("x.mha") and not is_volume("cells.tif")


def test_a_volume_round_trips_with_its_affine(tmp_path):
    affine = np.array([[0, 0, 2.0, 5], [1.5, 0, 0, -3], [0, 1.5, 0, 7], [0, 0, 0, 1]])
    labels = np.zeros((4, 5, 6), np.uint8)
    labels[1:3, 2:4, 1:5] = 2
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "lab.nii.gz")
    array, meta = read_label_image(tmp_path / "lab.nii.gz")
    assert array.dtype == np.int64 and (array == labels).all()
    np.testing.assert_allclose(meta["affine"], affine)
    assert meta["spacing"] == pytest.approx([1.5, 1.5, 2.0])
    out = write_like(tmp_path / "copy.nii.gz", array.astype(np.uint8), meta)
    np.testing.assert_allclose(nib.load(out).affine, affine)
    with pytest.raises(FileExistsError):
        write_like(out, array, meta)
    with pytest.raises(ValueError, match=r"write volumes as \.nii\.gz"):
        write_like(tmp_path / "copy.nrrd", array, meta)


def test_a_tiff_keeps_its_pixel_size(tmp_path):
    labels = np.arange(12, dtype=np.uint16).reshape(3, 4)
    write_like(tmp_path / "lab.tif", labels, {"spacing": [0.5, 0.25]})
    array, meta = read_label_image(tmp_path / "lab.tif")
    assert (array == labels).all() and meta["spacing"] == pytest.approx([0.5, 0.25])
    assert meta["affine"] is None
    with pytest.raises(ValueError, match=r"write \.tif \(images\) or \.nii\.gz"):
        write_like(tmp_path / "lab.png", labels, {})


def test_bad_label_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"none\.tif does not exist"):
        read_label_image(tmp_path / "none.tif")
    with pytest.raises(ValueError, match="is a folder"):
        read_label_image(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown file type"):
        read_label_image(tmp_path / "notes.txt")
    tifffile.imwrite(tmp_path / "float.tif", np.full((3, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"float\.tif"):
        read_label_image(tmp_path / "float.tif")
    (tmp_path / "broken.nii.gz").write_bytes(b"\x1f\x8b not really")
    with pytest.raises(ValueError, match=r"broken\.nii\.gz could not be read as a volume"):
        read_label_image(tmp_path / "broken.nii.gz")
