"""Interrupted and repeated training through the real command line: SIGKILL mid-epoch then
``--resume``, a non-finite loss, and bit-identical weights for the same seed on the CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from bundle_helpers import make_dataset
from cli_helpers import MEDUNET, medunet, ok, one_line_error

from medunet.networks import UNet2015
from medunet.visualize import read_scalars

pytestmark = pytest.mark.slow

TINY = ["--set", "channels=[4,8,16]", "--set", "output_tile=20", "--set", "num_workers=0",
        "--set", "val_interval=1", "--no-progress", "--device", "cpu"]  # fmt: skip


def _epochs_logged(run: Path) -> list[int]:
    return sorted(step for step, _ in read_scalars(run / "tensorboard")["train_loss_epoch"])


def test_sigkill_mid_epoch_then_resume_continues_and_loses_nothing(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    run = tmp_path / "run"
    args = ["train", "unet2015_microscopy", "--data", str(data), "--output", str(run),
            "--epochs", "4", "--set", "iterations_per_epoch=40", *TINY]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([*MEDUNET, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    checkpoint = run / "models" / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be interrupted"
    time.sleep(0.5)  # into epoch 2 (40 steps take a few seconds)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = torch.load(checkpoint, weights_only=False)  # intact: written atomically
    done = state["trainer"]["iteration"] // 40
    assert 1 <= done < 4, done
    assert not [p for p in (run / "models").iterdir() if p.name.startswith(".")]

    out = ok(medunet(*args, "--resume"))
    assert "trained model" in out
    state = torch.load(checkpoint, weights_only=False)
    assert state["trainer"]["iteration"] == 4 * 40  # the epoch count continued to 4
    assert set(_epochs_logged(run)) == {1, 2, 3, 4}  # the TensorBoard log continued
    state = torch.load(run / "models" / "model.pt", weights_only=True)
    net = UNet2015(2, 1, state["head.bias"].shape[0], channels=(4, 8, 16))  # planned classes
    net.load_state_dict(state)
    assert torch.isfinite(net(torch.rand(1, 1, 60, 60))).all()


def test_non_finite_loss_stops_with_epoch_iteration_and_last_checkpoint(tmp_path):
    data = make_dataset(tmp_path / "data", n=2)
    run = tmp_path / "run"
    proc = medunet("train", "unet2015_microscopy", "--data", data, "--output", run,
                   "--epochs", "3", "--set", "iterations_per_epoch=4", "--set",
                   "learning_rate=1e30", "--set", "momentum=0.0", *TINY)  # fmt: skip
    line = one_line_error(proc, "train", "training loss is", "at epoch", "iteration",
                          "lower the learning rate")  # fmt: skip
    assert "checkpoint" in line
    if (run / "models" / "checkpoint.pt").exists():  # only finite weights were ever saved
        state = torch.load(run / "models" / "checkpoint.pt", weights_only=False)
        assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_same_seed_same_data_same_weights(tmp_path):
    data = make_dataset(tmp_path / "data", n=2)
    weights = []
    for name in ("a", "b"):
        ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", tmp_path / name,
                   "--epochs", "1", "--set", "iterations_per_epoch=6", *TINY))  # fmt: skip
        state = torch.load(tmp_path / name / "models" / "checkpoint.pt", weights_only=False)
        weights.append(state["model"])
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert np.array_equal(weights[0][key].numpy(), weights[1][key].numpy()), key
