"""Metrics: pixel, Rand, warping and instance scores; per-class Dice and HD95 of volumes."""

from __future__ import annotations

from medunet.metrics.contingency import contingency_table
from medunet.metrics.instances import DEFAULT_THRESHOLDS, match_instances
from medunet.metrics.metric import SCORE_NAMES, SegmentationScore, segmentation_scores
from medunet.metrics.pixels import dice, foreground_iou, pixel_error
from medunet.metrics.rand import rand_error, thin_boundaries, thinned_rand_error
from medunet.metrics.volume import VolumeScore, class_dice
from medunet.metrics.warping import separated_foreground, warping_error

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SCORE_NAMES",
    "SegmentationScore",
    "VolumeScore",
    "class_dice",
    "contingency_table",
    "dice",
    "foreground_iou",
    "match_instances",
    "pixel_error",
    "rand_error",
    "segmentation_scores",
    "separated_foreground",
    "thin_boundaries",
    "thinned_rand_error",
    "warping_error",
]
