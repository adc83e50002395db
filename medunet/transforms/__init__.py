"""Transforms: weight maps, class targets, elastic deformation, tiles, post-processing, saving."""

from __future__ import annotations

from medunet.transforms.augment import paper_augmentations
from medunet.transforms.checks import CheckImaged, CheckPaird
from medunet.transforms.degenerate import BlankImageBackgroundd, foreground_or_all, is_blank
from medunet.transforms.elastic import (
    CoarseElastic,
    RandCoarseElastic,
    RandCoarseElasticd,
    dense_displacement,
)
from medunet.transforms.instances import (
    INSTANCE_MODES,
    InstanceToSemantic,
    InstanceToSemanticd,
    LabelComponentsd,
    label_components,
)
from medunet.transforms.intensity import ModalityNormalize, ModalityNormalized
from medunet.transforms.load import SafeLoadImaged
from medunet.transforms.postprocess import (
    ProbabilityToInstances,
    ProbabilityToInstancesd,
    read_postprocess,
    remove_small_objects,
    seeded_instances,
)
from medunet.transforms.save import SaveMicroscopyd, SaveVolumed, output_stem
from medunet.transforms.tiles import RandTileCropd, reflect_indices, tile_geometry
from medunet.transforms.weight_map import (
    BoundaryWeightMap,
    BoundaryWeightMapd,
    border_term,
    class_weight_map,
    cutoff_distance,
    naive_border_term,
    weight_map_of_file,
)

__all__ = [
    "INSTANCE_MODES",
    "BlankImageBackgroundd",
    "BoundaryWeightMap",
    "BoundaryWeightMapd",
    "CheckImaged",
    "CheckPaird",
    "CoarseElastic",
    "InstanceToSemantic",
    "InstanceToSemanticd",
    "LabelComponentsd",
    "ModalityNormalize",
    "ModalityNormalized",
    "ProbabilityToInstances",
    "ProbabilityToInstancesd",
    "RandCoarseElastic",
    "RandCoarseElasticd",
    "RandTileCropd",
    "SafeLoadImaged",
    "SaveMicroscopyd",
    "SaveVolumed",
    "border_term",
    "class_weight_map",
    "cutoff_distance",
    "dense_displacement",
    "foreground_or_all",
    "is_blank",
    "label_components",
    "naive_border_term",
    "output_stem",
    "paper_augmentations",
    "read_postprocess",
    "reflect_indices",
    "remove_small_objects",
    "seeded_instances",
    "tile_geometry",
    "weight_map_of_file",
]
