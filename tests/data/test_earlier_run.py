"""One rule for an earlier run in the way, one message."""

from __future__ import annotations

import pytest

from medunet.data.earlier_run import earlier_run, refuse_earlier_run


def test_an_earlier_run_is_found_and_refused(tmp_path):
    assert earlier_run(tmp_path) is None
    refuse_earlier_run(tmp_path)  # nothing there: nothing to refuse
    (tmp_path / "model.pt").write_bytes(b"x")
    assert earlier_run(tmp_path) == tmp_path / "model.pt"
    with pytest.raises(FileExistsError, match=r"model\.pt exists from an earlier run.*resume"):
        refuse_earlier_run(tmp_path)
    refuse_earlier_run(tmp_path, ("checkpoint.pt",))  # only the files asked about
