"""Streamed 2D microscopy: probabilities block by block, instance labels stitched across
blocks a stripe at a time, both kept in the work folder and mapped a window at a time (so
memory depends on the block, not on the image), then written a row of tiles at a time in the
bundle's ``output_formats``: tiled BigTIFF, OME-NGFF with pyramids, GeoJSON objects."""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from monai.bundle import ConfigParser

from medunet.bundle.streaming.policy import StreamOptions
from medunet.bundle.streaming.tasks import BlockTask, block_file, release
from medunet.bundle.streaming.work import (
    SerialPool,
    component,
    done_mark,
    fingerprint,
    open_map,
    progress_bar,
    save_arrays,
    work_dir,
    work_path,
)
from medunet.data.blocks import BlockSource, iter_blocks, open_blocks, percentiles
from medunet.data.geojson import write_geojson
from medunet.data.ngff import write_ngff_image, write_ngff_labels
from medunet.data.writers import TILE, write_tiled_tiff
from medunet.inferers import release_free_memory
from medunet.inferers.streaming import StreamGrid
from medunet.transforms.postprocess import ProbabilityToInstancesd
from medunet.transforms.save import (
    IMAGE_FORMATS,
    check_formats,
    label_dtype,
    output_files,
    output_stem,
)
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
    pool=None,
) -> list[Path]:
    """Predict one 2D microscopy image streamed; returns the written files.

    The blocks' probabilities are tasks (:class:`~.tasks.BlockTask`) run by ``pool``: one
    after another here (:class:`~.work.SerialPool`, the default) or on dask workers
    (:class:`~medunet.bundle.cluster.ClusterPool`); this process copies each block into its
    stripe as it arrives and labels the stripes in order, so the result is the same.

    Args:
        parser: the bundle's merged inference config (overrides applied).
        path: a TIFF or OME-Zarr image.
        model: the weights.
        out: the output folder.
        pool: runs the block tasks (``imap_unordered(fn, items)``).
    """
    path = Path(path)
    source = open_blocks(path)
    stem = output_stem(str(path))
    formats = check_formats(parser.get("output_formats", ["tiff"]), IMAGE_FORMATS, "microscopy")
    files = output_files(out, stem, formats)
    finals = [path for paths in files.values() for path in paths]
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
    pool = pool or SerialPool()
    task = BlockTask(parser.get(), str(path), str(model.resolve()), str(work_path(out, stem)),
                     block_size, scale=(), blank=False, kept=0)  # fmt: skip
    predictor = task.predictor()  # this process's network: the grid, the settings
    inferer, network = predictor.inferer, predictor.network
    rule = component(parser, "postprocessing_transforms", ProbabilityToInstancesd).transform
    q = [float(parser["percentile_low"]), float(parser["percentile_high"])]
    settings = {
        "block": block_size, "margin": options.margin, "q": q, "tta": inferer.tta,
        "tile": inferer.memory_budget_mb,
        "rule": [rule.border_class, rule.min_size, rule.seed_threshold, rule.mask_threshold,
                 rule.fill_holes, rule.min_seed_size, rule.growth],
    }  # fmt: skip
    work = work_dir(out, stem, fingerprint(path, model, settings), options.resume, overwrite)
    if not np.issubdtype(source.dtype, np.integer) and parser["nonfinite_value"] is None:
        _check_finite(source, path)
    stats = percentiles(source, [*q, 0.0, 100.0])  # the whole image's, as in memory
    grid = predictor.grid
    # a small seed is judged as on the whole image when the margin holds it
    margin = min(max(options.margin, rule.min_seed_size), grid.block[0], grid.block[1])
    instances = BlockInstances(rule, margin)
    # thresholds read p(background) and p(interior) only; the most likely class needs all
    thresholds = rule.seed_threshold is not None or rule.mask_threshold is not None
    kept = 2 if thresholds else int(network.out_channels)
    task = replace(task, scale=tuple(tuple(map(float, row)) for row in stats[:, :2]),
                   blank=bool(np.all(stats[:, 2] == stats[:, 3])), kept=kept)  # fmt: skip
    rows, (height, width) = grid.counts[0], grid.shape
    # the stripes live in the work folder, mapped a window at a time: memory does not grow
    # with the image's width or height
    prob = open_map(work, "prob", np.float32, (kept, *grid.shape), fresh=False)
    labels = open_map(work, "labels", np.int32, grid.shape, fresh=False)
    band_rows = min(grid.block[0] + 2 * margin, height)
    band = open_map(work, "band", np.int32, (band_rows, width), fresh=False)

    def state_file(r: int) -> Path:
        return work / f"labels_{r:05d}.npz"

    done = [r for r in range(rows) if state_file(r).is_file()]
    labelled_upto = max(done) if done and options.resume else -1
    claims = None  # seed pixels the stripe labelled last claimed in the next one
    if labelled_upto >= 0:
        state = np.load(state_file(labelled_upto))
        instances.restore(int(state["n_ids"]), state["counts"], state["joins"])
        claims = state["claims"]
        logger.info("resuming %s after %d of %d stripes", path.name, labelled_upto + 1, rows)

    stripes = _Stripes(grid, work, prob)
    bar = progress_bar(len(grid), progress, "block")
    start_time = time.perf_counter()
    pending = []
    for index, _, _ in grid.blocks():
        if stripes.is_done(index[0]):
            bar.update(1)
        elif block_file(work, index).is_file():  # predicted before the interruption
            stripes.merge(index)
            bar.update(1)
        else:
            pending.append(index)
    for index in itertools.chain([None], pool.imap_unordered(task, pending)):
        if index is not None:
            stripes.merge(index)
            bar.update(1)
        # a stripe is labelled once it and the stripe below it are predicted
        while labelled_upto + 1 < rows and all(
            stripes.is_done(r) for r in range(labelled_upto + 1, min(labelled_upto + 3, rows))
        ):
            stripe = labelled_upto + 1
            claims = _label_stripe(grid, stripe, prob, labels, band, claims, instances, margin)
            save_arrays(
                state_file(stripe),
                claims=claims,
                n_ids=np.asarray(len(instances.ids)),
                counts=instances.counts,
                joins=np.asarray(instances.joins, np.int64).reshape(-1, 2),
            )
            labelled_upto = stripe
            release_free_memory()
    bar.close()
    release()  # this process's network, until the next image
    mapping, count = instances.final_ids()
    logger.info(
        "%s: %d objects in %d blocks, %.0f s", path.name, count, len(grid),
        time.perf_counter() - start_time,
    )  # fmt: skip
    dtype = label_dtype(count)
    starts = range(0, height, TILE)  # written a row of tiles at a time

    def label_stripes():
        return (mapping[labels[y : y + TILE]].astype(dtype) for y in starts)

    def prob_stripes():
        return (1.0 - prob[0, y : y + TILE] for y in starts)

    if "tiff" in files:
        write_tiled_tiff(files["tiff"][0], label_stripes(), source.shape, dtype,
                         source.spacing, overwrite)  # fmt: skip
        write_tiled_tiff(files["tiff"][1], prob_stripes(), source.shape, np.float32,
                         source.spacing, overwrite)  # fmt: skip
    if "zarr" in files:
        width = source.shape[1]
        image = (source.read([y, 0], [min(y + TILE, height), width]) for y in starts)
        write_ngff_labels(files["zarr"][0], label_stripes(), source.shape, dtype,
                          source.spacing, count, image=image,
                          image_shape=(source.channels, *source.shape), image_dtype=source.dtype,
                          unit=source.unit, name=stem, overwrite=overwrite)  # fmt: skip
        write_ngff_image(files["zarr"][1], prob_stripes(), source.shape,
                         np.float32, source.spacing, source.unit, name=f"{stem}_prob",
                         overwrite=overwrite)  # fmt: skip
    if "geojson" in files:
        write_geojson(files["geojson"][0], label_stripes(), prob_stripes(),
                      overwrite=overwrite)  # fmt: skip
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


