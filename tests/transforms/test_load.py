"""SafeLoadImaged: read errors that name the file; a header checked once is not read again."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pytest

from medunet.data.headers import check_volume_header
from medunet.transforms import SafeLoadImaged


def _scan(path, value=1.0):
    data = np.full((6, 5, 4), value, np.float32)
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 3.0, 1.0])), path)
    return path


def _count_loads(monkeypatch) -> list:
    calls: list = []
    original = nib.load

    def counted(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(nib, "load", counted)
    return calls


def test_missing_and_broken_files_are_named(tmp_path):
    load = SafeLoadImaged("image", image_only=True)
    with pytest.raises(ValueError, match=r"nowhere\.nii\.gz does not exist"):
        load({"image": str(tmp_path / "nowhere.nii.gz")})
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(_scan(tmp_path / "ok.nii.gz").read_bytes()[:60])
    with pytest.raises(ValueError, match=r"broken\.nii\.gz could not be read .*extension"):
        load({"image": str(broken)})


def test_a_checked_header_is_handed_to_the_loader_once(tmp_path, monkeypatch):
    scan = str(_scan(tmp_path / "scan.nii.gz", 2.0))
    loads = _count_loads(monkeypatch)
    header = check_volume_header(scan)
    image = SafeLoadImaged("image", image_only=True, ensure_channel_first=True)({"image": scan})
    assert len(loads) == 1  # the check's; the loader took its image
    assert image["image"].shape == (1, 6, 5, 4) and float(image["image"].max()) == 2.0
    np.testing.assert_allclose(image["image"].affine.numpy(), header.affine)
    SafeLoadImaged("image", image_only=True)({"image": scan})
    assert len(loads) == 2  # handed on once: a second load reads the file itself


def test_a_file_changed_after_its_check_is_read_again(tmp_path, monkeypatch):
    scan = tmp_path / "scan.nii.gz"
    _scan(scan, 1.0)
    check_volume_header(scan)
    _scan(scan, 5.0)  # rewritten between the check and the load
    st = os.stat(scan)
    os.utime(scan, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    image = SafeLoadImaged("image", image_only=True)({"image": str(scan)})
    assert float(image["image"].max()) == 5.0


def test_a_given_reader_is_kept(tmp_path, monkeypatch):
    from monai.data import ITKReader

    scan = str(_scan(tmp_path / "scan.nii.gz"))
    check_volume_header(scan)
    loads = _count_loads(monkeypatch)
    image = SafeLoadImaged("image", reader=ITKReader, image_only=True)({"image": scan})
    assert image["image"].shape == (6, 5, 4) and loads == []  # ITK read it, not nibabel
