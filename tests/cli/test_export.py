"""``medunet export --format bundle``: a standalone model-zoo bundle that MONAI runs from any
folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tifffile
from bundle_helpers import make_dataset
from cli_helpers import TINY_2D, medunet, ok, one_line_error

SCHEMA = Path(__file__).resolve().parents[1] / "bundles" / "meta_schema_20240725.json"


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
