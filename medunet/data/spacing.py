"""The target voxel spacing of a run: the training set's median, computed once and stored.

Volumes are resampled to one spacing before training (nnU-Net's choice: the median of the
training cases, per axis of the canonical RAS frame). :func:`dataset_spacing` reads every
training image's header (NIfTI without loading the voxels; other formats through MONAI's
loader), takes the median and stores it as ``spacing.json`` beside the run's checkpoints,
so that inference uses exactly the spacing the model was trained at
(:func:`stored_spacing`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medunet.data.earlier_run import refuse_earlier_run
from medunet.data.headers import opened_nifti
from medunet.data.io import atomic_path
from medunet.ranks import is_main_process

__all__ = ["dataset_spacing", "ras_spacing", "stored_spacing"]

logger = logging.getLogger(__name__)


def _affine(path: str) -> np.ndarray:
    if path.lower().endswith((".nii", ".nii.gz")):
        import nibabel as nib

        try:
            img = opened_nifti(path)  # the training check's: its header is not read again
            return np.asarray((img if img is not None else nib.load(path)).affine, dtype=float)
        except Exception as err:  # nibabel raises many types for damaged files
            raise ValueError(f"{path} could not be read as NIfTI ({err}).") from err
    from monai.transforms import LoadImage

    image = LoadImage(image_only=True)(path)
    return np.asarray(image.affine, dtype=float)


def ras_spacing(affine: np.ndarray) -> list[float]:
    """Voxel sizes along the axes of the RAS-reoriented volume (what ``Orientationd`` gives)."""
    import nibabel as nib

    affine = np.asarray(affine, dtype=float)
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    order = nib.orientations.io_orientation(affine)[:, 0].astype(int)  # voxel axis -> RAS axis
    spacing = np.empty(3)
    spacing[order] = zooms
    return [float(s) for s in spacing]


def dataset_spacing(
    items: Sequence[dict],
    store: str | Path,
    key: str = "image",
    resume: bool = False,
    overwrite: bool = False,
) -> list[float]:
    """The median RAS spacing of ``items[*][key]``, stored in ``store`` (JSON).

    Args:
        items: the training data list.
        store: ``spacing.json`` of the run.
        key: image key (channel lists use their first file).
        resume: reuse ``store`` when it exists (a resumed run keeps its spacing).
        overwrite: a fresh run may replace an earlier run's ``store``.

    Raises:
        FileExistsError: ``store`` exists from an earlier run that trained (a
            ``checkpoint.pt`` beside it) and neither flag is set.
    """
    store = Path(store)
    main = is_main_process()
    if main and store.is_file():
        if resume:
            return stored_spacing(store)
        # only a run that trained (has a checkpoint) is protected: a run that failed before
        # its first epoch must not block its corrected retry
        if not overwrite:
            refuse_earlier_run(store.parent, ("checkpoint.pt",))
    if not items:
        raise ValueError("the training data list is empty; check dataset_dir or the datalist.")
    spacings = []
    for item in items:
        path = item[key][0] if isinstance(item[key], (list, tuple)) else item[key]
        spacings.append(ras_spacing(_affine(str(path))))
    median = [float(v) for v in np.median(np.asarray(spacings), axis=0)]
    if not main:  # under DDP rank 0 stores it; every rank computes the same value
        return median
    with atomic_path(store) as tmp:
        tmp.write_text(json.dumps({"spacing": median, "cases": len(spacings)}, indent=2))
    logger.info(
        "target spacing %s (median of %d training cases) -> %s", median, len(spacings), store
    )
    return median


def stored_spacing(store: str | Path) -> list[float]:
    """The spacing a model was trained at, from its run's ``spacing.json``."""
    store = Path(store)
    if not store.is_file():
        raise FileNotFoundError(
            f"{store} not found: it is written by training (the median spacing of the training "
            "set); train first, or set target_spacing explicitly, e.g. --target_spacing [1,1,1]."
        )
    try:
        spacing = json.loads(store.read_text())["spacing"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"{store} is not a valid spacing file ({err}); retrain or fix it."
        ) from err
    return [float(s) for s in spacing]
