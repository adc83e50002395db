"""``medunet info``: versions, bundles and the tile arithmetic."""

from __future__ import annotations

from cli_helpers import medunet, ok


def test_info_reports_versions_bundles_and_tile_arithmetic():
    out = ok(medunet("info"))
    assert "torch" in out and "monai" in out and "device:" in out
    assert "unet2015_microscopy" in out and "(2D)" in out and "unet2015_ct_mri" in out
    assert "quick_cpu_microscopy" in out
    out = ok(medunet("info", "--size", "570"))
    assert "31,030,658 parameters" in out and "nearest valid input: 572" in out
    assert "input 572 -> output 388 (halo 92 per side)" in out
