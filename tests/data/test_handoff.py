"""Images handed from the dataset check to the training's loader."""

from __future__ import annotations

import numpy as np
import pytest

from medunet.data import handoff


@pytest.fixture(autouse=True)
def _empty():
    handoff.release()
    yield
    handoff.release()


def test_kept_only_while_keeping_and_taken_once(tmp_path):
    f = tmp_path / "a.nii"
    f.write_bytes(b"x")
    value = np.zeros(10)
    handoff.offer([f], "loader", value)  # not keeping: not kept
    assert handoff.take([f], "loader") is None
    with handoff.keeping():
        handoff.offer([f], "loader", value)
    assert handoff.take([f], "other loader") is None  # other settings: read again
    assert handoff.take([f], "loader") is value
    assert handoff.take([f], "loader") is None  # once


def test_a_changed_file_is_read_again(tmp_path):
    f = tmp_path / "a.nii"
    f.write_bytes(b"x")
    with handoff.keeping():
        handoff.offer([f], "loader", np.zeros(3))
    f.write_bytes(b"changed")
    assert handoff.take([f], "loader") is None


def test_at_most_keep_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(handoff, "KEEP_BYTES", 100)
    files = [tmp_path / f"{i}.nii" for i in range(3)]
    with handoff.keeping():
        for f in files:
            f.write_bytes(b"x")
            handoff.offer([f], "loader", np.zeros(5))  # 40 bytes each
    assert [handoff.take([f], "loader") is not None for f in files] == [True, True, False]
