"""``medunet train`` end to end: train, resume, infer, evaluate, export; Z-stacks; CT/MRI on
the input grid; bad training pairs."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch
from bundle_helpers import make_dataset, make_volume_dataset
from cli_helpers import TINY_2D, TINY_3D, medunet, no_temp_files, ok, one_line_error


@pytest.mark.slow
def test_microscopy_train_resume_infer_evaluate_export(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    run = tmp_path / "run"
    train = ["train", "unet2015_microscopy", "--data", data, "--output", run, "--device", "cpu"]
    ok(medunet(*train, "--epochs", "1", *TINY_2D))
    for name in ("models/model.pt", "models/checkpoint.pt", "config.json", "run.json"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").iterdir())
    config = json.loads((run / "config.json").read_text())
    assert config["channels"] == [4, 8, 16] and config["max_epochs"] == 1
    checkpoint = (run / "models" / "checkpoint.pt").read_bytes()
    # an earlier run is never overwritten by accident
    one_line_error(
        medunet(*train, "--epochs", "1"),
        "train",
        "checkpoint.pt exists from an earlier run",
        "--resume",
    )
    assert (run / "models" / "checkpoint.pt").read_bytes() == checkpoint
    # --resume continues with the run's own settings (run.json): epoch 2 only
    out = ok(medunet(*train, "--epochs", "2", "--resume", "--no-progress"))
    assert "trained model" in out
    state = torch.load(run / "models" / "checkpoint.pt", weights_only=False)
    assert state["trainer"]["iteration"] == 4 and state["trainer"]["max_epochs"] == 2

    pred = tmp_path / "pred"
    model = run / "models" / "model.pt"
    ok(medunet("infer", "unet2015_microscopy", data / "imagesTs", data / "imagesTr" / "case1.tif",
               "--model", model, "--output", pred, "--tta"))  # fmt: skip
    assert sorted(p.name for p in pred.iterdir()) == [
        "case1_labels.tif", "case1_prob.tif", "new0_labels.tif", "new0_prob.tif"
    ]  # fmt: skip
    labels = tifffile.imread(pred / "new0_labels.tif")
    assert labels.shape == tifffile.imread(data / "imagesTs" / "new0.tif").shape
    again = medunet("infer", "unet2015_microscopy", data / "imagesTs", "--model", model,
                    "--output", pred)  # fmt: skip
    one_line_error(again, "infer", "new0_labels.tif", "exists")
    assert tifffile.imread(pred / "new0_labels.tif").tobytes() == labels.tobytes()
    (tmp_path / "bad.txt").write_text("x")
    one_line_error(
        medunet(
            "infer",
            "unet2015_microscopy",
            tmp_path / "bad.txt",
            "--model",
            model,
            "--output",
            tmp_path / "p2",
        ),
        "infer",
        "bad.txt",
        "this bundle reads",
    )

    truth = tmp_path / "truth"
    truth.mkdir()
    shutil.copy(data / "labelsTr" / "case1.tif", truth / "case1.tif")
    shutil.copy(data / "labelsTr" / "case0.tif", truth / "new0.tif")  # new0 = case0's image
    out = ok(medunet("evaluate", "--pred", pred, "--truth", truth, "--output", tmp_path / "s.csv"))
    assert "ap50" in out and "mean" in out and "foreground_iou" in out
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert rows[0].startswith("case,") and len(rows) == 4 and rows[-1].startswith("mean,")

    ts = tmp_path / "model.ts"
    ok(medunet("export", "unet2015_microscopy", "--model", model, "--output", ts))
    scripted = torch.jit.load(str(ts))
    from medunet.networks import UNet2015

    state = torch.load(model, weights_only=True)
    classes = state["head.bias"].shape[0]  # 3 where the plan chose the border class
    net = UNet2015(2, 1, classes, channels=(4, 8, 16))
    net.load_state_dict(state)
    x = torch.rand(1, 1, 60, 60)
    assert torch.equal(scripted(x), net.eval()(x))
    no_temp_files(tmp_path / "pred")


@pytest.mark.slow
def test_z_stack_trains_and_infers_with_the_3d_preset(tmp_path):
    """ImageJ Z-stacks (ZYX) with instance labels: the preset's spatial_dims (3), not the
    bundle's (2), shapes the check, the plan, training and inference."""
    data = make_dataset(tmp_path / "data", dims=3, n=3)
    run = tmp_path / "run"
    tiny = ["--set", "channels=[4,8]", "--set", "output_tile=8", "--set", "num_workers=0",
            "--set", "iterations_per_epoch=2", "--no-progress"]  # fmt: skip
    train = ["train", "unet2015_microscopy", "--data", data, "--output", run, "--device", "cpu"]
    out = ok(medunet(*train, "--preset", "microscopy_3d", "--epochs", "1", *tiny))
    assert "trained model" in out
    assert json.loads((run / "config.json").read_text())["spatial_dims"] == 3
    state = torch.load(run / "models" / "model.pt", weights_only=True)
    assert state["head.weight"].dim() == 5  # a 3D network: (out, in, 1, 1, 1)
    pred = tmp_path / "pred"
    ok(medunet("infer", "unet2015_microscopy", data / "imagesTs", "--model",
               run / "models" / "model.pt", "--output", pred))  # fmt: skip
    image = tifffile.imread(data / "imagesTs" / "new0.tif")
    labels = tifffile.imread(pred / "new0_labels.tif")
    assert image.shape == labels.shape == (12, 30, 34)
    assert tifffile.imread(pred / "new0_prob.tif").shape == image.shape


@pytest.mark.slow
def test_ct_mri_train_and_infer_nifti_on_the_input_grid(tmp_path):
    affine = np.diag([-1.2, -1.2, 2.0, 1.0])
    affine[:3, 3] = (20, 15, -7)
    data = make_volume_dataset(tmp_path / "data", affine)
    run = tmp_path / "run"
    ok(medunet("train", "unet2015_ct_mri", "--data", data, "--output", run, "--epochs", "1",
               *TINY_3D))  # fmt: skip
    assert (run / "models" / "spacing.json").is_file()
    ok(medunet("infer", "unet2015_ct_mri", data / "imagesTs", "--model", run / "models/model.pt",
               "--output", tmp_path / "pred"))  # fmt: skip
    seg = nib.load(tmp_path / "pred" / "scan_seg.nii.gz")
    assert seg.shape == (28, 20, 16) and np.allclose(seg.affine, affine)
    tifffile.imwrite(tmp_path / "x.tif", np.zeros((4, 4), np.uint8))
    proc = medunet("infer", "unet2015_ct_mri", tmp_path / "x.tif", "--model",
                   run / "models/model.pt", "--output", tmp_path / "p2")  # fmt: skip
    one_line_error(proc, "infer", "x.tif", ".nii.gz")


@pytest.mark.slow
def test_bad_training_pairs_fail_in_one_line_and_leave_no_checkpoint(tmp_path):
    data = make_dataset(tmp_path / "data", n=2)
    tifffile.imwrite(data / "labelsTr" / "case1.tif", np.zeros((10, 10), np.uint16))
    run = tmp_path / "run"
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run,
                   "--epochs", "1", *TINY_2D)  # fmt: skip
    one_line_error(proc, "train", "case1.tif")
    assert not (run / "models" / "checkpoint.pt").exists()
    (data / "labelsTr" / "case1.tif").write_bytes(b"II*\x00garbage")
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run,
                   "--epochs", "1", *TINY_2D)  # fmt: skip
    one_line_error(proc, "train", "case1.tif could not be read")
