"""Streamed CT/MRI volumes: the bundle's own transforms, a slab at a time, the whole
volume's answer.

The whole-volume path reads the scan, checks it, turns it to RAS, resamples it to the
training spacing (:class:`~medunet.transforms.ResampleToSpacingd`), crops it to its
foreground, normalises it, predicts it tile by tile, and takes the classes back onto the
scan's grid. Streamed, the same transforms run in four passes, each holding one slab:

1. slabs of the file (its last axis) are checked, turned, and resampled with their global
   voxel indices into a memory map of the resampled volume, in the work folder (a
   separable resampling: each slab is bit for bit the slab of the volume resampled whole);
2. what needs the whole volume is computed from that map: the foreground box (MONAI's own
   bounding box on each axis's projection), the normalisation statistics (exact,
   :meth:`~medunet.transforms.ModalityNormalize.statistics`), whether it is blank;
3. the cropped volume is predicted in blocks of whole tiles of the whole volume's tile
   plan (:class:`~medunet.inferers.streaming.StreamGrid`), each window normalised with
   those statistics, the classes into a second memory map;
4. each slab of the file takes its classes by the nearest voxel, as the inverse of the
   resampling does, and is written, in order, as one NIfTI with the input's affine.

The slabs of pass 1 and the blocks of pass 3 are tasks (:mod:`.volume_tasks`): they run here
one after another, or on dask workers (``--cluster``) while this process waits for them.
Every pass is resumable (``--resume``): a finished pass, each resampled slab and each
predicted block leave a mark in the work folder.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from monai.bundle import ConfigParser
from monai.transforms import CropForegroundd
from monai.transforms.utils import generate_spatial_bounding_box

from medunet.bundle.streaming.policy import StreamOptions
from medunet.bundle.streaming.volume_tasks import (
    CroppedSource,
    SlabTask,
    VolumeBlockTask,
    VolumeGrid,
    block_mark,
    release_volume,
    slab_mark,
)
from medunet.bundle.streaming.work import (
    MappedArray,
    SerialPool,
    component,
    done_mark,
    fingerprint,
    open_map,
    progress_bar,
    streaming_inferer,
    work_dir,
    work_path,
)
from medunet.data.slicer import segment_names, write_seg_nrrd
from medunet.data.writers import write_nifti_slabs
from medunet.transforms.degenerate import foreground_or_all
from medunet.transforms.intensity import CHUNK, ModalityNormalized
from medunet.transforms.resample import ResampleToSpacingd, nearest_indices
from medunet.transforms.save import VOLUME_FORMATS, check_formats, output_files, output_stem

__all__ = ["VolumeGrid", "stream_volume"]

logger = logging.getLogger(__name__)


def stream_volume(
    parser: ConfigParser,
    path: str | Path,
    model: Path,
    out: Path,
    block_size: int,
    options: StreamOptions,
    overwrite: bool = False,
    progress: bool = True,
    pool=None,
) -> list[Path]:
    """Predict one NIfTI volume streamed in slabs of about ``block_size`` slices; returns
    the written segmentation, the one the whole-volume path writes.

    The slabs of pass 1 and the blocks of pass 3 are tasks (:mod:`.volume_tasks`) run by
    ``pool``: one after another here (:class:`~.work.SerialPool`, the default) or on dask
    workers (:class:`~medunet.bundle.cluster.ClusterPool`); this process computes what needs
    the whole volume (pass 2) and writes the result (pass 4), so the result is the same.
    """
    path = Path(path)
    stem = output_stem(str(path))
    formats = check_formats(parser.get("output_formats", ["nifti"]), VOLUME_FORMATS, "CT/MRI")
    names = segment_names(int(parser.get_parsed_content("num_classes")) - 1,
                          parser.get("class_names"))  # fmt: skip
    files = output_files(out, stem, formats)
    finals = [path for paths in files.values() for path in paths]
    for final in finals:
        if final.exists() and not overwrite:
            raise FileExistsError(f"{final} exists; pass --overwrite to replace it.")
    resample = component(parser, "preprocessing_transforms", ResampleToSpacingd)
    crop = component(parser, "preprocessing_transforms", CropForegroundd).cropper
    normalise = component(parser, "preprocessing_transforms", ModalityNormalized).transform
    _check_crop(crop, path)
    device = parser.get_parsed_content("device")
    inferer = streaming_inferer(parser, device)
    config = parser.get()
    slabs = SlabTask(config, str(path), str(work_path(out, stem)), block_size)
    settings = {
        "block": block_size, "target": resample.resampler.pixdim, "tta": inferer.tta,
        "tile": inferer.memory_budget_mb,
        "margin": crop.margin, "normalise": [normalise.modality, normalise.window,
                                             normalise.percentiles],
    }  # fmt: skip
    pool = pool or SerialPool()
    try:
        _, source, grid = slabs.parts()  # this process's: the file read, before any work
        work = work_dir(out, stem, fingerprint(path, model, settings), options.resume,
                        overwrite)  # fmt: skip
        resampled = _resample_pass(slabs, source.channels, grid, pool, progress)
        box = _foreground_box(resampled, crop)
        stats = normalise.statistics(resampled.cropped(box))
        blocks = VolumeBlockTask(config, str(model.resolve()), str(work), tuple(box), stats,
                                 (), blank=False)  # fmt: skip
        classes = _predict_pass(blocks, grid.axis, block_size, pool, progress)
    finally:
        release_volume()  # this process's network and reader, until the next volume

    def file_slabs():
        return (
            _file_slab(classes, box, grid, z0, min(z0 + block_size, source.shape[2]))
            for z0 in range(0, source.shape[2], block_size)
        )

    if "nifti" in files:
        write_nifti_slabs(files["nifti"][0], file_slabs(), source.shape, source.affine,
                          overwrite)  # fmt: skip
    if "seg.nrrd" in files:
        write_seg_nrrd(files["seg.nrrd"][0], file_slabs(), source.shape, source.affine, names,
                       overwrite)  # fmt: skip
    shutil.rmtree(work)
    for final in finals:
        logger.info("saved %s", final)
    return finals


def _check_crop(crop, path: Path) -> None:
    if getattr(crop, "select_fn", None) is not foreground_or_all or not crop.allow_smaller:
        raise ValueError(
            f"{path}: streamed inference crops to the voxels > 0 within the volume "
            "(CropForegroundd with medunet.transforms.foreground_or_all and allow_smaller); "
            "predict it whole (a larger --max-memory) or restore that crop."
        )
    if np.any(np.asarray(crop.k_divisible) != 1) or crop.channel_indices is not None:
        raise ValueError(
            f"{path}: streamed inference crops without k_divisible or channel_indices; "
            "predict it whole (a larger --max-memory)."
        )


def _resample_pass(task: SlabTask, channels: int, grid: VolumeGrid, pool, progress: bool
                   ) -> MappedArray:  # fmt: skip
    """Pass 1: the file checked, turned to RAS and resampled, ``(C, *grid.shape)``, one
    slab a task."""
    work = Path(task.work)
    done = done_mark(work, "resampled").is_file()
    fresh = not (work / "resampled.npy").is_file()
    volume = open_map(work, "resampled", np.float32, (channels, *grid.shape), fresh)
    if done:
        return volume
    count, seconds = _run_tasks(task, list(grid.slabs(task.block)), slab_mark, pool, progress,
                                "slab")  # fmt: skip
    logger.info("%s: resampled %d slabs in %.1f s", Path(task.image).name, count, seconds)
    done_mark(work, "resampled").touch()
    return volume


def _run_tasks(task, items: list, mark, pool, progress: bool, unit: str) -> tuple[int, float]:
    """``task(item)`` on ``pool`` for the items whose mark (``mark(item)`` in the work
    folder) is not there, with a progress bar over all of them; returns how many ran and
    how long they took (seconds)."""
    work = Path(task.work)
    pending = [item for item in items if not done_mark(work, mark(item)).is_file()]
    bar = progress_bar(len(items), progress, unit)
    bar.update(len(items) - len(pending))
    start_time = time.perf_counter()
    for _ in pool.imap_unordered(task, pending):
        bar.update(1)
    bar.close()
    return len(pending), time.perf_counter() - start_time


def _foreground_box(volume: MappedArray, crop) -> list[tuple[int, int]]:
    """``CropForegroundd``'s box of the voxels > 0 (all of them where none is), from each
    axis's projection, read :data:`CHUNK` slices at a time."""
    spatial = volume.shape[1:]
    projections = [np.zeros(n, bool) for n in spatial]
    for z in range(0, spatial[-1], CHUNK):
        positive = (volume[..., z : z + CHUNK] > 0).any(0)
        projections[0] |= positive.any((1, 2))
        projections[1] |= positive.any((0, 2))
        projections[2][z : z + CHUNK] |= positive.any((0, 1))
    if not projections[0].any():  # foreground_or_all: an empty scan keeps everything
        projections = [np.ones(n, bool) for n in spatial]
    margin = np.broadcast_to(np.asarray(crop.margin), (3,))
    box = []
    for axis, projection in enumerate(projections):
        start, end = generate_spatial_bounding_box(
            projection[None], select_fn=lambda v: v, margin=int(margin[axis]),
            allow_smaller=crop.allow_smaller,
        )  # fmt: skip
        box.append((int(start[0]), int(end[0])))
    return box


