"""End to end: the real ``medunet`` command line, as a subprocess, on tiny data.

Every error path checks what a terminal shows (standard output and error together): exit
code 2, at most three lines, no traceback, the last line ``medunet <command>: error: ...``
naming the file or option and the fix, and that no partial output was left behind.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundles"))
from bundle_helpers import blocks_volume, make_dataset

MEDUNET = [sys.executable, "-m", "medunet"]
TINY_2D = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1",
           "--no-progress"]  # fmt: skip
TINY_3D = ["--set", "channels=[4,8]", "--set", "output_tile=16", "--set", "num_workers=0",
           "--set", "iterations_per_epoch=2", "--set", "val_interval=1", "--set", "num_classes=3",
           "--set", "modality=MR", "--no-progress"]  # fmt: skip


def _read_pty(cmd: list[str], env: dict, timeout: float) -> tuple[int, str]:
    """Run ``cmd`` with a pseudo-terminal as its stdin, stdout and stderr (as in a shell)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def medunet(*args: str | Path, timeout: float = 600, tty: bool = False):
    """The ``medunet`` command as a user runs it: standard output and error together, as a
    terminal shows them (``proc.stdout`` and ``proc.stderr`` both hold that text); with
    ``tty`` under a pseudo-terminal, otherwise through a pipe."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    cmd = [*MEDUNET, *map(str, args)]
    if tty:
        code, text = _read_pty(cmd, env, timeout)
    else:
        done = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env,
            encoding="utf-8", errors="replace",
        )  # fmt: skip
        code, text = done.returncode, done.stdout
    return subprocess.CompletedProcess(cmd, code, stdout=text, stderr=text)


def terminal_lines(text: str) -> list[str]:
    """What stays on a terminal: lines, each as its last carriage-return rewrite."""
    return [ln.split("\r")[-1] for ln in text.splitlines() if ln.split("\r")[-1].strip()]


def ok(proc: subprocess.CompletedProcess) -> str:
    if proc.returncode != 0:
        pytest.fail(f"exit code {proc.returncode}:\n{proc.stdout[-5000:]}")
    return proc.stdout


def one_line_error(proc: subprocess.CompletedProcess, command: str, *needles: str) -> str:
    """The error line of a failed command, checking what the terminal shows: exit code 2, at
    most 3 lines in all, no traceback, the last line ``medunet <command>: error: ...`` with
    the file or option and the fix (``needles``)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-4000:])
    assert "Traceback" not in proc.stdout, proc.stdout[-4000:]
    lines = terminal_lines(proc.stdout)
    assert len(lines) <= 3, "\n".join(lines[-20:])
    assert lines and lines[-1].startswith(f"medunet {command}: error:"), lines
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def no_temp_files(folder: Path) -> None:
    left = [p for p in folder.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert not left, left


def test_info_reports_versions_bundles_and_tile_arithmetic():
    out = ok(medunet("info"))
    assert "torch" in out and "monai" in out and "device:" in out
    assert "unet2015_microscopy" in out and "(2D)" in out and "unet2015_ct_mri" in out
    assert "quick_cpu_microscopy" in out
    out = ok(medunet("info", "--size", "570"))
    assert "31,030,658 parameters" in out and "nearest valid input: 572" in out
    assert "input 572 -> output 388 (halo 92 per side)" in out


@pytest.mark.parametrize(
    "command", ["train", "infer", "evaluate", "weightmap", "export", "info", "demo"]
)
def test_every_subcommand_has_help_with_an_example(command):
    out = ok(medunet(command, "--help"))
    assert "example" in out and f"medunet {command}" in out


def test_console_script_installed():
    script = shutil.which("medunet", path=str(Path(sys.executable).parent))
    assert script is not None, "the medunet console script is not installed beside python"
    res = subprocess.run([script, "--help"], capture_output=True, text=True, encoding="utf-8")
    assert res.returncode == 0 and "demo" in res.stdout


# ---- error paths that stop before any work ------------------------------------------


def test_unknown_bundle(tmp_path):
    proc = medunet("train", "no_such_bundle", "--data", tmp_path, "--output", tmp_path / "run")
    one_line_error(proc, "train", "no_such_bundle", "unet2015_microscopy")


def test_missing_data_and_bad_overrides(tmp_path):
    run = tmp_path / "run"
    proc = medunet("train", "unet2015_microscopy", "--data", tmp_path / "nope", "--output", run)
    one_line_error(proc, "train", "--data", "nope", "does not exist")
    data = make_dataset(tmp_path / "data", n=2)
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run, "--set", "wo=5")
    one_line_error(proc, "train", "'wo' is not a config id", "did you mean w0")
    proc = medunet(
        "train", "unet2015_microscopy", "--data", data, "--output", run, "--set", "w0=big"
    )
    one_line_error(proc, "train", "w0 takes a number", "'big'")
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run, "--epochs", "0")
    one_line_error(proc, "train", "argument --epochs: 0 is not positive", "--help")
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run, "--resume")
    one_line_error(proc, "train", "--resume", "checkpoint.pt does not exist")
    assert not run.exists() or not any(run.rglob("*.pt"))


