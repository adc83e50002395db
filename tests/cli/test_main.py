"""The ``medunet`` command itself: help for every subcommand, the console script, and the
errors before a subcommand runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bundle_helpers import make_dataset
from cli_helpers import medunet, ok, one_line_error


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