def _is_blank(reader: CroppedSource) -> bool:
    """Whether the normalised cropped volume has no contrast (``is_blank``)."""
    lo, hi = np.inf, -np.inf
    n = reader.shape[-1]
    for z in range(0, n, CHUNK):
        x = reader.read([0, 0, z], [*reader.shape[:2], min(z + CHUNK, n)])
        lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
    return lo == hi


def _predict_pass(task: VolumeBlockTask, axis: int, block_size: int, pool, progress: bool):
    """Pass 3: the classes of the cropped volume, one block of whole tiles a task."""
    work = Path(task.work)
    done = done_mark(work, "classes").is_file()
    fresh = not (work / "classes.npy").is_file()
    shape = tuple(b - a for a, b in task.box)
    classes = open_map(work, "classes", np.uint8, shape, fresh)
    if done:
        return classes
    sizes = list(shape)
    sizes[axis] = block_size
    task = replace(task, block=tuple(sizes))
    _, _, _, reader, grid = task.predictor()  # this process's: the blocks to make
    task = replace(task, blank=_is_blank(reader))
    indices = [index for index, _, _ in grid.blocks()]
    count, seconds = _run_tasks(task, indices, block_mark, pool, progress, "block")
    logger.info("predicted %d blocks in %.1f s", count, seconds)
    done_mark(work, "classes").touch()
    return classes


