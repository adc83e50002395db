"""Streamed inference of large images with a trained bundle: bounded memory, resumable.

``medunet infer --block-size N`` (or, by default, any input whose in-memory prediction would
need more than ``--max-memory``) predicts an image block by block
(:mod:`medunet.inferers.streaming`): the bundle's network, tiles, test-time augmentation
and post-processing, with the input read one window at a time (:mod:`medunet.data.blocks`)
and the result written as it is made:

- microscopy (2D TIFF, OME-Zarr): probabilities a stripe of blocks at a time, instance
  labels stitched across blocks (:class:`~medunet.transforms.stitching.BlockInstances`),
  written as tiled BigTIFF ``<name>_labels.tif`` / ``<name>_prob.tif`` (or OME-Zarr with
  ``output_format="zarr"``);
- CT/MRI (NIfTI): slabs along the file's last axis, each with the network's context, on the
  training spacing and orientation and back, written as ``<name>_seg.nii.gz`` on the
  input's grid and affine.

Work in progress lives in a hidden folder beside the outputs (``.<name>.stream``): each
finished stripe or slab is a file there, so an interrupted prediction continues where it
stopped (``resume``); the final files appear under their names only when complete.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from monai.bundle import ConfigParser

from medunet.data.blocks import BlockSource, open_blocks, percentiles, read_window
from medunet.data.io import atomic_path
from medunet.inferers.streaming import StreamGrid, predict_block
from medunet.transforms.intensity import ModalityNormalized
from medunet.transforms.postprocess import ProbabilityToInstancesd
from medunet.transforms.save import output_stem
from medunet.transforms.stitching import BlockInstances

__all__ = [
    "BYTES_PER_PIXEL",
    "StreamOptions",
    "in_memory_bytes",
    "stream_microscopy",
    "stream_volume",
    "streamed_block_size",
]

logger = logging.getLogger(__name__)

#: peak bytes of the in-memory path per input pixel (measured: an 8192^2 uint16 image took
#: 6.9 GB with the demo's model, about 100 B/px; a volume about 60 B/voxel at the training
#: spacing), for deciding when to stream
BYTES_PER_PIXEL = {2: 100, 3: 60}
TILE = 256  # tile edge of the written BigTIFFs


@dataclass
class StreamOptions:
    """How ``medunet infer`` streams.

    Attributes:
        block_size: block edge in pixels (``None``: stream only above ``max_memory``,
            then with :data:`DEFAULT_BLOCK`).
        max_memory_gb: stream inputs whose in-memory prediction would need more.
        resume: continue an interrupted streamed prediction of the same input and settings.
        output_format: ``"tiff"`` (tiled BigTIFF) or ``"zarr"`` (OME-Zarr), microscopy.
        margin: pixels each block's labelling reaches into its neighbours.
    """

    block_size: int | None = None
    max_memory_gb: float = 2.0
    resume: bool = False
    output_format: str = "tiff"
    margin: int = 64


DEFAULT_BLOCK = {2: 1024, 3: 64}


def in_memory_bytes(source: BlockSource, spatial_dims: int, zoom: float = 1.0) -> float:
    """Estimated peak memory of predicting ``source`` whole (``zoom``: voxels at the
    training spacing per voxel of the file)."""
    return BYTES_PER_PIXEL[spatial_dims] * source.channels * math.prod(source.shape) * zoom


def streamed_block_size(
    path: str | Path, options: StreamOptions, spatial_dims: int, zoom: float = 1.0
) -> int | None:
    """The block size to stream ``path`` with, or ``None`` to predict it whole."""
    if options.block_size is not None:
        return int(options.block_size)
    lower = str(path).lower()
    if not lower.endswith((".tif", ".tiff", ".nii", ".nii.gz")) and not Path(path).is_dir():
        return None
    try:
        source = open_blocks(path)
    except ValueError:
        return None  # not streamable (axes, format): the whole-image path reports problems
    if len(source.shape) != spatial_dims:
        return None
    estimate = in_memory_bytes(source, spatial_dims, zoom)
    if estimate <= options.max_memory_gb * 2**30:
        return None
    block = DEFAULT_BLOCK[spatial_dims]
    logger.info(
        "%s: predicting it whole would take about %.1f GB (more than --max-memory %.1f GB): "
        "streaming it in blocks of %d",
        path,
        estimate / 2**30,
        options.max_memory_gb,
        block,
    )
    return block


# ---------------------------------------------------------------------------- shared
def _load_weights(network: torch.nn.Module, model: Path) -> None:
    state = torch.load(model, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    network.load_state_dict(state)
    network.eval()


def _fingerprint(path: Path, model: Path, settings: dict) -> str:
    """What a resumed prediction must match: the input, the model and the settings."""
    digest = hashlib.sha256()
    for p in (path, model):
        st = p.stat() if p.is_file() else None
        digest.update(
            f"{p.resolve()}|{st.st_size if st else ''}|{st.st_mtime if st else ''}".encode()
        )
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _work_dir(out: Path, stem: str, fingerprint: str, resume: bool, overwrite: bool) -> Path:
    work = out / f".{stem}.stream"
    meta = work / "meta.json"
    if work.exists():
        if overwrite:
            shutil.rmtree(work)
        elif not resume:
            raise FileExistsError(
                f"{work} holds an interrupted streamed prediction of {stem}; pass --resume to "
                "continue it, or --overwrite to start again."
            )
        elif not meta.is_file() or json.loads(meta.read_text()).get("fingerprint") != fingerprint:
            raise ValueError(
                f"{work} was made with another input, model or settings; pass --overwrite "
                "to start again."
            )
    work.mkdir(parents=True, exist_ok=True)
    if not meta.is_file():
        with atomic_path(meta) as tmp:
            tmp.write_text(json.dumps({"fingerprint": fingerprint}))
    return work


def _save(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _progress(total: int, enabled: bool, what: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=what, disable=not enabled, dynamic_ncols=True)


#: activation memory of a tile when streaming (MiB): bounded memory is the point
STREAM_TILE_MB = 1024.0


def _streaming_inferer(parser: ConfigParser, device):
    """The bundle's inferer, its automatic tile held to :data:`STREAM_TILE_MB` of
    activations (the whole-image default allows more; a 4096^2 image gets the same tile
    either way)."""
    from medunet.inferers.overlap_tile import default_memory_budget_mb

    inferer = parser.get_parsed_content("inferer")
    if inferer.memory_budget_mb is None:
        inferer.memory_budget_mb = min(default_memory_budget_mb(device), STREAM_TILE_MB)
    return inferer


def _components(parser: ConfigParser, key: str, kind: type):
    return next(t for t in parser.get_parsed_content(key) if isinstance(t, kind))


# ---------------------------------------------------------------------- microscopy
def stream_microscopy(
    parser: ConfigParser,
    path: str | Path,
    model: Path,
    out: Path,
    block_size: int,
    options: StreamOptions,
    overwrite: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Predict one 2D microscopy image streamed; returns the written files.

    Args:
        parser: the bundle's merged inference config (overrides applied).
        path: a TIFF or OME-Zarr image.
        model: the weights.
        out: the output folder.
    """
    path = Path(path)
    source = open_blocks(path)
    stem = output_stem(str(path))
    suffix = ".ome.zarr" if options.output_format == "zarr" else ".tif"
    finals = [out / f"{stem}_labels{suffix}", out / f"{stem}_prob{suffix}"]
    for final in finals:
        if final.exists() and not overwrite:
            raise FileExistsError(f"{final} exists; pass --overwrite to replace it.")
    scale = float(parser["image_scale"]) if "image_scale" in parser else 1.0
    if scale != 1.0:
        raise ValueError(
            f"{path}: the model predicts at image_scale {scale:g}, which streamed inference "
            "does not resample; predict it whole (a larger --max-memory) or train with "
            "--set image_scale=1."
        )
    in_channels = int(parser.get_parsed_content("in_channels"))
    if source.channels != in_channels:
        raise ValueError(
            f"{path} has {source.channels} channels but the model takes {in_channels}; convert "
            "the image or set in_channels."
        )
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network_def").to(device)
    _load_weights(network, model)
    inferer = _streaming_inferer(parser, device)
    rule = _components(parser, "postprocessing_transforms", ProbabilityToInstancesd).transform
    q = [float(parser["percentile_low"]), float(parser["percentile_high"])]
    settings = {
        "block": block_size, "margin": options.margin, "q": q, "tta": inferer.tta,
        "rule": [rule.border_class, rule.min_size, rule.seed_threshold, rule.mask_threshold,
                 rule.fill_holes],
        "format": options.output_format,
    }  # fmt: skip
    work = _work_dir(out, stem, _fingerprint(path, model, settings), options.resume, overwrite)
    if not np.issubdtype(source.dtype, np.integer) and parser["nonfinite_value"] is None:
        _check_finite(source, path)
    stats = percentiles(source, [*q, 0.0, 100.0])  # the whole image's, as in memory
    scale = stats[:, :2]
    blank = bool(np.all(stats[:, 2] == stats[:, 3]))  # no contrast: all background
    grid = StreamGrid.create(inferer, network, source.shape, block_size)
    margin = min(options.margin, grid.block[0], grid.block[1])
    instances = BlockInstances(rule, margin)
    # thresholds read p(background) and p(interior) only; the most likely class needs all
    thresholds = rule.seed_threshold is not None or rule.mask_threshold is not None
    channels = 2 if thresholds else None
    rows, height = grid.counts[0], grid.block[0]

    def prob_file(r: int) -> Path:
        return work / f"prob_{r:05d}.npz"

    def label_file(r: int) -> Path:
        return work / f"labels_{r:05d}.npz"

    done = [r for r in range(rows) if label_file(r).is_file()]
    labelled_upto = max(done) if done and options.resume else -1
    if labelled_upto >= 0:
        state = np.load(label_file(labelled_upto))
        instances.restore(int(state["n_ids"]), state["counts"], state["joins"])
        logger.info("resuming %s after %d of %d stripes", path.name, labelled_upto + 1, rows)
    probs: dict[int, np.ndarray] = {}  # whole stripes not labelled yet (two at most)
    tail: np.ndarray | None = None  # the last rows of the stripe labelled last
    labels: dict[int, np.ndarray] = {}
    if labelled_upto >= 0:
        saved = np.load(label_file(labelled_upto))
        labels[labelled_upto] = (saved["labels"], saved["claims"])

    def get_prob(r: int) -> np.ndarray:
        if r not in probs:
            probs[r] = np.load(prob_file(r))["prob"]
        return probs[r]

    bar = _progress(len(grid), progress, "block")
    bar.update((labelled_upto + 1) * grid.counts[1])
    start_time = time.perf_counter()
    for r in range(labelled_upto + 1, rows + 1):
        if r < rows and not prob_file(r).is_file():
            stripe = _predict_stripe(
                source, grid, r, network, inferer, scale, device, bar, channels, blank
            )
            _save(prob_file(r), prob=stripe)
            probs[r] = stripe
        elif r < rows:
            bar.update(grid.counts[1])
        if r >= 1:
            q_row = r - 1
            above = tail
            if above is None and q_row >= 1:  # resumed: the stripe above from its file
                above = get_prob(q_row - 1)[:, -margin:]
            below = get_prob(q_row + 1) if q_row + 1 < rows else None
            labels[q_row] = _label_stripe(
                grid, q_row, (above, get_prob(q_row), below), labels.get(q_row - 1),
                instances, margin, height,
            )  # fmt: skip
            tail = get_prob(q_row)[:, -margin:].copy()  # all the next stripe needs
            _save(
                label_file(q_row),
                labels=labels[q_row][0],
                claims=labels[q_row][1],
                n_ids=np.asarray(len(instances.ids)),
                counts=instances.counts,
                joins=np.asarray(instances.joins, np.int64).reshape(-1, 2),
            )
            for old in [k for k in probs if k <= q_row]:  # keep: the next stripe, full
                del probs[old]
            for old in [k for k in labels if k < q_row]:
                del labels[old]
    bar.close()
    mapping, count = instances.final_ids()
    logger.info(
        "%s: %d objects in %d blocks, %.0f s", path.name, count, len(grid),
        time.perf_counter() - start_time,
    )  # fmt: skip
    dtype = np.uint16 if count < 65536 else np.uint32
    label_stripes = (mapping[np.load(label_file(r))["labels"]].astype(dtype) for r in range(rows))
    prob_stripes = (1.0 - np.load(prob_file(r))["prob"][0] for r in range(rows))
    writer = _write_zarr if options.output_format == "zarr" else _write_tiff
    writer(finals[0], label_stripes, source.shape, dtype, source.spacing, overwrite)
    writer(finals[1], prob_stripes, source.shape, np.float32, source.spacing, overwrite)
    shutil.rmtree(work)
    for final in finals:
        logger.info("saved %s", final)
    return finals


