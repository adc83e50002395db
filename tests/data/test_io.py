"""atomic_path: outputs appear whole or not at all."""

from __future__ import annotations

import pytest

from medunet.data import atomic_path


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_refuses_to_overwrite_when_asked(tmp_path):
    target = tmp_path / "model.pt"
    target.write_text("checkpoint")
    with pytest.raises(FileExistsError, match=r"model\.pt exists"), atomic_path(target, False):
        pass
    assert target.read_text() == "checkpoint"
