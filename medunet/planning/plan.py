"""The recipe's settings derived from a dataset's fingerprint (nnU-Net's planning, for U-Net 2015).

:func:`make_plan` turns a :class:`~medunet.planning.DatasetFingerprint` (and the device and
time budget of the run) into a :class:`Plan`: bundle config ids with a value and the reason
for it. Every rule is relative to what the data show, never a constant tuned to one dataset:

Microscopy (objects):

- **objects**: instance labels are used as they are; binary masks by their connected
  components. Membrane-like masks (regions filling the image, a few pixels apart: EM) are
  scored and calibrated by the Rand error, others by AP@0.5.
- **weight map**: ``sigma`` is a fifth of the median object diameter (the paper's 5 px
  belongs to objects about 25 px across: its EM neurites measure so);
  ``w0`` keeps the paper's weight of 10 in the middle of the typical narrow gap (gaps
  below ``2 sigma``, where the term matters): ``w0 = 10 exp(g^2 / 2 sigma^2)``, at most 30.
- **border class**: when objects touch (at least 5% of them in a touching pair), a third
  class marks where they meet, ``border_width`` a twentieth of the diameter.
- **post-processing**: the smallest object kept is a quarter of the 5th-percentile object
  size (objects cut by the image border included); calibration tries a tenth, a quarter
  and a half of it with the seed and mask thresholds, the mask thresholds reaching the
  background share ``1 - f`` (where balanced class weights put the posterior's 0.5);
  holes are filled when the true objects have none. Membranes take the highest seed
  threshold within one standard error of the best validation score (paired, image by
  image: a merge through a gap joins two whole cells, and a few slices rank nearby
  thresholds by chance), objects the best. Membranes are predicted as the mean
  over the 8 rotations/reflections (``tta``), as the paper's ISBI entry was: one view's
  weak membrane pixel merges two cells, the mean rarely has it.
- **normalisation**: each image is scaled between the percentiles at which the background
  and the foreground median fall (in the training images), so a few saturated pixels
  (reflections, debris) do not decide an image's scale.
- **elastic deformation**: the paper's 10 px, or less where the tile is so small that its
  coarse grid's control points would fold (:func:`_elastic`).
- **network, scale and tiles**: the fewest levels (3 to 4 on a CPU, 5 on a GPU) whose
  receptive field spans three median diameters; objects wider than that are scaled down
  (2D: ``image_scale``) until it does, but never so far that the narrow gaps between
  objects fall under 2 px; the smallest output tile at which input pixels per output
  pixel stay below 3.6 (valid convolutions lose a halo per tile); widths from 16 (CPU) or
  64 (GPU, the paper's). All sizes below are in pixels of the scaled image.
- **validation**: with fewer than 10 images, a held-out region (the last fifth along the
  longest axis) of *every* image validates and calibrates, and the rest of every image
  trains; with more, a fifth of the images.

Volumes (CT/MRI classes): the classes present, the modality from the intensities (HU have
air near -1000), a CT window from the foreground percentiles (0.5, 99.5), the target
spacing (median; nnU-Net's 10th percentile along an axis more than 3 times coarser), the
tile from the foreground extent, same padding with a halo, the elastic deformation bounded
by the tile as in 2D, and the 8 mirrored predictions averaged (training mirrors every axis;
nnU-Net's default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medunet.engines.calibration import ONE_SE
from medunet.inferers.autocast import bf16_is_fast
from medunet.networks.tiles import TileGeometry
from medunet.transforms.elastic import PAPER_GRID_SIZE, PAPER_STD

__all__ = ["Plan", "make_plan"]

#: input pixels per output pixel a planned microscopy tile may cost
MAX_TILE_OVERHEAD = 3.6
#: at most this many levels (5: the paper's network)
MAX_LEVELS = 5
#: below this many labelled images, every image gives a validation region
REGION_VALIDATION_BELOW = 10
#: a validation interval no run reaches: only the last epoch is validated
VALIDATE_LAST = 100000


@dataclass
class Plan:
    """Config ids and values (in order), each with the reason it was chosen."""

    bundle_kind: str  # "microscopy" or "volume"
    settings: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any, reason: str) -> None:
        self.settings[key] = value
        self.reasons[key] = reason


def _round(value: float, digits: int = 2) -> float:
    return float(round(float(value), digits))


def _receptive_field(levels: int, dims: int) -> int:
    """Pixels a valid network of ``levels`` levels sees per output pixel (per axis)."""
    return 2 * TileGeometry(levels - 1, valid=True, spatial_dims=dims).halo() + 1


def _levels_for(receptive: float, dims: int, most: int) -> int:
    """The fewest levels (3..``most``) whose valid network sees ``receptive`` pixels."""
    for levels in range(3, most + 1):
        if _receptive_field(levels, dims) >= receptive:
            return levels
    return most


def _output_tile(levels: int, dims: int, smallest_image: int, minimum: int) -> tuple[int, int]:
    """``(output, input)``: the smallest output tile >= ``minimum`` whose input costs at
    most :data:`MAX_TILE_OVERHEAD` input pixels per output pixel (or the image size)."""
    geometry = TileGeometry(levels - 1, valid=True, spatial_dims=dims)
    out = minimum
    while True:
        tile_in = int(geometry.input_size_for(out))
        tile_out = int(geometry.output_size(tile_in))
        if (tile_in / tile_out) ** dims <= MAX_TILE_OVERHEAD or tile_out >= smallest_image:
            return tile_out, tile_in
        out = tile_out + 4


def _elastic(plan: Plan, tile_in: int) -> None:
    """The paper's 10 px elastic displacements, or less where they would fold the tile.

    On a 3-point grid over a tile of ``tile_in`` pixels, neighbouring control points lie
    ``d = (tile_in - 1) / 2`` apart, and the field folds (the image tears and overlaps
    itself) where their displacements differ by more than ``d``. That difference has std
    ``sqrt(2) std``; the plan keeps ``d`` at least 4 of those (the paper's 572 px tiles
    are 20 away), so folds stay rare on small tiles too (a 48^3 tile: 4.2 voxels).
    """
    d = (tile_in - 1) / (PAPER_GRID_SIZE - 1)
    bound = d / (4.0 * math.sqrt(2.0))
    if bound >= PAPER_STD:
        plan.set("elastic_std", PAPER_STD, f"the paper's; control points {d:.0f} px apart")
    else:
        plan.set(
            "elastic_std",
            _round(bound),
            f"{tile_in} px tiles: control points {d:.0f} px apart; the paper's 10 px would fold "
            "them, this keeps a fold 4 std away",
        )


def _grid(values: list[float], extra: list[float] = ()) -> list[float]:
    """``values`` and those of ``extra`` at least 0.05 from them, in [0.1, 0.95]."""
    grid = {round(min(max(v, 0.1), 0.95), 2) for v in values}
    for v in extra:
        v = round(min(max(v, 0.1), 0.95), 2)
        if all(abs(v - g) >= 0.05 for g in grid):
            grid.add(v)
    return sorted(grid)


def _microscopy(plan: Plan, fp, device: str, time_budget: float | None) -> None:
    kind = fp.label_kind
    objects = fp.object_count
    plan.set(
        "label_instances",
        "labels" if kind == "instances" else "connected_components",
        f"{kind} labels: {objects} objects in {len(fp.cases)} images"
        + ("" if kind == "instances" else " (their connected components)"),
    )
    diameters, sizes, gaps = fp.diameters, fp.all_sizes, fp.gaps
    if not diameters.size:
        raise ValueError("the labels hold no objects; check the label images.")
    dims = fp.spatial_dims
    diameter = float(np.median(diameters))
    narrow = gaps[gaps < 2 * max(1.0, diameter / 5.0)]
    gap = float(np.median(narrow)) if narrow.size else None
    # the network: the fewest levels that see three diameters; wider objects are scaled
    # down until they fit the deepest network of the device (2D), never so far that the
    # narrow gaps between objects close (2 px)
    gpu = device.startswith("cuda")
    most = MAX_LEVELS if gpu else MAX_LEVELS - 1
    levels = _levels_for(3.0 * diameter, dims, most)
    scale = 1.0
    if dims == 2 and _receptive_field(levels, dims) < 3.0 * diameter:
        scale = _receptive_field(levels, dims) / (3.0 * diameter)
        if gap:
            scale = max(scale, min(1.0, 2.0 / gap))
        scale = float(np.floor(scale * 100) / 100)
    if scale < 1.0:
        plan.set(
            "image_scale",
            scale,
            f"objects {diameter:.0f} px wide -> {diameter * scale:.0f} px: three diameters in "
            f"the {_receptive_field(levels, dims)} px the network sees",
        )
    d = diameter * scale
    sigma = max(1.0, d / 5.0)
    plan.set("sigma", _round(sigma), f"median object diameter {d:.1f} px / 5")
    if gap is not None:
        g = gap * scale
        w0 = min(30.0, 10.0 * math.exp(g**2 / (2 * sigma**2)))
        why = f"weight 10 in the middle of the median narrow gap ({g:.1f} px)"
    else:
        w0, why = 10.0, "the paper's 10 (no two objects closer than 2 sigma)"
    plan.set("w0", _round(w0), why)
    f = fp.foreground_fraction
    plan.set("class_weights", "balanced", f"foreground fraction {f:.2f}")
    touching = fp.touching_fraction
    border = kind == "instances" and touching >= 0.05
    plan.set(
        "border_class",
        border,
        f"{fp.touching_pairs} touching pairs ({100 * touching:.0f}% of objects touch)",
    )
    plan.set(
        "border_width",
        max(1, round(d / 20.0)),
        "a twentieth of the median diameter (pixels each side)",
    )
    small = float(np.percentile(sizes, 5)) * scale**dims
    plan.set(
        "min_object_size",
        max(1, round(small / 4.0)),
        f"a quarter of the 5th-percentile size ({small:.0f} px)",
    )
    plan.set(
        "calibrate_min_sizes",
        sorted({max(1, round(small * k)) for k in (0.1, 0.25, 0.5)}),
        "a tenth, a quarter and half the 5th-percentile size",
    )
    membranes = kind == "membranes"
    plan.set(
        "min_seed_size",
        max(1, round(small / 2.0)) if membranes else 0,
        f"membranes: a seed under half the 5th-percentile cell ({small:.0f} px) is a gap or "
        "an organelle; the cells around take its pixels"
        if membranes
        else "objects: every seed starts one (its pixels would go to the nearest other)",
    )
    plan.set(
        "calibrate_metric",
        "rand_error" if membranes else "ap50",
        "membranes: merges through a gap cost most" if membranes else "objects: AP@0.5",
    )
    if membranes:  # the paper's ISBI entry averaged its rotated inputs the same way
        plan.set(
            "tta",
            "rot90",
            "membranes: the mean of the 8 rotations/reflections closes one-view gaps (8x time)",
        )
    # balanced class weights shift the network's foreground probability: the posterior's
    # 0.5 lies near 1 - f (the background share), so the grid reaches there
    balanced = 1.0 - f
    base = [0.1, 0.2, 0.3, 0.4, 0.5] if membranes else [0.2, 0.3, 0.4, 0.5]
    masks = _grid(base, [balanced - 0.2, balanced - 0.1, balanced])
    plan.set(
        "calibrate_mask_thresholds",
        masks,
        f"objects grown to the foreground probability; {balanced:.2f}: the balanced weights' 0.5",
    )
    plan.set(
        "calibrate_seed_thresholds",
        [0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
        "seeds from the interior probability (never below the mask threshold)",
    )
    if membranes:
        plan.set(
            "calibrate_tolerance",
            ONE_SE,
            "membranes: the highest seed threshold within one standard error of the best "
            "(one merge joins two whole cells; a few slices rank thresholds by chance)",
        )
    else:
        plan.set("calibrate_tolerance", 0.0, "the best validation score")
    plan.set(
        "fill_holes",
        fp.hole_fraction < 0.01,
        f"holes are {100 * fp.hole_fraction:.1f}% of the true objects' area",
    )
    bg_rank, fg_rank = fp.rank("background"), fp.rank("foreground")
    if math.isfinite(bg_rank) and math.isfinite(fg_rank) and abs(fg_rank - bg_rank) >= 5:
        low, high = sorted((bg_rank, fg_rank))
        names = {bg_rank: "background", fg_rank: "foreground"}
        plan.set(
            "percentile_low",
            _round(max(0.0, low), 1),
            f"where the {names[low]} median falls in its image",
        )
        plan.set(
            "percentile_high",
            _round(min(100.0, high), 1),
            f"where the {names[high]} median falls in its image",
        )
    base = 64 if gpu else 16
    channels = [base * 2**i for i in range(levels)]
    plan.set(
        "channels",
        channels,
        f"{levels} levels: they see {_receptive_field(levels, dims)} px, three diameters "
        f"{3 * d:.0f} px" + (", the paper's widths" if gpu else ", CPU widths"),
    )
    smallest = int(min(min(c.shape) for c in fp.cases) * scale)
    out, tile_in = _output_tile(levels, dims, smallest, 388 if gpu else 100)
    plan.set(
        "output_tile",
        out,
        f"{tile_in} px input tiles: {(tile_in / out) ** dims:.1f} input pixels per output pixel",
    )
    _elastic(plan, tile_in)
    if gpu and time_budget is None:
        plan.set("optimizer_name", "sgd", "the paper's SGD, momentum 0.99 (a long GPU run)")
        plan.set("learning_rate", 0.001, "the paper's")
    else:
        plan.set("optimizer_name", "adam", "a short or CPU run: Adam converges in fewer steps")
        plan.set("learning_rate", 0.001, "Adam's usual rate")
    _precision(plan, device)
    _validation(plan, len(fp.cases), regions=True)


def _precision(plan: Plan, device: str) -> None:
    if not device.startswith("cuda") and bf16_is_fast(device):
        plan.set("autocast", "bf16", "this CPU computes bfloat16 in hardware (AMX/AVX512-BF16)")


def _validation(plan: Plan, cases: int, regions: bool) -> None:
    if cases < REGION_VALIDATION_BELOW and regions:
        plan.set(
            "val_regions",
            0.2,
            f"{cases} images: the last fifth of every image validates, the rest trains",
        )
        plan.set("val_fraction", 0.0, "no image is held out whole")
    elif cases < 5:
        plan.set("val_fraction", 0.0, f"{cases} volumes: every volume trains and validates")
        plan.set(
            "val_interval",
            VALIDATE_LAST,
            "no held-out volume to choose a checkpoint: only the last epoch is validated",
        )
    else:
        if regions:
            plan.set("val_regions", 0.0, f"{cases} cases: whole cases validate")
        plan.set("val_fraction", 0.2, f"{max(1, round(0.2 * cases))} of {cases} cases validate")


def _volume(plan: Plan, fp, device: str, time_budget: float | None) -> None:
    values = sorted({v for c in fp.cases for v in c.label_values})
    plan.set("num_classes", int(max(values)) + 1, f"label values {values}")
    everything = fp.intensity("all") or [0.0]
    ct = everything[0] < -500.0
    plan.set(
        "modality",
        "CT" if ct else "MR",
        f"lowest intensities {everything[0]:.0f}" + (" (air in HU)" if ct else " (not HU)"),
    )
    foreground = fp.intensity("foreground")
    if ct and foreground:
        window = [_round(foreground[0], 1), _round(foreground[-1], 1)]
        plan.set("ct_window", window, "0.5 and 99.5 percentiles of the labelled voxels")
    spacing = np.asarray([c.spacing for c in fp.cases], float)
    target = np.median(spacing, axis=0)
    anisotropy = float(target.max() / target.min())
    if anisotropy > 3:  # else the bundle's own default: the median, kept in spacing.json
        axis = int(np.argmax(target))
        target[axis] = float(np.percentile(spacing[:, axis], 10))
        plan.set(
            "target_spacing",
            [_round(s, 4) for s in target],
            f"median spacing of {len(fp.cases)} volumes; axis {axis} {anisotropy:.1f}x "
            "coarser: its 10th percentile (nnU-Net)",
        )
    gpu = device.startswith("cuda")
    shape = np.asarray(fp.median_shape, float) * np.median(spacing, axis=0) / target
    # A CPU budget buys few steps: a shallow, narrow net on small tiles trains
    # about five times more of them than the GPU's five levels and learns more.
    tile, levels, base = (96, 5, 32) if gpu else (48, 3, 8)
    tile = int(min(tile, 16 * max(2, int(shape.min() // 16))))
    plan.set(
        "channels",
        [base * 2**i for i in range(levels)],
        f"{levels} levels for {tile}^3 tiles"
        + (", GPU widths" if gpu else ", CPU: more steps in the budget"),
    )
    plan.set("padding", "same", "same-padded 3D tiles: valid ones lose a halo on all 6 faces")
    plan.set("output_tile", tile, f"median volume {[int(s) for s in shape]} voxels at the target")
    plan.set("halo", max(4, tile // 6), "voxels discarded at each tile side at inference")
    _elastic(plan, tile)  # same padding: the input tile is the output tile
    plan.set("tta", "flips", "training mirrors every axis: the 8 mirrored predictions averaged "
             "(nnU-Net's default; 8x inference time)")  # fmt: skip
    plan.set("optimizer_name", "adam", "Adam converges in fewer steps")
    plan.set("learning_rate", 0.001, "Adam's usual rate")
    _precision(plan, device)
    _validation(plan, len(fp.cases), regions=False)


def make_plan(fingerprint, device: str = "cpu", time_budget: float | None = None) -> Plan:
    """The plan for a dataset.

    Args:
        fingerprint: a :class:`~medunet.planning.DatasetFingerprint`.
        device: ``"cpu"`` or ``"cuda..."``: network widths and tile sizes.
        time_budget: training seconds, if any (the optimiser).

    Returns:
        a :class:`Plan` of bundle config ids.
    """
    if not fingerprint.cases:
        raise ValueError("the dataset has no cases to plan from; check --data.")
    plan = Plan("volume" if fingerprint.classes else "microscopy")
    if fingerprint.classes:
        _volume(plan, fingerprint, device, time_budget)
    else:
        _microscopy(plan, fingerprint, device, time_budget)
    return plan
