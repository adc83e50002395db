"""Streamed 2D microscopy: probabilities a stripe of blocks at a time, instance labels
stitched across blocks, tiled BigTIFF or OME-Zarr written as it is made."""

from __future__ import annotations

import logging
import shutil
import time
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
    save_arrays,
    streaming_inferer,
    work_dir,
)
from medunet.data.blocks import BlockSource, iter_blocks, open_blocks, percentiles, read_window
from medunet.data.writers import write_ome_zarr, write_tiled_tiff
from medunet.inferers.streaming import StreamGrid, predict_block
from medunet.transforms.postprocess import ProbabilityToInstancesd
from medunet.transforms.save import output_stem
from medunet.transforms.stitching import BlockInstances

__all__ = ["stream_microscopy"]

logger = logging.getLogger(__name__)


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
    load_weights(network, model)
    inferer = streaming_inferer(parser, device)
    rule = component(parser, "postprocessing_transforms", ProbabilityToInstancesd).transform
    q = [float(parser["percentile_low"]), float(parser["percentile_high"])]
    settings = {
        "block": block_size, "margin": options.margin, "q": q, "tta": inferer.tta,
        "rule": [rule.border_class, rule.min_size, rule.seed_threshold, rule.mask_threshold,
                 rule.fill_holes],
        "format": options.output_format,
    }  # fmt: skip
    work = work_dir(out, stem, fingerprint(path, model, settings), options.resume, overwrite)
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
    probs: dict[int, np.ndarray] = {}  # whole stripes not labelled yet (two at most)
    tail: np.ndarray | None = None  # the last rows of the stripe labelled last
    labels: dict[int, np.ndarray] = {}
    if labelled_upto >= 0:
        state = np.load(label_file(labelled_upto))
        instances.restore(int(state["n_ids"]), state["counts"], state["joins"])
        labels[labelled_upto] = (state["labels"], state["claims"])
        logger.info("resuming %s after %d of %d stripes", path.name, labelled_upto + 1, rows)

    def get_prob(r: int) -> np.ndarray:
        if r not in probs:
            probs[r] = np.load(prob_file(r))["prob"]
        return probs[r]

    bar = progress_bar(len(grid), progress, "block")
    bar.update((labelled_upto + 1) * grid.counts[1])
    start_time = time.perf_counter()
    for r in range(labelled_upto + 1, rows + 1):
        if r < rows and not prob_file(r).is_file():
            stripe = _predict_stripe(
                source, grid, r, network, inferer, scale, device, bar, channels, blank
            )
            save_arrays(prob_file(r), prob=stripe)
            probs[r] = stripe
        elif r < rows:
            bar.update(grid.counts[1])
        if r - 1 > labelled_upto:  # stripe r - 1 not labelled yet (resumed: done ones skipped)
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
            save_arrays(
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
    writer = write_ome_zarr if options.output_format == "zarr" else write_tiled_tiff
    writer(finals[0], label_stripes, source.shape, dtype, source.spacing, overwrite)
    writer(finals[1], prob_stripes, source.shape, np.float32, source.spacing, overwrite)
    shutil.rmtree(work)
    for final in finals:
        logger.info("saved %s", final)
    return finals


def _check_finite(source: BlockSource, path: Path) -> None:
    for start, stop in iter_blocks(source.shape, [2048] * len(source.shape)):
        bad = int((~np.isfinite(source.read(start, stop))).sum())
        if bad:
            raise ValueError(
                f"{path} holds NaN/Inf values; repair the image, or replace them "
                "(--set nonfinite_value=0)."
            )


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

    def read(w_start, w_size) -> torch.Tensor:
        return _normalise(read_window(source, w_start, w_size), scale).to(device)

    with torch.no_grad():
        for index, start, stop in grid.blocks():
            if index[0] != r:
                continue
            logits = predict_block(inferer, network, grid, read, start, stop)
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
