"""3D Slicer segmentations: a ``.seg.nrrd`` read back (pynrrd) gives the labels, the geometry
of the NIfTI's affine in LPS, and one named segment per label value."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data.slicer import segment_names, write_seg_nrrd


def test_seg_nrrd_round_trip_from_slabs(tmp_path):
    nrrd = pytest.importorskip("nrrd")
    volume = np.random.default_rng(0).integers(0, 3, (9, 7, 11)).astype(np.uint8)
    affine = np.array([[-1.5, 0, 0, 10], [0, 1.2, 0, -5], [0, 0, 2.0, 3], [0, 0, 0, 1]])
    slabs = (volume[:, :, z : z + 4] for z in range(0, 11, 4))
    names = segment_names(2, ["grey matter", "white matter"])
    write_seg_nrrd(tmp_path / "s.seg.nrrd", slabs, volume.shape, affine, names, overwrite=False)
    data, header = nrrd.read(str(tmp_path / "s.seg.nrrd"))
    np.testing.assert_array_equal(data, volume)
    assert header["space"] == "left-posterior-superior"
    np.testing.assert_allclose(header["space directions"], np.diag([1.5, -1.2, 2.0]))
    np.testing.assert_allclose(header["space origin"], [-10, 5, 3])
    assert [header[f"Segment{i}_Name"] for i in range(2)] == names
    assert [header[f"Segment{i}_LabelValue"] for i in range(2)] == ["1", "2"]
    assert header["Segment0_Extent"] == "0 8 0 6 0 10"
    with pytest.raises(FileExistsError):
        write_seg_nrrd(tmp_path / "s.seg.nrrd", [volume], volume.shape, affine, names, False)


def test_segment_names_default_and_mismatch():
    assert segment_names(2) == ["class 1", "class 2"]
    with pytest.raises(ValueError, match="one name per label value"):
        segment_names(3, ["a", "b"])