def test_infer_without_model_says_where_it_looked(tmp_path):
    image = make_dataset(tmp_path / "data", n=1) / "imagesTs" / "new0.tif"
    proc = medunet("infer", "unet2015_microscopy", image, "--output", tmp_path / "out",
                   "--model", tmp_path / "run" / "models" / "model.pt")  # fmt: skip
    one_line_error(proc, "infer", "no trained model at", "run/models/model.pt", "medunet train")
    assert not (tmp_path / "out").exists()


def test_export_and_evaluate_bad_inputs(tmp_path):
    proc = medunet("export", "unet2015_microscopy", "--model", tmp_path / "m.pt",
                   "--output", tmp_path / "m.ts")  # fmt: skip
    one_line_error(proc, "export", "m.pt does not exist")
    (tmp_path / "pred").mkdir()
    (tmp_path / "truth").mkdir()
    tifffile.imwrite(tmp_path / "pred" / "a_labels.tif", np.zeros((8, 9), np.uint16))
    tifffile.imwrite(tmp_path / "truth" / "a.tif", np.zeros((8, 8), np.uint16))
    proc = medunet("evaluate", "--pred", tmp_path / "pred", "--truth", tmp_path / "truth",
                   "--output", tmp_path / "s.csv")  # fmt: skip
    one_line_error(proc, "evaluate", "a_labels.tif has shape (8, 9)", "a.tif has (8, 8)")
    assert not (tmp_path / "s.csv").exists()
    proc = medunet("evaluate", "--pred", tmp_path / "nope", "--truth", tmp_path / "truth")
    one_line_error(proc, "evaluate", "--pred", "is not a folder")


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
    data = tmp_path / "data"
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (data / sub).mkdir(parents=True)
    affine = np.diag([-1.2, -1.2, 2.0, 1.0])
    affine[:3, 3] = (20, 15, -7)
    for i in range(2):
        labels = blocks_volume((28, 24, 16), seed=i)
        image = (labels * 60.0 + np.random.default_rng(i).normal(0, 10, labels.shape)).astype(
            np.float32
        )
        nib.save(nib.Nifti1Image(image, affine), data / "imagesTr" / f"vol{i}.nii.gz")
        nib.save(nib.Nifti1Image(labels, affine), data / "labelsTr" / f"vol{i}.nii.gz")
    nib.save(nib.Nifti1Image(image[:, :20], affine), data / "imagesTs" / "scan.nii.gz")
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


@pytest.mark.slow
def test_demo_writes_every_output_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "demo"
    stdout = ok(medunet("demo", "--output", out, "--steps", "100", "--no-progress"))
    for name in ("prediction_labels.tif", "probability.tif", "overlay.png", "weight_map.png",
                 "training_curve.png", "metrics.json"):  # fmt: skip
        assert (out / name).is_file(), name
        assert str(out / name) in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("foreground_iou", "dice", "pixel_error", "rand_error", "warping_error", "ap50",
                "ap75", "merged", "split"):  # fmt: skip
        assert key in metrics and np.isfinite(metrics[key]), key
    assert metrics["nuclei_true"] == 57 and metrics["steps"] == 100
    assert tifffile.imread(out / "prediction_labels.tif").shape == (512, 256)
    assert tifffile.imread(out / "probability.tif").shape == (512, 256)
    before = (out / "metrics.json").read_bytes()
    proc = medunet("demo", "--output", out, "--steps", "100")
    one_line_error(proc, "demo", "exists from an earlier demo", "--overwrite")
    assert (out / "metrics.json").read_bytes() == before
    no_temp_files(out)
