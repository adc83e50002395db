"""Transforms: boundary weight maps, instance-to-class targets, elastic deformation."""

from __future__ import annotations

from medunet.transforms.augment import paper_augmentations
from medunet.transforms.elastic import (
    CoarseElastic,
    RandCoarseElastic,
    RandCoarseElasticd,
    dense_displacement,
)
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
    "CoarseElastic",
    "InstanceToSemantic",
    "InstanceToSemanticd",
    "RandCoarseElastic",
    "RandCoarseElasticd",
    "border_term",
    "class_weight_map",
    "cutoff_distance",
    "dense_displacement",
    "naive_border_term",
    "paper_augmentations",
]
