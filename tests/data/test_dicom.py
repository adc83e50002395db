"""A folder of DICOM files: one series (a volume) or single files."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data.dicom import is_single_series

sitk = pytest.importorskip("SimpleITK")


def _series(folder, uid: str, slices: int, start: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    for k in range(slices):
        image = sitk.GetImageFromArray(np.full((1, 8, 8), k, np.int16))
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        image.SetMetaData("0020|000e", uid)  # series instance UID
        image.SetMetaData("0020|0013", str(k + 1))  # instance number
        image.SetMetaData("0020|0032", f"0\\0\\{k}")  # image position (patient)
        writer.SetFileName(str(folder / f"s{start + k:03d}.dcm"))
        writer.Execute(image)


def test_one_series_of_several_files_is_a_volume(tmp_path):
    _series(tmp_path / "ct", "1.2.826.0.1.3680043.8.498.1", 4)
    assert is_single_series(tmp_path / "ct")


def test_two_series_or_one_file_or_no_dicom_are_not(tmp_path):
    _series(tmp_path / "mixed", "1.2.826.0.1.3680043.8.498.1", 2)
    _series(tmp_path / "mixed", "1.2.826.0.1.3680043.8.498.2", 2, start=10)
    assert not is_single_series(tmp_path / "mixed")
    _series(tmp_path / "single", "1.2.826.0.1.3680043.8.498.3", 1)
    assert not is_single_series(tmp_path / "single")
    (tmp_path / "empty").mkdir()
    assert not is_single_series(tmp_path / "empty")
