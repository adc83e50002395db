"""``medunet plan`` and the planned ``medunet train``: what a user sees and what is kept."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from bundle_helpers import make_dataset
from cli_helpers import medunet, ok, one_line_error, terminal_lines

TINY = ["--set", "num_workers=0", "--set", "iterations_per_epoch=2", "--set", "val_interval=1",
        "--set", "channels=[4,8,16]", "--set", "output_tile=20", "--no-progress"]  # fmt: skip
# the ids a run records that name its own folders, not its configuration
RUN_PATHS = {"bundle_root", "ckpt_dir", "output_dir", "cache_dir", "dataset_dir", "datalist"}


def test_plan_prints_the_fingerprint_and_a_table_and_writes_a_preset(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    out = ok(medunet("plan", "unet2015_microscopy", "--data", data, "--time-budget", "60"))
    lines = terminal_lines(out)
    assert "3 labelled images, 2D, instances labels" in out
    assert any(line.startswith("setting") and "why" in line for line in lines)
    for key in ("sigma", "w0", "min_object_size", "channels", "output_tile", "val_regions"):
        assert any(line.startswith(key + " ") for line in lines), key
    assert "Traceback" not in out and not (tmp_path / "plan.yaml").exists()
    target = tmp_path / "mine.yaml"
    ok(medunet("plan", "unet2015_microscopy", "--data", data, "--output", target, "--set",
               "w0=3"))  # fmt: skip
    plan = yaml.safe_load(target.read_text())
    assert plan["plan"] is False and "w0" not in plan  # --set w0 wins: not planned
    assert "w0" in target.read_text()  # ... and the header says so
    assert json.loads(target.with_suffix(".fingerprint.json").read_text())["cases"] == 3
    one_line_error(
        medunet("plan", "unet2015_microscopy", "--data", data, "--output", target),
        "plan", "--overwrite",
    )  # fmt: skip


def test_plan_of_a_missing_folder_is_one_line(tmp_path):
    one_line_error(
        medunet("plan", "unet2015_microscopy", "--data", tmp_path / "nope"), "plan", "--data"
    )


@pytest.mark.slow
def test_planned_run_is_reproduced_by_its_plan_and_moves_with_its_folder(tmp_path):
    data = make_dataset(tmp_path / "data", n=3)
    first = tmp_path / "first"
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", first,
               "--epochs", "2", *TINY))  # fmt: skip
    for name in ("plan.yaml", "fingerprint.json", "run.json", "config.json"):
        assert (first / name).is_file(), name
    run = json.loads((first / "run.json").read_text())
    assert run["presets"] == ["plan.yaml"]  # relative: the folder may move
    assert run["plan"]["settings"]["label_instances"] == "labels"
    assert "channels" in run["plan"]["left_to_presets"]  # --set channels won
    second = tmp_path / "second"
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", second,
               "--epochs", "2", "--preset", first / "plan.yaml", *TINY))  # fmt: skip
    again = json.loads((second / "run.json").read_text())
    assert "plan" not in again  # the plan was given: not planned again
    a, b = (json.loads((r / "config.json").read_text()) for r in (first, second))
    assert {k: v for k, v in a.items() if k not in RUN_PATHS} == {
        k: v for k, v in b.items() if k not in RUN_PATHS
    }
    moved = tmp_path / "moved"
    shutil.move(str(first), moved)
    ok(medunet("infer", "unet2015_microscopy", data / "imagesTs", "--model",
               moved / "models" / "model.pt", "--output", tmp_path / "pred"))  # fmt: skip
    assert (tmp_path / "pred" / "new0_labels.tif").is_file()
    third = tmp_path / "third"
    ok(medunet("train", "unet2015_microscopy", "--data", data, "--output", third,
               "--epochs", "1", "--no-plan", *TINY))  # fmt: skip
    assert json.loads((third / "run.json").read_text())["presets"] == []
    assert not (third / "plan.yaml").exists()
