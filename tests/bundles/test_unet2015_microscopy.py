"""The microscopy bundle through ``python -m monai.bundle``: metadata, train, evaluate,
infer, resume, Z-stacks, DDP with gloo, TorchScript export."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch
from bundle_helpers import (
    BUNDLES,
    PRESETS,
    QUIET,
    ROOT,
    TINY_2D,
    TINY_3D,
    check,
    copy_bundle,
    make_dataset,
    run_bundle,
    task,
)
from monai.bundle import ConfigParser, verify_metadata, verify_net_in_out

from medunet.data import read_microscopy

NAME = "unet2015_microscopy"
CONFIGS = BUNDLES / NAME / "configs"
SCHEMA = ROOT / "tests" / "bundles" / "meta_schema_20240725.json"


def test_layout_and_metadata_schema_offline():
    for name in (
        "metadata.json",
        "common.yaml",
        "train.yaml",
        "inference.yaml",
        "evaluate.yaml",
        "multi_gpu_train.yaml",
        "logging.conf",
    ):
        assert (CONFIGS / name).is_file(), name
    assert (BUNDLES / NAME / "docs" / "README.md").is_file() and (
        BUNDLES / NAME / "LICENSE"
    ).is_file()
    verify_metadata(meta_file=str(CONFIGS / "metadata.json"), filepath=str(SCHEMA))
    meta = ConfigParser.load_config_file(CONFIGS / "metadata.json")
    image = meta["network_data_format"]["inputs"]["image"]
    pred = meta["network_data_format"]["outputs"]["pred"]
    assert len(image["spatial_shape"]) == len(pred["spatial_shape"]) == 2
    assert set(pred["channel_def"]) == {"0", "1"}


def test_net_in_out_and_tile_arithmetic_agree_with_metadata():
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(CONFIGS / "metadata.json"),
        config_file=str(CONFIGS / "inference.yaml"),
        device="cpu",
    )
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(CONFIGS.parent, "inference")])
    parser.read_meta(str(CONFIGS / "metadata.json"))
    net = parser.get_parsed_content("network_def")
    fmt = parser["_meta_"]["network_data_format"]
    size_in = fmt["inputs"]["image"]["spatial_shape"][0]
    assert net.output_size(size_in) == fmt["outputs"]["pred"]["spatial_shape"][0]


def _merged(name: str) -> dict:
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(CONFIGS.parent, name)])
    return parser.get()


def test_config_ids_monai_tools_rely_on():
    train = _merged("train")
    for key in (
        "bundle_root",
        "device",
        "dataset_dir",
        "network_def",
        "network",
        "output_dir",
        "run",
        "initialize",
        "val_interval",
    ):
        assert key in train, key
    for key in ("trainer", "dataset", "handlers"):
        assert key in train["train"]
    assert "max_epochs" in train["train"]["trainer"] and "data" in train["train"]["dataset"]
    assert "evaluator" in train["validate"] and "data" in train["validate"]["dataset"]
    infer = _merged("inference")
    for key in (
        "network_def",
        "preprocessing",
        "inferer",
        "postprocessing",
        "device",
        "dataset",
        "evaluator",
        "handlers",
        "output_dir",
    ):
        assert key in infer, key


@pytest.mark.slow
def test_train_evaluate_infer_resume_2d(tmp_path):
    data = make_dataset(tmp_path / "data")
    bundle = copy_bundle(NAME, tmp_path)
    common = ["--bundle_root", str(bundle), "--dataset_dir", str(data), *TINY_2D, *QUIET]
    train = task(bundle, "train")
    out = check(
        run_bundle(
            train,
            *common,
            "--train#trainer#max_epochs",
            "1",
            "--iterations_per_epoch",
            "3",
            "--val_interval",
            "1",
        )
    )
    assert "val_ap50" in out
    models = bundle / "models"
    assert (models / "model.pt").is_file() and (models / "checkpoint.pt").is_file()
    assert any((bundle / "eval" / "tensorboard").iterdir())

    # evaluate: per-image CSV and means
    out = check(
        run_bundle(
            task(bundle, "train", "evaluate"),
            *common,
            "--output_dir",
            str(tmp_path / "scores"),
        )
    )
    assert re.search(r"case\d\.tif: val_ap50 [0-9.]+, val_ap75", out)  # per-image log lines
    with open(tmp_path / "scores" / "val_ap50_raw.csv") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 2 and "imagesTr" in rows[1][0]  # header + the one validation image
    assert "val_rand_error" in (tmp_path / "scores" / "metrics.csv").read_text()

    # inference: one labels and one probability TIFF per test image, input pixel size kept
    pred_dir = tmp_path / "pred"
    infer = task(bundle, "inference")
    infer_args = ["--bundle_root", str(bundle), "--dataset_dir", str(data)]
    infer_args += ["--output_dir", str(pred_dir), *TINY_2D[:4]]
    check(run_bundle(infer, *infer_args))
    labels, meta = read_microscopy(pred_dir / "new0_labels.tif", channels=False)
    prob = tifffile.imread(pred_dir / "new0_prob.tif")
    assert labels.shape == (1, 48, 56) and prob.shape == (48, 56) and prob.dtype == np.float32
    assert meta["spacing"] == pytest.approx([0.5, 0.5]) and 0 <= prob.min() <= prob.max() <= 1
    # an existing prediction is kept unless overwrite is asked for
    proc = run_bundle(infer, *infer_args)
    assert proc.returncode != 0 and "new0_labels.tif exists" in proc.stdout + proc.stderr

    # a fresh run refuses to overwrite; resume continues the epoch count
    proc = run_bundle(train, *common, "--train#trainer#max_epochs", "1")
    assert proc.returncode != 0 and "exists from an earlier run" in proc.stdout + proc.stderr
    out = check(
        run_bundle(
            train,
            *common,
            "--train#trainer#max_epochs",
            "2",
            "--iterations_per_epoch",
            "3",
            "--val_interval",
            "1",
            "--resume",
            "True",
        )
    )
    assert re.search(r"resumed from .*checkpoint\.pt at epoch 1, iteration 3", out)
    assert "Epoch[2]" in out and "Epoch[1] Complete" not in out
    ckpt = torch.load(models / "checkpoint.pt", weights_only=False)
    assert ckpt["trainer"]["iteration"] == 6


@pytest.mark.slow
def test_zstack_train_and_infer_3d(tmp_path):
    data = make_dataset(tmp_path / "data", dims=3, n=2)
    bundle = copy_bundle(NAME, tmp_path)
    files = [*task(bundle, "train"), PRESETS / "microscopy_3d.yaml"]
    common = ["--bundle_root", str(bundle), "--dataset_dir", str(data), *TINY_3D, *QUIET]
    out = check(
        run_bundle(
            files,
            *common,
            "--train#trainer#max_epochs",
            "1",
            "--iterations_per_epoch",
            "2",
            "--val_interval",
            "1",
        )
    )
    assert "val_foreground_iou" in out
    infer = [*task(bundle, "inference"), PRESETS / "microscopy_3d.yaml"]
    check(
        run_bundle(
            infer,
            "--bundle_root",
            str(bundle),
            "--dataset_dir",
            str(data),
            "--output_dir",
            str(tmp_path / "pred"),
            *TINY_3D[:2],
        )
    )
    labels, meta = read_microscopy(
        tmp_path / "pred" / "new0_labels.tif", spatial_dims=3, channels=False
    )
    assert labels.shape == (1, 12, 30, 34) and meta["spacing"] == pytest.approx([2.0, 0.5, 0.5])


@pytest.mark.slow
def test_ddp_two_gloo_processes(tmp_path):
    data = make_dataset(tmp_path / "data")
    bundle = copy_bundle(NAME, tmp_path)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = run_bundle(
        task(bundle, "train", "multi_gpu_train"),
        "--bundle_root",
        str(bundle),
        "--dataset_dir",
        str(data),
        *TINY_2D,
        *QUIET,
        "--train#trainer#max_epochs",
        "2",
        "--iterations_per_epoch",
        "4",
        "--val_interval",
        "1",
        launcher=launcher,
        timeout=300,
    )
    out = check(proc)
    assert "rank 0 of 2 joined (gloo)" in out and "rank 1 of 2 joined (gloo)" in out
    assert "mean loss" in out and "over 2 iterations" in out  # 4 tiles per epoch, 2 per rank
    ckpt = torch.load(bundle / "models" / "checkpoint.pt", weights_only=False)
    assert ckpt["trainer"]["iteration"] == 4 and not any(
        k.startswith("module.") for k in ckpt["model"]
    )


@pytest.mark.slow
def test_ckpt_export_torchscript_matches_checkpoint(tmp_path):
    bundle = copy_bundle(NAME, tmp_path)
    parser = ConfigParser()
    parser.read_config([str(c) for c in task(CONFIGS.parent, "inference")])
    parser["channels"] = [4, 8, 16]
    net = parser.get_parsed_content("network_def")
    (bundle / "models").mkdir()
    torch.save(net.state_dict(), bundle / "models" / "model.pt")
    ts = tmp_path / "model.ts"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "monai.bundle",
            "ckpt_export",
            "network_def",
            "--filepath",
            str(ts),
            "--ckpt_file",
            str(bundle / "models/model.pt"),
            "--meta_file",
            str(CONFIGS / "metadata.json"),
            "--config_file",
            str([str(c) for c in task(CONFIGS.parent, "inference")]),
            "--channels",
            "[4,8,16]",
        ],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
    )
    check(proc)
    scripted = torch.jit.load(str(ts))
    x = torch.rand(1, 1, 60, 60)
    with torch.no_grad():
        assert torch.equal(scripted(x), net.eval()(x))
