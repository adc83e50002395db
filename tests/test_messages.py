"""Settings named in the syntax of the command the user typed."""

from __future__ import annotations

import pytest

from medunet.messages import flag, setting, use_cli_syntax


@pytest.fixture
def cli():
    use_cli_syntax(True)
    yield
    use_cli_syntax(False)


def test_monai_bundle_run_syntax():
    assert setting("num_classes", 3) == "--num_classes 3"
    assert setting("fill_holes", True) == "--fill_holes true"
    assert setting("target_spacing", [1, 1.5, 2]) == "--target_spacing [1,1.5,2]"
    assert flag("resume") == "--resume True"


def test_medunet_cli_syntax(cli):
    assert setting("num_classes", 3) == "--set num_classes=3"
    assert setting("channels", (16, 32)) == "--set channels=[16,32]"
    assert flag("resume") == "--resume" and flag("max_epochs") == "--epochs"
    assert flag("fill_holes") == "--set fill_holes=true"
