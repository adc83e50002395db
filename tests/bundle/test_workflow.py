"""run_workflow: MONAI's ConfigWorkflow with overrides, the merged config saved, the caller's
log policy applied once the components exist, finalize run whatever happens."""

from __future__ import annotations

import json

import pytest

from medunet.bundle.workflow import run_workflow

CONFIG = """
value: 1
out: ""
fail: false
initialize: []
run:
  - "$open(@out, 'w').write(str(@value))"
  - "$(_ for _ in ()).throw(ValueError('asked to fail')) if @fail else None"
finalize:
  - "$open(@out + '.final', 'w').write('done')"
"""


def test_overrides_saved_config_and_log_policy(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "value.txt"
    calls = []
    run_workflow([config], {"value": 5, "out": str(out)}, save_config=tmp_path / "config.json",
                 log_policy=calls.append, log_file=tmp_path / "medunet.log")  # fmt: skip
    assert out.read_text() == "5" and (tmp_path / "value.txt.final").read_text() == "done"
    assert calls == [tmp_path / "medunet.log"]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["value"] == 5 and saved["out"] == str(out)


def test_finalize_runs_when_the_run_fails(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "value.txt"
    with pytest.raises(Exception, match="asked to fail"):
        run_workflow([config], {"out": str(out), "fail": True})
    assert (tmp_path / "value.txt.final").read_text() == "done"
