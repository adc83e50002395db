"""Writing large outputs as they are made, a stripe or slab at a time, never the whole
array in memory: tiled BigTIFF and gzipped NIfTI, each atomically (a temporary file renamed
onto the final name when complete). OME-NGFF stores: :mod:`medunet.data.ngff`; Slicer
segmentations: :mod:`medunet.data.slicer`; GeoJSON: :mod:`medunet.data.geojson`."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from medunet.data.io import atomic_path

__all__ = ["TILE", "write_nifti_slabs", "write_tiled_tiff"]

TILE = 256  # tile edge of the written BigTIFFs and OME-Zarr chunks


def _tile_rows(stripes: Iterator[np.ndarray], tile: int) -> Iterator[np.ndarray]:
    """Rows of ``tile`` pixels (the last one shorter) from stripes of any height."""
    pending: list[np.ndarray] = []
    have = 0
    for stripe in stripes:
        pending.append(stripe)
        have += stripe.shape[0]
        while have >= tile:
            block = np.concatenate(pending, axis=0)
            yield block[:tile]
            rest = block[tile:]
            pending, have = ([rest] if rest.shape[0] else []), rest.shape[0]
    if have:
        yield np.concatenate(pending, axis=0)


def _tiles(stripes: Iterator[np.ndarray], dtype, tile: int) -> Iterator[np.ndarray]:
    for row in _tile_rows(stripes, tile):
        for x in range(0, row.shape[1], tile):
            block = np.zeros((tile, tile), dtype)
            part = row[:, x : x + tile]
            block[: part.shape[0], : part.shape[1]] = part
            yield block


def write_tiled_tiff(path: Path, stripes, shape, dtype, spacing, overwrite: bool) -> None:
    import tifffile

    resolution = (1.0 / float(spacing[-1]), 1.0 / float(spacing[-2]))
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(
            tmp,
            data=_tiles(stripes, dtype, TILE),
            shape=tuple(shape),
            dtype=dtype,
            tile=(TILE, TILE),
            bigtiff=True,
            resolution=resolution,
            metadata=None,
        )


def write_nifti_slabs(path: Path, slabs, shape, affine, overwrite: bool) -> None:
    """A uint8 NIfTI from slabs along the last axis, written in order (no whole volume)."""
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape(tuple(int(n) for n in shape))
    header.set_data_dtype(np.uint8)
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header.set_xyzt_units("mm")
    header["magic"] = b"n+1"  # one file: header, 4 bytes of extension flags, then voxels
    header.set_data_offset(352)
    offset = 352
    with atomic_path(path, overwrite=overwrite) as tmp:
        with gzip.open(tmp, "wb", compresslevel=1) as f:
            raw = header.binaryblock
            f.write(raw)
            f.write(b"\0" * (offset - len(raw)))
            for slab in slabs:
                f.write(np.asarray(slab, np.uint8).tobytes(order="F"))
