"""``medunet weightmap``'s work: the boundary weight map (the paper's eq. 2) of a label file,
written beside an optional PNG heat map, every output checked before the first is written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from medunet.data.images import is_volume, read_label_image, write_like
from medunet.transforms.weight_map import BoundaryWeightMap
from medunet.visualize import weight_map_png

__all__ = ["weight_map_of_file", "write_weight_map"]


def weight_map_of_file(
    labels: str | os.PathLike, w0: float = 10.0, sigma: float = 5.0, instances: str = "labels"
) -> tuple[np.ndarray, dict]:
    """``(weights (*spatial) float32, meta)`` of a label image file.

    For volumes (NIfTI, NRRD, MHA) sigma is in the units of the voxel spacing, for microscopy
    images in pixels. ``meta`` is :func:`~medunet.data.read_label_image`'s (spacing, affine),
    to write the map on the labels' grid.
    """
    array, meta = read_label_image(labels)
    spacing = meta["spacing"] if is_volume(labels) else None
    weights = BoundaryWeightMap(w0=w0, sigma=sigma, spacing=spacing, instances=instances)(
        array[None]
    )
    return np.asarray(weights[0], dtype=np.float32), meta


def write_weight_map(
    labels: str | os.PathLike,
    output: str | os.PathLike,
    preview: str | os.PathLike | None = None,
    w0: float = 10.0,
    sigma: float = 5.0,
    instances: str = "labels",
    overwrite: bool = False,
) -> tuple[Path, Path | None, np.ndarray]:
    """Write the weight map of ``labels`` to ``output`` (TIFF, or NIfTI for volumes, on the
    labels' grid) and, given ``preview`` (``.png``), its heat map.

    Returns:
        ``(output, preview or None, weights (*spatial))``.

    Raises:
        ValueError: an output of the wrong kind for the labels.
        FileExistsError: an output exists and ``overwrite`` is not set.
    """
    if is_volume(output) != is_volume(labels):
        raise ValueError(
            f"--output {output}: write a {'.nii.gz' if is_volume(labels) else '.tif'} for {labels}."
        )
    if preview and not str(preview).lower().endswith(".png"):
        raise ValueError(f"--preview {preview}: the preview is a .png file.")
    for target in filter(None, (output, preview)):
        if Path(target).exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it.")
    weights, meta = weight_map_of_file(labels, w0, sigma, instances)
    out = write_like(output, weights, meta, overwrite=overwrite)
    png = None
    if preview:
        png = weight_map_png(weights, preview, title=Path(labels).name, overwrite=overwrite)
    return out, png, weights
