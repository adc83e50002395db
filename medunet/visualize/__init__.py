"""Figures of a run: weight-map heat map, prediction overlay, training curve (PNG)."""

from __future__ import annotations

from medunet.visualize.figures import overlay_png, read_scalars, training_curve_png, weight_map_png

__all__ = ["overlay_png", "read_scalars", "training_curve_png", "weight_map_png"]