class _Stripes:
    """Which blocks of each stripe are in the mapped probabilities: a block's file is
    copied in as it arrives; a stripe whose blocks are all in is marked done and its block
    files are removed (until then they stay: a resumed run copies them, not predicts)."""

    def __init__(self, grid: StreamGrid, work: Path, prob) -> None:
        self.grid, self.work, self.prob = grid, work, prob
        self.merged: dict[int, set[int]] = {}

    def is_done(self, r: int) -> bool:
        return done_mark(self.work, f"prob_{r:05d}").is_file()

    def merge(self, index: tuple[int, int]) -> None:
        r, c = index
        y0, x0 = (i * b for i, b in zip(index, self.grid.block, strict=True))
        part = np.load(block_file(self.work, index))
        self.prob[:, y0 : y0 + part.shape[1], x0 : x0 + part.shape[2]] = part
        self.merged.setdefault(r, set()).add(c)
        columns = self.grid.counts[1]
        if len(self.merged[r]) == columns:
            done_mark(self.work, f"prob_{r:05d}").touch()
            for column in range(columns):
                block_file(self.work, (r, column)).unlink(missing_ok=True)


def _label_stripe(grid, q, prob, labels, band, claims, instances, margin):
    """Global instance ids of stripe ``q`` into ``labels``, block by block; returns the
    seed pixels this stripe claims in stripe q+1 ``(rows, W)``.

    Each block's labelling window reaches ``margin`` pixels into its neighbours. ``band``
    holds the ids already given around the stripe (rows ``q*height - margin`` on): stripe
    q-1's ids above it, its ``claims`` in this stripe, then each block's ids and claims, for
    the blocks after it. Windows are read and written per block, so no full-width row of
    probabilities or ids is ever in memory.
    """
    height, width = grid.block[0], grid.shape[1]
    y0 = q * height
    y1 = min(y0 + height, grid.shape[0])
    top, bottom = max(y0 - margin, 0), min(y1 + margin, grid.shape[0])
    n = bottom - top
    columns = [(start[1], stop[1]) for index, start, stop in grid.blocks() if index[0] == q]
    for x0, x1 in columns:
        part = np.zeros((n, x1 - x0), np.int32)
        if top < y0:
            part[: y0 - top] = labels[top:y0, x0:x1]
        if claims is not None:
            part[y0 - top : y0 - top + claims.shape[0]] = claims[:, x0:x1]
        band[:n, x0:x1] = part
    for x0, x1 in columns:
        left, right = max(x0 - margin, 0), min(x1 + margin, width)
        window = prob[:, top:bottom, left:right]
        core = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        region = band[:n, left:right]
        sides = ((top > 0, bottom < grid.shape[0]), (left > 0, right < width))
        ids, seeds = instances.label(window, core, region, sides)
        seeds[core] = 0
        np.copyto(region, seeds, where=(region == 0) & (seeds > 0), casting="unsafe")
        region[core] = ids
        band[:n, left:right] = region
        labels[y0:y1, x0:x1] = ids
    return band[y1 - top : n]
