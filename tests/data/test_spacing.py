"""The run's target spacing: the median RAS spacing of the training set, stored once."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from medunet.data.spacing import dataset_spacing, ras_spacing, stored_spacing


def _volume(path, zooms, permute=False):
    affine = np.diag([*zooms, 1.0])
    if permute:  # voxel axes stored as (S, R, A): the first voxel axis runs superior
        affine = affine[:, [2, 0, 1, 3]]
    nib.save(nib.Nifti1Image(np.zeros((4, 5, 6), np.float32), affine), path)
    return {"image": str(path)}


def test_ras_spacing_follows_the_axes_to_ras():
    assert ras_spacing(np.diag([0.8, 0.9, 3.0, 1.0])) == pytest.approx([0.8, 0.9, 3.0])
    permuted = np.diag([0.8, 0.9, 3.0, 1.0])[:, [2, 0, 1, 3]]  # voxel axis 0 is S
    assert ras_spacing(permuted) == pytest.approx([0.8, 0.9, 3.0])
    flipped = np.diag([-0.8, 0.9, 3.0, 1.0])  # L->R flipped: the size is the same
    assert ras_spacing(flipped) == pytest.approx([0.8, 0.9, 3.0])


def test_median_of_the_training_set_stored_and_reused(tmp_path):
    items = [
        _volume(tmp_path / "a.nii.gz", (1.0, 1.0, 2.0)),
        _volume(tmp_path / "b.nii.gz", (1.0, 1.0, 5.0), permute=True),
        _volume(tmp_path / "c.nii.gz", (0.5, 1.0, 3.0)),
    ]
    store = tmp_path / "models" / "spacing.json"
    store.parent.mkdir()
    assert dataset_spacing(items, store) == pytest.approx([1.0, 1.0, 3.0])
    assert json.loads(store.read_text())["cases"] == 3
    assert stored_spacing(store) == pytest.approx([1.0, 1.0, 3.0])
    (store.parent / "checkpoint.pt").write_bytes(b"trained")  # an earlier run trained here
    assert dataset_spacing(items[:1], store, resume=True) == pytest.approx([1.0, 1.0, 3.0])
    with pytest.raises(FileExistsError):
        dataset_spacing(items[:1], store)
    assert dataset_spacing(items[:1], store, overwrite=True) == pytest.approx([1.0, 1.0, 2.0])


def test_a_failed_start_does_not_block_and_bad_files_are_named(tmp_path):
    store = tmp_path / "spacing.json"
    store.write_text(json.dumps({"spacing": [9, 9, 9], "cases": 1}))  # no checkpoint beside it
    item = _volume(tmp_path / "a.nii.gz", (2.0, 2.0, 2.0))
    assert dataset_spacing([item], store) == pytest.approx([2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        dataset_spacing([], tmp_path / "other.json")
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not a volume")
    with pytest.raises(ValueError, match=r"broken\.nii\.gz could not be read as NIfTI"):
        dataset_spacing([{"image": str(broken)}], tmp_path / "third.json")


def test_stored_spacing_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="train first, or set target_spacing"):
        stored_spacing(tmp_path / "spacing.json")
    (tmp_path / "spacing.json").write_text("{}")
    with pytest.raises(ValueError, match="not a valid spacing file"):
        stored_spacing(tmp_path / "spacing.json")


def test_headers_the_check_read_are_not_read_again(tmp_path, monkeypatch):
    from medunet.data.headers import check_volume_header, load_nifti

    item = _volume(tmp_path / "a.nii.gz", (1.0, 1.0, 2.0))
    check_volume_header(item["image"])
    loads: list = []
    original = nib.load
    monkeypatch.setattr(nib, "load", lambda *a, **k: loads.append(a) or original(*a, **k))
    assert dataset_spacing([item], tmp_path / "spacing.json") == pytest.approx([1.0, 1.0, 2.0])
    assert loads == []  # the check's image, looked at
    load_nifti(item["image"])  # still there for the loader
    assert loads == []
