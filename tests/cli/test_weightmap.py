"""``medunet weightmap``: the map and its preview, for TIFF and NIfTI labels."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import tifffile
from bundle_helpers import blocks_volume
from cli_helpers import medunet, no_temp_files, ok, one_line_error


def test_weightmap_writes_map_and_preview_and_refuses_bad_files(tmp_path):
    labels = np.zeros((40, 50), np.uint16)
    labels[5:20, 5:24] = 1
    labels[5:20, 24:40] = 2  # two touching objects
    tifffile.imwrite(tmp_path / "lab.tif", labels)
    out = ok(medunet("weightmap", tmp_path / "lab.tif", "--output", tmp_path / "w.tif",
                     "--preview", tmp_path / "w.png"))  # fmt: skip
    assert "weight map:" in out
    w = tifffile.imread(tmp_path / "w.tif")
    assert w.shape == labels.shape and np.isfinite(w).all() and w.max() > 5
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = medunet("weightmap", tmp_path / "lab.tif", "--output", tmp_path / "w.tif")
    one_line_error(proc, "weightmap", "w.tif exists", "--overwrite")
    (tmp_path / "bad.tif").write_text("not a tiff at all")
    proc = medunet("weightmap", tmp_path / "bad.tif", "--output", tmp_path / "w2.tif")
    one_line_error(proc, "weightmap", "bad.tif could not be read")
    proc = medunet("weightmap", tmp_path / "missing.tif", "--output", tmp_path / "w2.tif")
    one_line_error(proc, "weightmap", "missing.tif does not exist")
    tifffile.imwrite(tmp_path / "float.tif", np.full((8, 8), 0.5, np.float32))
    proc = medunet("weightmap", tmp_path / "float.tif", "--output", tmp_path / "w2.tif")
    one_line_error(proc, "weightmap", "float.tif holds non-integer values")
    assert not (tmp_path / "w2.tif").exists()
    no_temp_files(tmp_path)


def test_weightmap_of_a_nifti_keeps_its_affine(tmp_path):
    affine = np.diag([0.8, 0.8, 2.0, 1.0])
    affine[:3, 3] = (10, -5, 3)
    nib.save(nib.Nifti1Image(blocks_volume((20, 18, 10)), affine), tmp_path / "lab.nii.gz")
    ok(medunet("weightmap", tmp_path / "lab.nii.gz", "--output", tmp_path / "w.nii.gz"))
    w = nib.load(tmp_path / "w.nii.gz")
    assert w.shape == (20, 18, 10) and np.allclose(w.affine, affine)
    proc = medunet("weightmap", tmp_path / "lab.nii.gz", "--output", tmp_path / "w.tif")
    one_line_error(proc, "weightmap", "write a .nii.gz")


# ---- the bundles through the command line --------------------------------------------
