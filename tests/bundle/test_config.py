"""Layered configs: loaded once, handed on with overrides, checked overrides, spatial dims."""

from __future__ import annotations

import pytest

from medunet.bundle import layer_config, resolve_bundle
from medunet.bundle.config import spatial_dims_of


def test_parser_with_applies_overrides_without_touching_the_loaded_config():
    config = layer_config(resolve_bundle("unet2015_microscopy"), "inference", [],
                          ["channels=[4,8]"])  # fmt: skip
    parser = config.parser_with({"tta": "flips"})
    assert parser["channels"] == [4, 8] and parser["tta"] == "flips"
    assert config.parser["channels"] != [4, 8] and config.parser["tta"] is None
    assert config.merged()["channels"] == [4, 8]


def test_overrides_are_checked_against_the_config():
    bundle = resolve_bundle("unet2015_microscopy")
    with pytest.raises(ValueError, match=r"'chanels' is not a config id.*did you mean channels"):
        layer_config(bundle, "train", [], ["chanels=[4,8]"])
    with pytest.raises(ValueError, match="w0 takes a number"):
        layer_config(bundle, "train", [], ["w0=big"])


def test_spatial_dims_from_the_bundle_or_the_presets():
    bundle = resolve_bundle("unet2015_microscopy")
    assert spatial_dims_of(bundle, layer_config(bundle, "train").parser) == 2
    z_stack = layer_config(bundle, "train", ["microscopy_3d"])
    assert spatial_dims_of(bundle, z_stack.parser) == 3
    assert resolve_bundle("unet2015_ct_mri").kind == "volume" and bundle.kind == "microscopy"