def _check_finite(source: BlockSource, path: Path) -> None:
    for start, stop in _blocks(source.shape, 2048):
        bad = int((~np.isfinite(source.read(start, stop))).sum())
        if bad:
            raise ValueError(
                f"{path} holds NaN/Inf values; repair the image, or replace them "
                "(--set nonfinite_value=0)."
            )


def _blocks(shape: Sequence[int], size: int) -> Iterator[tuple[list[int], list[int]]]:
    from medunet.data.blocks import iter_blocks

    for start, stop in iter_blocks(shape, [size] * len(shape)):
        yield list(start), list(stop)


def _normalise(window: np.ndarray, scale: np.ndarray) -> torch.Tensor:
    """The bundle's percentile scaling (``ScaleIntensityRangePercentilesd``, no clipping)
    with the whole image's percentiles."""
    x = torch.as_tensor(window.astype(np.float32))
    lo = torch.as_tensor(scale[:, 0], dtype=torch.float32).view(-1, *[1] * (x.dim() - 1))
    hi = torch.as_tensor(scale[:, 1], dtype=torch.float32).view(-1, *[1] * (x.dim() - 1))
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return ((x - lo) / span)[None]


def _predict_stripe(source, grid, r, network, inferer, scale, device, bar, channels, blank):
    """Softmax probabilities ``(channels, rows, W)`` of stripe ``r`` (one row of blocks);
    ``channels``: how many of the first classes to keep (``None``: all). A ``blank`` image
    (no contrast) is background everywhere, as in the whole-image path."""
    if blank:
        rows = min(grid.block[0], grid.shape[0] - r * grid.block[0])
        out_channels = channels or int(network.out_channels)
        stripe = np.zeros((out_channels, rows, grid.shape[1]), np.float32)
        stripe[0] = 1.0
        bar.update(grid.counts[1])
        return stripe
    stripe = None
    with torch.no_grad():
        for index, start, stop in grid.blocks():
            if index[0] != r:
                continue
            w_start, w_size = grid.window(start, stop)
            window = _normalise(read_window(source, w_start, w_size), scale).to(device)
            logits = predict_block(inferer, network, grid, window, start, stop)
            prob = torch.softmax(logits.float(), 1)[0, :channels].cpu().numpy()
            if stripe is None:
                stripe = np.zeros((prob.shape[0], stop[0] - start[0], grid.shape[1]), np.float32)
            stripe[:, :, start[1] : stop[1]] = prob
            bar.update(1)
    return stripe


