"""``medunet export``: a standalone model-zoo bundle that MONAI runs from any folder, and
ONNX files that ``medunet infer`` runs on ONNX Runtime with PyTorch's outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from bundle_helpers import make_dataset, make_volume_dataset
from cli_helpers import TINY_2D, TINY_3D, medunet, ok, one_line_error

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
                 "models/model.pt", "models/model.onnx", "models/postprocess.json",
                 "docs/README.md", "LICENSE"):  # fmt: skip
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


# ---- ONNX: the export, the ONNX Runtime backend, MONAI's own onnx_export ----------------


def _same_outputs(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        if name.endswith(".nii.gz"):
            import nibabel as nib

            x, y = (np.asarray(nib.load(d / name).dataobj) for d in (a, b))
        else:
            x, y = tifffile.imread(a / name), tifffile.imread(b / name)
        assert x.shape == y.shape, name
        assert float(np.abs(x.astype(np.float64) - y).max()) <= 1e-4, name


@pytest.mark.slow
def test_onnx_runtime_backend_gives_the_pytorch_outputs_whole_and_streamed(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    run = tmp_path / "run"
    fp32 = ["--set", "autocast=null"]  # PyTorch in float32, as the ONNX file computes
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", run, *TINY_2D,
               "--epochs", "1", *fp32))  # fmt: skip
    model = run / "models" / "model.pt"
    images = data / "imagesTs"
    outputs = ["new0_labels.tif", "new0_prob.tif"]
    ok(medunet("infer", "unet2015_microscopy", images, "--model", model, "--output",
               tmp_path / "torch", *fp32))  # fmt: skip
    # a model.pt run on ONNX Runtime: exported for the run, hidden, removed afterwards
    out = ok(medunet("infer", "unet2015_microscopy", images, "--model", model, "--output",
                     tmp_path / "ort", "--backend", "onnxruntime"))  # fmt: skip
    assert "ONNX Runtime" in out
    assert sorted(p.name for p in (tmp_path / "ort").iterdir()) == outputs
    _same_outputs(tmp_path / "torch", tmp_path / "ort", outputs)
    # the exported file beside the model finds the run's settings, whole and streamed
    onnx = run / "models" / "model.onnx"
    out = ok(medunet("export", "unet2015_microscopy", "--model", model, "--format", "onnx",
                     "--output", onnx))  # fmt: skip
    assert "within" in out and f"--model {onnx}" in out
    for extra, name in (([], "whole"), (["--block-size", "32"], "streamed")):
        ok(medunet("infer", "unet2015_microscopy", images, "--model", onnx, "--output",
                   tmp_path / name, *extra))  # fmt: skip
        _same_outputs(tmp_path / "torch", tmp_path / name, outputs)
    proc = medunet("export", "unet2015_microscopy", "--model", model, "--format", "onnx",
                   "--output", onnx)  # fmt: skip
    one_line_error(proc, "export", "model.onnx", "exists")
    proc = medunet("export", "unet2015_microscopy", "--model", model, "--format", "onnx",
                   "--output", tmp_path / "model.ts")  # fmt: skip
    one_line_error(proc, "export", "model.ts", "*.onnx")


@pytest.mark.slow
def test_ct_mri_on_onnx_runtime_and_monai_onnx_export_of_both_bundles(tmp_path):
    data = make_volume_dataset(tmp_path / "data", np.diag([-1.2, -1.2, 2.0, 1.0]))
    run = tmp_path / "run"
    fp32 = ["--set", "autocast=null"]
    ok(medunet("train", "unet2015_ct_mri", "--data", data, "--output", run, "--epochs", "1",
               *TINY_3D, *fp32))  # fmt: skip
    model = run / "models" / "model.pt"
    for backend in ("pytorch", "onnxruntime"):
        ok(medunet("infer", "unet2015_ct_mri", data / "imagesTs", "--model", model, "--output",
                   tmp_path / backend, "--backend", backend, *fp32))  # fmt: skip
    _same_outputs(tmp_path / "pytorch", tmp_path / "onnxruntime", ["scan_seg.nii.gz"])
    # MONAI's own exporter on both exported bundles (a fixed tile: MONAI traces one shape)
    bundles = {"ct": ("unet2015_ct_mri", model)}
    data2d = make_dataset(tmp_path / "data2d", n=3)
    ok(medunet("train", "unet2015_microscopy", "--data", data2d, "--output", tmp_path / "run2d",
               *TINY_2D, "--epochs", "1"))  # fmt: skip
    bundles["cells"] = ("unet2015_microscopy", tmp_path / "run2d" / "models" / "model.pt")
    for key, (name, weights) in bundles.items():
        out = tmp_path / f"{key}_bundle"
        ok(medunet("export", name, "--model", weights, "--format", "bundle", "--output", out))
        assert (out / "models" / "model.onnx").is_file()
        proc = subprocess.run(
            [sys.executable, "-m", "monai.bundle", "onnx_export", "network_def",
             "--filepath", str(tmp_path / f"{key}.onnx"), "--ckpt_file",
             str(out / "models/model.pt"), "--meta_file", str(out / "configs/metadata.json"),
             "--config_file", str(out / "configs/inference.yaml"), "--bundle_root", str(out),
             "--key_in_ckpt", "model", "--use_trace", "True",
             "--converter_kwargs", '{"dynamo": false}'],
            capture_output=True, text=True, timeout=600, encoding="utf-8", errors="replace",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert (tmp_path / f"{key}.onnx").stat().st_size > 0
