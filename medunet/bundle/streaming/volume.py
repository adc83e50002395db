"""Streamed CT/MRI volumes: slabs along the file's last axis, each with the network's
context, on the training spacing and orientation and back, written as one NIfTI."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import numpy as np
import torch
from monai.bundle import ConfigParser

from medunet.bundle.streaming.policy import StreamOptions
from medunet.bundle.streaming.work import (
    component,
    fingerprint,
    load_weights,
    progress_bar,
    streaming_inferer,
    work_dir,
)
from medunet.data.blocks import BlockSource, iter_blocks, open_blocks
from medunet.data.io import atomic_path
from medunet.data.writers import write_nifti_slabs
from medunet.transforms.intensity import ModalityNormalized
from medunet.transforms.save import output_stem

__all__ = ["stream_volume"]

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
) -> list[Path]:
    """Predict one NIfTI volume streamed in slabs; returns the written segmentation.

    Each slab (``block_size`` slices of the file's last axis, plus the network's context on
    both sides) is reoriented to RAS, resampled to the training spacing, normalised with the
    whole volume's statistics, predicted with the bundle's inferer, and its classes taken
    back to the file's own grid; the slabs are written in order as one NIfTI with the
    input's affine. The foreground crop of the whole-volume path is not applied (tiles over
    empty background are predicted too).
    """
    import nibabel as nib

    path = Path(path)
    source = open_blocks(path)
    stem = output_stem(str(path))
    final = out / f"{stem}_seg.nii.gz"
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists; pass --overwrite to replace it.")
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network_def").to(device)
    load_weights(network, model)
    inferer = streaming_inferer(parser, device)
    target = [float(s) for s in parser.get_parsed_content("target_spacing")]
    normalise = component(parser, "preprocessing_transforms", ModalityNormalized).transform
    settings = {"block": block_size, "target": target, "tta": inferer.tta}
    work = work_dir(out, stem, fingerprint(path, model, settings), options.resume, overwrite)
    ornt = nib.orientations.io_orientation(source.affine)
    ras = nib.orientations.axcodes2ornt(("R", "A", "S"))
    to_ras = nib.orientations.ornt_transform(ornt, ras)
    from_ras = nib.orientations.ornt_transform(ras, ornt)
    ras_axis_of_z = int(ornt[2, 0])  # the RAS axis the file's slab axis becomes
    ras_spacing = np.empty(3)
    ras_spacing[ornt[:, 0].astype(int)] = np.asarray(source.spacing)
    zoom = ras_spacing / np.asarray(target)
    stats = _volume_statistics(source, normalise)
    context = int(getattr(inferer, "halo", None) or 0) or network.tile_geometry.context_halo()
    margin = math.ceil(context / zoom[ras_axis_of_z]) + 2
    depth = source.shape[2]
    slabs = math.ceil(depth / block_size)
    bar = progress_bar(slabs, progress, "slab")
    for k in range(slabs):
        part = work / f"seg_{k:05d}.npy"
        if options.resume and part.is_file():
            bar.update(1)
            continue
        z0, z1 = k * block_size, min((k + 1) * block_size, depth)
        lo, hi = max(z0 - margin, 0), min(z1 + margin, depth)
        slab = source.read([0, 0, lo], [source.shape[0], source.shape[1], hi])[0]
        classes = _predict_slab(
            slab, (to_ras, from_ras), zoom, normalise, stats, network, inferer, device
        )
        with atomic_path(part) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, classes[:, :, z0 - lo : z1 - lo].astype(np.uint8))
        bar.update(1)
    bar.close()
    write_nifti_slabs(final, (np.load(work / f"seg_{k:05d}.npy") for k in range(slabs)),
                 source.shape, source.affine, overwrite)  # fmt: skip
    shutil.rmtree(work)
    logger.info("saved %s", final)
    return [final]


def _volume_statistics(source: BlockSource, normalise) -> tuple[float, ...] | None:
    """The whole volume's MR normalisation statistics (percentiles of the non-zero voxels,
    then the mean and standard deviation of the clipped volume); None for CT (a window)."""
    if normalise.modality == "CT":
        return None
    slab = 64
    blocks = list(iter_blocks(source.shape, (source.shape[0], source.shape[1], slab)))
    values = []
    for start, stop in blocks:
        d = source.read(start, stop).ravel()
        values.append(d[d != 0][:: max(1, d.size // 200000)])
    sample = np.concatenate(values) if values else np.zeros(1)
    if sample.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    lo, hi = np.percentile(sample.astype(np.float64), normalise.percentiles)
    total, total_sq, count = 0.0, 0.0, 0
    for start, stop in blocks:
        d = np.clip(source.read(start, stop).astype(np.float64), lo, hi)
        total += float(d.sum())
        total_sq += float((d * d).sum())
        count += d.size
    mean = total / count
    std = math.sqrt(max(total_sq / count - mean * mean, 0.0))
    return (float(lo), float(hi), mean, std)


def _predict_slab(slab, orient, zoom, normalise, stats, network, inferer, device) -> np.ndarray:
    """Classes of a slab ``(X, Y, Z)`` of the file, on the file's grid (``orient``: the
    orientation transforms to RAS and back)."""
    to_ras, from_ras = orient
    import nibabel as nib
    import torch.nn.functional as F

    x = nib.orientations.apply_orientation(slab.astype(np.float32), to_ras)
    size = [max(1, round(n * z)) for n, z in zip(x.shape, zoom, strict=True)]
    t = torch.as_tensor(np.ascontiguousarray(x))[None, None]
    t = F.interpolate(t, size=size, mode="trilinear", align_corners=False)[0]
    if stats is None:
        t = normalise(t)
    else:
        lo, hi, mean, std = stats
        t = (t.clamp(lo, hi) - mean) / std if std > 1e-8 else torch.zeros_like(t)
    if float(t.max()) == float(t.min()):
        classes = torch.zeros(size, dtype=torch.int64)
    else:
        with torch.no_grad():
            logits = inferer(t[None].to(device), network)
        classes = logits[0].argmax(0).cpu()
    back = F.interpolate(classes[None, None].float(), size=list(x.shape), mode="nearest")[0, 0]
    return nib.orientations.apply_orientation(back.numpy().astype(np.uint8), from_ras)
