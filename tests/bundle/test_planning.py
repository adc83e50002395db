"""Planning a run from its dataset: the plan leaves what a preset or --set fixes."""

from __future__ import annotations

import yaml
from bundle_helpers import make_dataset

from medunet.bundle import layer_config, resolve_bundle
from medunet.bundle.planning import plan_dataset, planning_enabled, write_plan
from medunet.bundle.training import data_overrides


def test_the_plan_comes_from_the_data_and_leaves_what_set_fixes(tmp_path):
    data = make_dataset(tmp_path / "d", n=3)
    bundle = resolve_bundle("unet2015_microscopy")
    free = plan_dataset(layer_config(bundle, "train"), data_overrides(data), "cpu", 60.0)
    assert free.report.ok and free.fingerprint.cases
    assert "sigma" in free.plan.settings and "min_object_size" in free.plan.settings
    fixed = layer_config(bundle, "train", settings=["sigma=7.5"])
    planned = plan_dataset(fixed, data_overrides(data), "cpu", 60.0)
    assert "sigma" not in planned.plan.settings and "sigma" in planned.kept
    assert planning_enabled(fixed) and not planning_enabled(fixed, {"plan": False})
    plan_file = write_plan(planned, tmp_path / "run", str(data), bundle.name)
    written = yaml.safe_load(plan_file.read_text())
    assert "sigma" not in written and written["plan"] is False  # a preset that plans no more
    assert written["min_object_size"] == planned.plan.settings["min_object_size"]
