"""Run records: presets by name, a run's own plan relative to it, found from the model."""

from __future__ import annotations

import json

import pytest

from medunet.bundle import read_run, resolve_bundle, write_run
from medunet.bundle.registry import resolve_preset


def test_a_record_names_shipped_presets_and_moves_with_its_folder(tmp_path):
    run = tmp_path / "run"
    (run / "models").mkdir(parents=True)
    (run / "plan.yaml").write_text("sigma: 3.0\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("w0: 5\n")
    presets = [resolve_preset("quick_cpu_microscopy"), run / "plan.yaml", mine]
    write_run(run, resolve_bundle("unet2015_microscopy"), presets, {"w0": 5.0}, plan={"a": 1})
    stored = json.loads((run / "run.json").read_text())
    assert stored["presets"] == ["quick_cpu_microscopy", "plan.yaml", str(mine.resolve())]
    moved = tmp_path / "moved"
    run.rename(moved)
    record = read_run(moved / "models" / "model.pt")
    assert record["presets"][1] == str(moved / "plan.yaml") and record["set"] == {"w0": 5.0}
    assert record["plan"] == {"a": 1}
    assert read_run(tmp_path / "elsewhere" / "model.pt") is None


def test_a_broken_record_says_how_to_fix_it(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"run\.json is not valid JSON.*delete or repair"):
        read_run(tmp_path / "model.pt")
