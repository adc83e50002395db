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

Every pass is resumable (``--resume``): a finished pass, and each predicted block, leaves a
mark in the work folder.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor
from monai.transforms import CropForegroundd
from monai.transforms.utils import generate_spatial_bounding_box

from medunet.bundle.streaming.policy import StreamOptions
from medunet.bundle.streaming.work import (
    MappedArray,
    component,
    done_mark,
    fingerprint,
    load_weights,
    open_map,
    progress_bar,
    streaming_inferer,
    work_dir,
)
from medunet.data.blocks import BlockSource, open_blocks, read_window
from medunet.data.writers import write_nifti_slabs
from medunet.inferers import release_free_memory
from medunet.inferers.streaming import StreamGrid, predict_block
from medunet.transforms.checks import CheckImaged
from medunet.transforms.degenerate import foreground_or_all
from medunet.transforms.intensity import CHUNK, ModalityNormalized
from medunet.transforms.resample import (
    ResampleToSpacingd,
    nearest_indices,
    resample,
    resampled_size,
    source_span,
)
from medunet.transforms.save import output_stem

__all__ = ["VolumeGrid", "stream_volume"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VolumeGrid:
    """Where the file's voxels go: RAS orientation, then the training spacing.

    Attributes:
        ornt: nibabel's orientation of the file's axes (``io_orientation``): file axis ``k``
            is RAS axis ``ornt[k, 0]``, reversed where ``ornt[k, 1]`` is -1.
        ras_shape: the file's shape turned to RAS.
        scales: input voxels per resampled voxel on each RAS axis.
        shape: the resampled shape.
    """

    ornt: np.ndarray
    ras_shape: tuple[int, ...]
    scales: tuple[float, ...]
    shape: tuple[int, ...]

    @classmethod
    def create(cls, source: BlockSource, resample: ResampleToSpacingd) -> VolumeGrid:
        import nibabel as nib

        ornt = nib.orientations.io_orientation(source.affine)
        ras = nib.orientations.ornt_transform(ornt, nib.orientations.axcodes2ornt("RAS"))
        ras_affine = source.affine @ nib.orientations.inv_ornt_aff(ras, source.shape)
        ras_shape = [0, 0, 0]
        for k, n in enumerate(source.shape):
            ras_shape[int(ornt[k, 0])] = int(n)
        scales = resample.resampler.scales(ras_affine, 3)
        shape = tuple(resampled_size(n, s) for n, s in zip(ras_shape, scales, strict=True))
        return cls(ornt, tuple(ras_shape), tuple(scales), shape)

    @property
    def axis(self) -> int:
        """The RAS axis of the file's last axis (the one slabs are cut along)."""
        return int(self.ornt[2, 0])

    def ras_range(self, lo: int, hi: int) -> tuple[int, int]:
        """The file's slices ``[lo, hi)`` as a range of RAS :attr:`axis` (or back)."""
        if self.ornt[2, 1] < 0:
            n = self.ras_shape[self.axis]
            return n - hi, n - lo
        return lo, hi

    def to_ras(self, slab: torch.Tensor) -> torch.Tensor:
        """A channel-first slab of the file, turned to RAS (``Orientationd``'s flips and
        transposition)."""
        x = slab.as_tensor() if isinstance(slab, MetaTensor) else torch.as_tensor(slab)
        flips = [k + 1 for k in range(3) if self.ornt[k, 1] < 0]
        x = x.flip(flips) if flips else x
        return x.permute(0, *(int(a) + 1 for a in np.argsort(self.ornt[:, 0])))

    def from_ras(self, slab: np.ndarray) -> np.ndarray:
        """A RAS slab ``(X, Y, Z)`` turned back to the file's axes."""
        x = np.transpose(slab, [int(self.ornt[k, 0]) for k in range(3)])
        flips = [k for k in range(3) if self.ornt[k, 1] < 0]
        return np.flip(x, flips) if flips else x


class _CroppedSource:
    """The cropped resampled volume, normalised, read by windows (for :func:`read_window`)."""

    def __init__(self, volume: MappedArray, normalise, stats) -> None:
        self.volume, self.normalise, self.stats = volume, normalise, stats
        self.shape = tuple(volume.shape[1:])

    def read(self, start, stop) -> np.ndarray:
        box = tuple(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True))
        x = torch.from_numpy(self.volume[(slice(None), *box)].astype(np.float32, copy=False))
        return self.normalise.apply(x, self.stats).numpy()