def _file_slab(classes, box, grid: VolumeGrid, z0: int, z1: int) -> np.ndarray:
    """Pass 4: the file's slices ``[z0, z1)`` of the classes, by the nearest resampled voxel
    (as ``ResampleToSpacing.inverse``), zero outside the foreground box (``Invertd`` of the
    crop), turned back to the file's axes."""
    ranges = [(0, n) for n in grid.ras_shape]
    ranges[grid.axis] = grid.ras_range(z0, z1)
    picks, valid = [], []
    for axis, (lo, hi) in enumerate(ranges):
        j = nearest_indices(lo, hi, 1.0 / grid.scales[axis], grid.shape[axis]) - box[axis][0]
        inside = (j >= 0) & (j < box[axis][1] - box[axis][0])
        picks.append(np.clip(j, 0, box[axis][1] - box[axis][0] - 1))
        valid.append(inside)
    a = grid.axis
    first, last = int(picks[a].min()), int(picks[a].max()) + 1
    index = [slice(None)] * 3
    index[a] = slice(first, last)
    part = classes[tuple(index)]
    picks[a] = picks[a] - first
    out = part[np.ix_(*picks)]
    out = out * (valid[0][:, None, None] & valid[1][None, :, None] & valid[2][None, None, :])
    return np.ascontiguousarray(grid.from_ras(out.astype(np.uint8)))
