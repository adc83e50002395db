"""The probabilities of one block of a streamed 2D image, as a task that runs anywhere.

A :class:`BlockTask` holds plain values only (the bundle's merged config, the paths, the
image's intensity range), so it pickles: the same task runs in this process
(:class:`~.work.SerialPool`) or on a dask worker
(:class:`~medunet.bundle.cluster.ClusterPool`). A task reads its block's window straight
from the input, predicts the block with the bundle's network and inferer, and writes
``prob_R_C.npy`` to the work folder, atomically (a worker killed mid-task leaves no
half-written block: dask runs it again). The process that streams the image merges the
blocks into its stripes and labels them (:mod:`.microscopy`); a block whose file is there is
never predicted again (``--resume``).

Each process loads the network once per image (:func:`_predictor` keeps the last one).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.bundle import ConfigParser

from medunet.bundle.streaming.work import inference_network, streaming_inferer
from medunet.data.blocks import BlockSource, open_blocks, read_window
from medunet.data.io import atomic_path
from medunet.inferers import release_free_memory
from medunet.inferers.streaming import StreamGrid, predict_block

__all__ = ["BlockTask", "Predictor", "block_file", "normalise", "release"]


def block_file(work: str | Path, index: tuple[int, int]) -> Path:
    """The work folder's file of block ``index`` (row, column) of probabilities."""
    return Path(work) / f"prob_{index[0]:05d}_{index[1]:05d}.npy"


@dataclass(frozen=True)
class Predictor:
    """What a process predicts blocks with: built once per image and process.

    Attributes:
        network: the trained network (eval mode, on ``device``).
        inferer: the bundle's overlap-tile inferer.
        device: where the network runs.
        source: the input, read by windows.
        grid: the blocks of whole tiles over the image.
    """

    network: torch.nn.Module
    inferer: Any
    device: torch.device
    source: BlockSource
    grid: StreamGrid


@dataclass(frozen=True)
class BlockTask:
    """Predict block ``index`` of one image into the work folder: ``task(index)``.

    Attributes:
        config: the bundle's merged inference config, overrides applied (``parser.get()``).
        image: the input (TIFF or OME-Zarr).
        model: the weights.
        work: the work folder (:func:`~.work.work_dir`).
        block: the block size (pixels per axis, before rounding to whole tiles).
        scale: the percentile range ``((low, high), ...)`` per channel, of the whole image.
        blank: the image has no contrast: every block is background.
        kept: the classes kept, the first ``kept`` of the softmax.
    """

    config: dict
    image: str
    model: str
    work: str
    block: int
    scale: tuple[tuple[float, float], ...]
    blank: bool
    kept: int

    def predictor(self) -> Predictor:
        """This process's network, inferer and grid for the image (loaded once)."""
        return _predictor(self)

    def __call__(self, index: tuple[int, int]) -> tuple[int, int]:
        """Write block ``index``'s probabilities ``(kept, h, w)`` float32; returns ``index``."""
        p = self.predictor()
        block, shape = p.grid.block, p.grid.shape
        start = [i * b for i, b in zip(index, block, strict=True)]
        stop = [min(s + b, n) for s, b, n in zip(start, block, shape, strict=True)]
        if self.blank:
            size = [b - a for a, b in zip(start, stop, strict=True)]
            part = np.zeros((self.kept, *size), np.float32)
            part[0] = 1.0
        else:
            scale = np.asarray(self.scale, np.float32)

            def read(w_start, w_size) -> torch.Tensor:
                window = read_window(p.source, w_start, w_size)
                return normalise(window, scale).to(p.device)

            with torch.no_grad():
                logits = predict_block(p.inferer, p.network, p.grid, read, start, stop)
            part = torch.softmax(logits.float(), 1)[0, : self.kept].cpu().numpy()
        with atomic_path(block_file(self.work, index)) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(part, np.float32))
        release_free_memory()  # the block's freed memory: a process holds one block's
        return index


def normalise(window: np.ndarray, scale: np.ndarray) -> torch.Tensor:
    """The bundle's percentile scaling (``ScaleIntensityRangePercentilesd``, no clipping)
    with the whole image's percentiles ``scale`` ``(C, 2)``: ``(1, C, *window)``."""
    x = torch.as_tensor(window.astype(np.float32))
    lo = torch.as_tensor(scale[:, 0], dtype=torch.float32).view(-1, *[1] * (x.dim() - 1))
    hi = torch.as_tensor(scale[:, 1], dtype=torch.float32).view(-1, *[1] * (x.dim() - 1))
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return ((x - lo) / span)[None]


_LOADED: dict[tuple, Predictor] = {}


def _predictor(task: BlockTask) -> Predictor:
    key = (task.work, task.model, task.image, task.block)
    if key not in _LOADED:
        _LOADED.clear()  # one image at a time per process: the last one's network is freed
        parser = ConfigParser(copy.deepcopy(task.config))
        device = torch.device(parser.get_parsed_content("device"))
        network = inference_network(parser, Path(task.model), device)
        inferer = streaming_inferer(parser, device)
        source = open_blocks(task.image)
        grid = StreamGrid.create(inferer, network, source.shape, task.block)
        _LOADED[key] = Predictor(network, inferer, device, source, grid)
    return _LOADED[key]


def release() -> None:
    """Free this process's network (:func:`_predictor`'s)."""
    _LOADED.clear()
