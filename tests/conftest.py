"""Shared fixtures: seeded torch and the real data folder (skip when absent); the helper
modules of the tests (``bundle_helpers``, ``cli_helpers``, ``planning_helpers``), importable
by name from any test file (pytest imports test files with ``--import-mode=importlib``, so
their folders are not on ``sys.path`` by themselves)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
for _helpers in ("bundles", "cli", "planning"):
    sys.path.insert(0, str(Path(__file__).resolve().parent / _helpers))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project root; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