def _label_stripe(grid, q, probs, above, instances, margin, height):
    """Global instance ids of stripe ``q``, from the probabilities ``(last rows of stripe
    q-1, stripe q, stripe q+1)`` (None where there is none), the ids of stripe q-1 and the
    seed pixels stripe q-1 claimed in stripe q (``above``: both); returns ``(ids, claims)``
    (this stripe's claims in stripe q+1). Windows are cut per block, so no full-width band
    of probabilities is ever built."""
    prob_above, prob_here, prob_below = probs
    above_ids, above_claims = above if above is not None else (None, None)
    width = grid.shape[1]
    y0 = q * height
    y1 = min(y0 + height, grid.shape[0])
    top, bottom = max(y0 - margin, 0), min(y1 + margin, grid.shape[0])
    done = np.zeros((bottom - top, width), np.int32)  # ids already given, band coordinates
    if above_ids is not None and top < y0:
        done[: y0 - top] = above_ids[top - (q - 1) * height :]
    if above_claims is not None:
        done[y0 - top : y0 - top + above_claims.shape[0]] = above_claims
    out = np.zeros((y1 - y0, width), np.int32)
    for index, start, stop in grid.blocks():
        if index[0] != q:
            continue
        x0, x1 = start[1], stop[1]
        left, right = max(x0 - margin, 0), min(x1 + margin, width)
        parts = []
        if top < y0:
            parts.append(prob_above[:, prob_above.shape[1] - (y0 - top) :, left:right])
        parts.append(prob_here[:, :, left:right])
        if bottom > y1 and prob_below is not None:
            parts.append(prob_below[:, : bottom - y1, left:right])
        window = np.concatenate(parts, axis=1)
        core = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        region = done[:, left:right]
        ids, claims = instances.label(window, core, region)
        claims[core] = 0
        np.copyto(region, claims, where=(region == 0) & (claims > 0), casting="unsafe")
        region[core] = ids
        out[:, x0:x1] = ids
    return out, done[y1 - top :].copy()


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


