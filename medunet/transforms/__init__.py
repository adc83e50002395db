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
    fill_object_holes,
    read_postprocess,
    remove_small_objects,
    seed_components,
    seeded_instances,
)
from medunet.transforms.regions import REGION_PARTS, CropRegiond, region_slices
from medunet.transforms.resample import ResampleToSpacing, ResampleToSpacingd
from medunet.transforms.save import SaveMicroscopyd, SaveVolumed, output_stem
from medunet.transforms.scale import SCALED_FROM, Rescaled, RestoreScaled, resize
from medunet.transforms.tiles import RandTileCropd, tile_geometry
from medunet.transforms.weight_map import (
    BoundaryWeightMap,
    BoundaryWeightMapd,
    border_term,
    class_weight_map,
    cutoff_distance,
    naive_border_term,
)

__all__ = [
    "INSTANCE_MODES",
    "REGION_PARTS",
    "SCALED_FROM",
    "BlankImageBackgroundd",
    "BoundaryWeightMap",
    "BoundaryWeightMapd",
    "CheckImaged",
    "CheckPaird",
    "CoarseElastic",
    "CropRegiond",
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
    "ResampleToSpacing",
    "ResampleToSpacingd",
    "Rescaled",
    "RestoreScaled",
    "SafeLoadImaged",
    "SaveMicroscopyd",
    "SaveVolumed",
    "border_term",
    "class_weight_map",
    "cutoff_distance",
    "dense_displacement",
    "fill_object_holes",
    "foreground_or_all",
    "is_blank",
    "label_components",
    "naive_border_term",
    "output_stem",
    "paper_augmentations",
    "read_postprocess",
    "region_slices",
    "remove_small_objects",
    "resize",
    "seed_components",
    "seeded_instances",
    "tile_geometry",
]
