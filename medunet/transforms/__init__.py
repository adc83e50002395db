"""Transforms: boundary weight maps, instance-to-class targets (and, later, augmentation)."""

from __future__ import annotations

from medunet.transforms.instances import InstanceToSemantic, InstanceToSemanticd
from medunet.transforms.weight_map import (
    BoundaryWeightMap,
    BoundaryWeightMapd,
    border_term,
    class_weight_map,
    cutoff_distance,
    naive_border_term,
)

__all__ = [
    "BoundaryWeightMap",
    "BoundaryWeightMapd",
    "InstanceToSemantic",
    "InstanceToSemanticd",
    "border_term",
    "class_weight_map",
    "cutoff_distance",
    "naive_border_term",
]
