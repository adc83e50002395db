"""A plan as preset text and as a table; the fingerprint in a few lines."""

from __future__ import annotations

import yaml

from medunet.data import random_blobs
from medunet.planning import DatasetFingerprint, case_fingerprint, make_plan, plan_yaml
from medunet.planning.render import fingerprint_lines, plan_table


def _fingerprint() -> DatasetFingerprint:
    fp = DatasetFingerprint(2, False)
    lab = random_blobs((192, 192), 60, radius_range=(8.0, 12.0), seed=0)
    fp.add(case_fingerprint("case0", ((lab > 0) * 100.0 + 10)[None], lab, 2))
    return fp


def test_plan_yaml_reads_back_as_a_preset():
    plan = make_plan(_fingerprint(), "cpu", 300)
    text = plan_yaml(plan, ["a header"])
    assert text.startswith("# a header\nplan: false")
    assert yaml.safe_load(text) == {"plan": False, **plan.settings}
    assert all(f"# {why}" in text for why in plan.reasons.values())


def test_the_table_has_a_row_per_setting_with_its_reason():
    plan = make_plan(_fingerprint(), "cpu", 300)
    rows = plan_table(plan)
    assert rows[0].split() == ["setting", "value", "why"]
    assert len(rows) == 1 + len(plan.settings)
    sigma = next(r for r in rows if r.startswith("sigma "))
    assert plan.reasons["sigma"] in sigma


def test_fingerprint_lines_say_what_the_dataset_is_like():
    fp = _fingerprint()
    lines = fingerprint_lines(fp)
    assert lines[0].startswith("1 labelled images, 2D, instances labels, size [192, 192]")
    assert f"{fp.object_count} objects" in lines[1] and "touching pairs" in lines[1]
    assert "intensity median foreground 110" in lines[2]
