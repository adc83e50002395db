"""``medunet check`` (every problem at once, nothing written) and ``medunet export --format
bundle`` (a standalone model-zoo bundle that MONAI runs from any folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from test_cli import TINY_2D, TINY_3D, medunet, ok, one_line_error

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundles"))
from bundle_helpers import blocks_volume, make_dataset

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


@pytest.mark.slow
def test_exported_bundle_runs_from_any_folder_and_verifies(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    run = tmp_path / "run"
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", run, "--epochs", "1",
               "--preset", "quick_cpu_microscopy", *TINY_2D))  # fmt: skip
    out = tmp_path / "cells_bundle"
    ok(medunet("export", "unet2015_microscopy", "--model", run / "models/model.pt",
               "--format", "bundle", "--output", out))  # fmt: skip
    for name in ("configs/inference.yaml", "configs/train.yaml", "configs/metadata.json",
                 "models/model.pt", "models/postprocess.json", "docs/README.md",
                 "LICENSE"):  # fmt: skip
        assert (out / name).is_file(), name
    meta = json.loads((out / "configs/metadata.json").read_text())
    assert meta["version"] == "0.1.0+run" and "0.1.0+run" in meta["changelog"]
    assert "val_ap50" in meta["eval_metrics"] and meta["medunet"]["bundle"] == "unet2015_microscopy"
    assert meta["network_data_format"]["outputs"]["pred"]["num_channels"] == 3  # border class
    readme = (out / "docs/README.md").read_text()
    assert str(data) in readme and "quick_cpu_microscopy" in readme and "val_ap50" in readme
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mon = [sys.executable, "-m", "monai.bundle"]
    verify = subprocess.run([*mon, "verify_metadata", "--meta_file",
                             str(out / "configs/metadata.json"), "--filepath", str(SCHEMA)],
                            cwd=elsewhere, capture_output=True, text=True, encoding="utf-8",
                            errors="replace")  # fmt: skip
    assert verify.returncode == 0 and "verified with no error" in verify.stdout + verify.stderr
    pred = tmp_path / "pred"
    proc = subprocess.run([*mon, "run", "--config_file", str(out / "configs/inference.yaml"),
                           "--bundle_root", str(out), "--dataset_dir", str(data),
                           "--output_dir", str(pred)],
                          cwd=elsewhere, capture_output=True, text=True, timeout=600,
                          encoding="utf-8", errors="replace")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert tifffile.imread(pred / "new0_labels.tif").shape == (48, 56)
    proc = medunet("export", "unet2015_microscopy", "--model", run / "models/model.pt",
                   "--format", "bundle", "--output", out)  # fmt: skip
    one_line_error(proc, "export", "exists", "--overwrite")