def _write_tiff(path: Path, stripes, shape, dtype, spacing, overwrite: bool) -> None:
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


def _write_zarr(path: Path, stripes, shape, dtype, spacing, overwrite: bool) -> None:
    import zarr

    from medunet.data.blocks import write_ome_zarr_metadata

    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it.")
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    group = zarr.open_group(str(tmp), mode="w")
    array = group.create_array("0", shape=tuple(shape), chunks=(TILE, TILE), dtype=dtype)
    y = 0
    for stripe in stripes:
        array[y : y + stripe.shape[0]] = stripe
        y += stripe.shape[0]
    write_ome_zarr_metadata(group, "YX", spacing)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- volumes
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
    _load_weights(network, model)
    inferer = _streaming_inferer(parser, device)
    target = [float(s) for s in parser.get_parsed_content("target_spacing")]
    normalise = _components(parser, "preprocessing_transforms", ModalityNormalized).transform
    settings = {"block": block_size, "target": target, "tta": inferer.tta}
    work = _work_dir(out, stem, _fingerprint(path, model, settings), options.resume, overwrite)
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
    bar = _progress(slabs, progress, "slab")
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
    _write_nifti(final, (np.load(work / f"seg_{k:05d}.npy") for k in range(slabs)),
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
    blocks = [
        ([0, 0, z], [source.shape[0], source.shape[1], min(z + slab, source.shape[2])])
        for z in range(0, source.shape[2], slab)
    ]
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


def _write_nifti(path: Path, slabs, shape, affine, overwrite: bool) -> None:
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