def stream_volume(
    parser: ConfigParser,
    path: str | Path,
    model: Path,
    out: Path,
    block_size: int,
    options: StreamOptions,
    overwrite: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Predict one NIfTI volume streamed in slabs of about ``block_size`` slices; returns
    the written segmentation, the one the whole-volume path writes."""
    path = Path(path)
    source = open_blocks(path)
    stem = output_stem(str(path))
    final = out / f"{stem}_seg.nii.gz"
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists; pass --overwrite to replace it.")
    check = component(parser, "preprocessing_transforms", CheckImaged)
    resample = component(parser, "preprocessing_transforms", ResampleToSpacingd)
    crop = component(parser, "preprocessing_transforms", CropForegroundd).cropper
    normalise = component(parser, "preprocessing_transforms", ModalityNormalized).transform
    _check_crop(crop, path)
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network_def").to(device)
    load_weights(network, model)
    inferer = streaming_inferer(parser, device)
    grid = VolumeGrid.create(source, resample)
    settings = {
        "block": block_size, "target": resample.resampler.pixdim, "tta": inferer.tta,
        "tile": inferer.memory_budget_mb,
        "margin": crop.margin, "normalise": [normalise.modality, normalise.window,
                                             normalise.percentiles],
    }  # fmt: skip
    work = work_dir(out, stem, fingerprint(path, model, settings), options.resume, overwrite)
    resampled = _resample_pass(source, grid, check, work, block_size, path, progress)
    box = _foreground_box(resampled, crop)
    cropped = resampled.cropped(box)
    stats = normalise.statistics(cropped)
    reader = _CroppedSource(cropped, normalise, stats)
    classes = _predict_pass(reader, network, inferer, device, grid.axis, block_size, work,
                            progress)  # fmt: skip
    slabs = (
        _file_slab(classes, box, grid, z0, min(z0 + block_size, source.shape[2]))
        for z0 in range(0, source.shape[2], block_size)
    )
    write_nifti_slabs(final, slabs, source.shape, source.affine, overwrite)
    shutil.rmtree(work)
    logger.info("saved %s", final)
    return [final]


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


def _resample_pass(source, grid, check, work, block_size, path, progress) -> MappedArray:
    """Pass 1: the file checked, turned to RAS and resampled, ``(C, *grid.shape)``."""
    done = done_mark(work, "resampled").is_file()
    volume = open_map(work, "resampled", np.float32, (source.channels, *grid.shape), not done)
    if done:
        return volume
    a = grid.axis
    starts = range(0, grid.shape[a], block_size)
    bar = progress_bar(len(starts), progress, "slab")
    for j0 in starts:
        j1 = min(j0 + block_size, grid.shape[a])
        lo, hi = source_span(j0, j1, grid.scales[a], grid.ras_shape[a], "bilinear")
        f_lo, f_hi = grid.ras_range(lo, hi)
        raw = source.read([0, 0, f_lo], [*source.shape[:2], f_hi]).astype(np.float32)
        image = MetaTensor(torch.from_numpy(raw), meta={"filename_or_obj": str(path)})
        x = grid.to_ras(check({"image": image})["image"])
        x = resample(x, grid.scales, grid.shape, "bilinear", (a, grid.ras_shape[a], j0, j1, lo))
        index = [slice(None)] * 4
        index[a + 1] = slice(j0, j1)
        volume[tuple(index)] = x.numpy()
        release_free_memory()
        bar.update(1)
    bar.close()
    done_mark(work, "resampled").touch()
    return volume


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


def _is_blank(reader: _CroppedSource) -> bool:
    """Whether the normalised cropped volume has no contrast (``is_blank``)."""
    lo, hi = np.inf, -np.inf
    n = reader.shape[-1]
    for z in range(0, n, CHUNK):
        x = reader.read([0, 0, z], [*reader.shape[:2], min(z + CHUNK, n)])
        lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
    return lo == hi


def _predict_pass(reader, network, inferer, device, axis, block_size, work, progress):
    """Pass 3: the classes of the cropped volume, one block of whole tiles at a time."""
    done = done_mark(work, "classes").is_file()
    fresh = not (work / "classes.npy").is_file()
    classes = open_map(work, "classes", np.uint8, reader.shape, fresh)
    if done:
        return classes
    sizes = list(reader.shape)
    sizes[axis] = block_size
    grid = StreamGrid.create(inferer, network, reader.shape, sizes)
    blank = _is_blank(reader)

    def read(w_start, w_size) -> torch.Tensor:
        return torch.from_numpy(read_window(reader, w_start, w_size))[None].to(device)

    bar = progress_bar(len(grid), progress, "block")
    for index, start, stop in grid.blocks():
        mark = done_mark(work, f"block_{'_'.join(map(str, index))}")
        box = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
        if not mark.is_file():
            if blank:  # no contrast: background, as BlankImageBackgroundd makes it
                classes[box] = 0
            else:
                with torch.no_grad():
                    logits = predict_block(inferer, network, grid, read, start, stop)
                prob = torch.softmax(logits[0].float(), 0)  # Activationsd, AsDiscreted
                classes[box] = prob.argmax(0).cpu().numpy().astype(np.uint8)
            mark.touch()
            release_free_memory()  # the block's freed memory, not kept until the next one
        bar.update(1)
    bar.close()
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
