"""``medunet check``: every problem at once, nothing written; a good dataset summarised."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from bundle_helpers import blocks_volume, make_dataset
from cli_helpers import TINY_3D, medunet, ok, one_line_error

SCHEMA = Path(__file__).resolve().parents[1] / "bundles" / "meta_schema_20240725.json"


def _volumes(root: Path) -> Path:
    """Two volumes with classes 0, 1 and 2 (one more than the bundle's default)."""
    for sub in ("imagesTr", "labelsTr"):
        (root / sub).mkdir(parents=True)
    for i in range(2):
        labels = blocks_volume(seed=i)
        nib.save(nib.Nifti1Image(labels * 20.0, np.eye(4)), root / "imagesTr" / f"v{i}.nii.gz")
        nib.save(nib.Nifti1Image(labels, np.eye(4)), root / "labelsTr" / f"v{i}.nii.gz")
    return root


def _files(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


def test_check_lists_every_problem_at_once_and_writes_nothing(tmp_path):
    data = make_dataset(tmp_path / "data", n=4)
    image = tifffile.imread(data / "imagesTr" / "case1.tif").astype(np.float32)
    image[3, 3] = np.nan
    tifffile.imwrite(data / "imagesTr" / "case1.tif", image, imagej=True)
    tifffile.imwrite(data / "labelsTr" / "case2.tif", np.zeros((10, 12), np.uint16))
    before = _files(tmp_path)
    proc = medunet("check", "unet2015_microscopy", "--data", data)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any("case1.tif holds 1 NaN/Inf values" in ln and "--set nonfinite_value=0" in ln
               for ln in lines), lines  # fmt: skip
    assert any("case2.tif has spatial shape (10, 12)" in ln for ln in lines), lines
    assert lines[-1].startswith("medunet check: error: 2 problem(s)")
    assert _files(tmp_path) == before  # nothing written, nothing touched
    # train runs the same check first: nothing is written, the first problem is named
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", tmp_path / "run")
    one_line_error(proc, "train", "case1.tif", "1 more", "medunet check")
    assert not (tmp_path / "run").exists()


def test_check_summarises_a_good_dataset_and_names_the_class_fix(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    out = ok(medunet("check", "unet2015_microscopy", "--data", data))
    assert "ready for unet2015_microscopy" in out and "2 training and 1 validation" in out
    assert "image size (48, 56)" in out and "objects" in out
    vols = _volumes(tmp_path / "vols")
    proc = medunet("check", "unet2015_ct_mri", "--data", vols)
    assert proc.returncode == 2 and "holds class 2" in proc.stderr
    assert "--set num_classes=3" in proc.stderr, proc.stderr
    out = ok(medunet("check", "unet2015_ct_mri", "--data", vols, "--set", "num_classes=3"))
    assert "classes [0, 1, 2]" in out and "median spacing 1 x 1 x 1" in out


@pytest.mark.slow
def test_a_failed_start_does_not_block_the_corrected_retry(tmp_path):
    vols = _volumes(tmp_path / "vols")
    run = tmp_path / "run"
    # diverges in its first iteration, after spacing.json was written: no checkpoint
    diverging = ["--set", "learning_rate=1e30", "--set", "optimizer_name=sgd"]
    proc = medunet("train", "unet2015_ct_mri", "--data", vols, "--output", run, "--epochs", "1",
                   *TINY_3D, *diverging)  # fmt: skip
    assert proc.returncode == 2 and (run / "models" / "spacing.json").is_file()
    assert not (run / "models" / "checkpoint.pt").exists()
    ok(medunet("train", "unet2015_ct_mri", "--data", vols, "--output", run, "--epochs", "1",
               *TINY_3D))  # fmt: skip
    assert (run / "models" / "checkpoint.pt").is_file()
