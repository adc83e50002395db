"""Streamed inference of large images with a trained bundle: bounded memory, resumable.

The package: :mod:`.memory` (the bound ``--max-memory`` sets, the tile and block it
allows), :mod:`.policy` (when and in which blocks to stream), :mod:`.work` (the
resumable work folder and what both kinds share), :mod:`.tasks` (a 2D block's
probabilities as a task, run here or on a dask worker), :mod:`.volume_tasks` (a volume's
slabs and blocks as tasks), :mod:`.microscopy` and :mod:`.volume` (the two pipelines); the
writers are :mod:`medunet.data.writers`.

``medunet infer --block-size N`` (or, by default, any input whose in-memory prediction would
need more than ``--max-memory``) predicts an image block by block
(:mod:`medunet.inferers.streaming`): the bundle's network, tiles, test-time augmentation
and post-processing, with the input read one window at a time (:mod:`medunet.data.blocks`)
and the result written as it is made:

- microscopy (2D TIFF, OME-Zarr): probabilities a stripe of blocks at a time, instance
  labels stitched across blocks (:class:`~medunet.transforms.stitching.BlockInstances`),
  written in the bundle's ``output_formats``, as the whole image would be: tiled BigTIFF
  ``<name>_labels.tif`` / ``<name>_prob.tif``, OME-NGFF ``<name>.ome.zarr`` (image pyramid
  and labels layer) / ``<name>_prob.ome.zarr``, GeoJSON ``<name>.geojson``;
- CT/MRI (NIfTI): slabs along the file's last axis, each with the network's context, on the
  training spacing and orientation and back, written as ``<name>_seg.nii.gz`` (and/or the
  Slicer segmentation ``<name>_seg.seg.nrrd``) on the input's grid and affine.

Work in progress lives in a hidden folder beside the outputs (``.<name>.stream``): each
finished stripe or slab is a file there, so an interrupted prediction continues where it
stopped (``resume``); the final files appear under their names only when complete.
"""

from __future__ import annotations

from medunet.bundle.streaming.memory import MemoryBound
from medunet.bundle.streaming.microscopy import stream_microscopy
from medunet.bundle.streaming.policy import (
    BYTES_PER_PIXEL,
    StreamOptions,
    in_memory_bytes,
    slice_pixels,
    streamed_block_size,
)
from medunet.bundle.streaming.volume import stream_volume

__all__ = [
    "BYTES_PER_PIXEL",
    "MemoryBound",
    "StreamOptions",
    "in_memory_bytes",
    "slice_pixels",
    "stream_microscopy",
    "stream_volume",
    "streamed_block_size",
]
