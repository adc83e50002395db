"""End to end: the real ``medunet`` console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MEDUNET = [sys.executable, "-m", "medunet"]


def test_info_reports_paper_configuration():
    res = subprocess.run([*MEDUNET, "info", "--size", "570"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "31,030,658 parameters" in res.stdout
    assert "nearest valid input: 572" in res.stdout
    assert "input 572 -> output 388 (halo 92 per side)" in res.stdout


@pytest.mark.slow
def test_demo_runs_and_writes_outputs(tmp_path):
    out = tmp_path / "demo"
    res = subprocess.run(
        [*MEDUNET, "demo", "--out", str(out), "--steps", "40"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 40
    assert metrics["test_dice"] > 0.5
    assert metrics["test_objects_true"] > 50 and metrics["test_objects_predicted"] > 10
    assert (out / "prediction.tif").is_file() and (out / "model.pt").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    checkpoint = (out / "model.pt").read_bytes()
    again = subprocess.run(
        [*MEDUNET, "demo", "--out", str(out), "--steps", "1"], capture_output=True, text=True
    )
    assert again.returncode == 2
    assert "model.pt exists and would be overwritten" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert (out / "model.pt").read_bytes() == checkpoint  # nothing lost


def test_demo_bad_steps_is_one_line_error(tmp_path):
    res = subprocess.run(
        [*MEDUNET, "demo", "--out", str(tmp_path), "--steps", "0"], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert res.stderr.strip() == "medunet demo: error: --steps must be at least 1, got 0."


def test_console_script_installed():
    script = shutil.which("medunet", path=str(Path(sys.executable).parent))
    assert script is not None, "the medunet console script is not installed beside python"
    res = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "demo" in res.stdout
