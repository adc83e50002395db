"""The slabs and blocks of a streamed volume, as tasks that run anywhere.

Two passes of :func:`~.volume.stream_volume` are made of independent parts: resampling the
file's slabs (pass 1, :class:`SlabTask`) and predicting blocks of whole tiles (pass 3,
:class:`VolumeBlockTask`). A task holds plain values only (the bundle's merged config, the
paths, the grid, the foreground box, the normalisation statistics), so it pickles: the same
task runs in this process (:class:`~.work.SerialPool`) or on a dask worker
(:class:`~medunet.bundle.cluster.ClusterPool`). A slab task reads its slab straight from the
input file; a block task reads its window from the resampled volume in the work folder.
Each writes its own part of a memory map in the work folder and then leaves a mark: a
worker killed mid-task leaves no mark, dask runs the task again and it writes the same
voxels; a resumed run (``--resume``) skips every part with a mark.

Each process builds the bundle's transforms, or its network and inferer, once per volume.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor

from medunet.bundle.streaming.work import (
    MappedArray,
    component,
    done_mark,
    inference_network,
    streaming_inferer,
)
from medunet.data.blocks import BlockSource, open_blocks, read_window
from medunet.inferers import release_free_memory
from medunet.inferers.streaming import StreamGrid, predict_block
from medunet.transforms.checks import CheckImaged
from medunet.transforms.intensity import ModalityNormalized
from medunet.transforms.resample import (
    ResampleToSpacingd,
    resample,
    resampled_size,
    source_span,
)

__all__ = [
    "CroppedSource",
    "SlabTask",
    "VolumeBlockTask",
    "VolumeGrid",
    "block_mark",
    "release_volume",
    "slab_mark",
]


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
        return cls(ornt, tuple(ras_shape), tuple(float(s) for s in scales), shape)

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

    def slabs(self, block_size: int) -> range:
        """The first resampled index of each slab of ``block_size`` along :attr:`axis`."""
        return range(0, self.shape[self.axis], block_size)

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


class CroppedSource:
    """The cropped resampled volume, normalised with the whole volume's statistics, read by
    windows (for :func:`~medunet.data.blocks.read_window`).

    Args:
        volume: the resampled volume ``(C, X, Y, Z)`` in the work folder.
        box: the foreground box ``[(start, stop)]`` per spatial axis.
        normalise: the bundle's normalisation.
        stats: its :meth:`~medunet.transforms.ModalityNormalize.statistics` of the crop.
    """

    def __init__(self, volume: MappedArray, box, normalise, stats) -> None:
        self.volume, self.normalise, self.stats = volume.cropped(box), normalise, stats
        self.shape = tuple(self.volume.shape[1:])

    def read(self, start, stop) -> np.ndarray:
        box = tuple(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True))
        x = torch.from_numpy(self.volume[(slice(None), *box)].astype(np.float32, copy=False))
        return self.normalise.apply(x, self.stats).numpy()


@dataclass(frozen=True)
class SlabTask:
    """Pass 1: the output slab from resampled index ``j0`` of the file, checked, turned to
    RAS and resampled into ``resampled.npy``: ``task(j0)``.

    Attributes:
        config: the bundle's merged inference config, overrides applied (``parser.get()``).
        image: the NIfTI file.
        work: the work folder.
        block: the slab's thickness (resampled slices).
    """

    config: dict
    image: str
    work: str
    block: int

    def parts(self) -> tuple[CheckImaged, BlockSource, VolumeGrid]:
        """This process's check, input and grid of the volume (built once: the file's header
        is read once in each process)."""
        return _slab_parts(self)

    def __call__(self, j0: int) -> int:
        """Write the slab and its mark; returns ``j0``."""
        check, source, grid = self.parts()
        a = grid.axis
        j1 = min(j0 + self.block, grid.shape[a])
        lo, hi = source_span(j0, j1, grid.scales[a], grid.ras_shape[a], "bilinear")
        f_lo, f_hi = grid.ras_range(lo, hi)
        raw = source.read([0, 0, f_lo], [*source.shape[:2], f_hi]).astype(np.float32)
        image = MetaTensor(torch.from_numpy(raw), meta={"filename_or_obj": self.image})
        x = grid.to_ras(check({"image": image})["image"])
        x = resample(x, grid.scales, grid.shape, "bilinear", (a, grid.ras_shape[a], j0, j1, lo))
        index = [slice(None)] * 4
        index[a + 1] = slice(j0, j1)
        MappedArray(Path(self.work) / "resampled.npy")[tuple(index)] = x.numpy()
        done_mark(Path(self.work), slab_mark(j0)).touch()
        release_free_memory()
        return j0


@dataclass(frozen=True)
class VolumeBlockTask:
    """Pass 3: the classes of block ``index`` of the cropped volume into ``classes.npy``:
    ``task(index)``.

    Attributes:
        config: the bundle's merged inference config, overrides applied.
        model: the weights.
        work: the work folder (``resampled.npy`` in, ``classes.npy`` out).
        box: the foreground box of the resampled volume, ``((start, stop), ...)``.
        stats: the normalisation statistics of the cropped volume (``None``: CT).
        block: the block sizes per axis, before rounding to whole tiles.
        blank: the volume has no contrast: every block is background.
    """

    config: dict
    model: str
    work: str
    box: tuple[tuple[int, int], ...]
    stats: np.ndarray | None
    block: tuple[int, ...]
    blank: bool

    def predictor(self) -> tuple[Any, Any, torch.device, CroppedSource, StreamGrid]:
        """This process's network, inferer, device, reader and grid (built once)."""
        return _block_parts(self)

    def __call__(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """Write the block's classes (uint8) and its mark; returns ``index``."""
        network, inferer, device, reader, grid = self.predictor()
        start = [i * b for i, b in zip(index, grid.block, strict=True)]
        stop = [min(s + b, n) for s, b, n in zip(start, grid.block, grid.shape, strict=True)]
        box = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
        classes = MappedArray(Path(self.work) / "classes.npy")
        if self.blank:  # no contrast: background, as BlankImageBackgroundd makes it
            classes[box] = 0
        else:

            def read(w_start, w_size) -> torch.Tensor:
                return torch.from_numpy(read_window(reader, w_start, w_size))[None].to(device)

            with torch.no_grad():
                logits = predict_block(inferer, network, grid, read, start, stop)
            prob = torch.softmax(logits[0].float(), 0)  # Activationsd, AsDiscreted
            classes[box] = prob.argmax(0).cpu().numpy().astype(np.uint8)
        done_mark(Path(self.work), block_mark(index)).touch()
        release_free_memory()  # the block's freed memory, not kept until the next one
        return tuple(index)


def slab_mark(j0: int) -> str:
    """The name of the mark of the slab from resampled index ``j0``."""
    return f"slab_{j0:05d}"


def block_mark(index: tuple[int, ...]) -> str:
    """The name of block ``index``'s mark in the work folder."""
    return f"block_{'_'.join(map(str, index))}"


_LOADED: dict[tuple, Any] = {}


def _cached(key: tuple, build):
    if key not in _LOADED:
        _LOADED.clear()  # one volume at a time per process: the last one's parts are freed
        _LOADED[key] = build()
    return _LOADED[key]


def _slab_parts(task: SlabTask) -> tuple[CheckImaged, BlockSource, VolumeGrid]:
    def build():
        parser = ConfigParser(copy.deepcopy(task.config))
        check = component(parser, "preprocessing_transforms", CheckImaged)
        resample = component(parser, "preprocessing_transforms", ResampleToSpacingd)
        source = open_blocks(task.image)
        return check, source, VolumeGrid.create(source, resample)

    return _cached(("slab", task.work, task.image, task.block), build)


def _block_parts(task: VolumeBlockTask):
    def build():
        parser = ConfigParser(copy.deepcopy(task.config))
        device = torch.device(parser.get_parsed_content("device"))
        network = inference_network(parser, Path(task.model), device)
        inferer = streaming_inferer(parser, device)
        normalise = component(parser, "preprocessing_transforms", ModalityNormalized).transform
        volume = MappedArray(Path(task.work) / "resampled.npy")
        reader = CroppedSource(volume, task.box, normalise, task.stats)
        grid = StreamGrid.create(inferer, network, reader.shape, list(task.block))
        return network, inferer, device, reader, grid

    stats = None if task.stats is None else np.asarray(task.stats).tobytes()
    return _cached(("block", task.work, task.model, task.box, task.block, stats), build)


def release_volume() -> None:
    """Free this process's transforms, network and reader of the last volume."""
    _LOADED.clear()
