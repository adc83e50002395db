"""Predicting files and folders with a trained bundle (what ``medunet infer`` does).

Microscopy: ``OUT/<name>_labels.tif`` (instances) and ``OUT/<name>_prob.tif``; CT/MRI:
``OUT/<name>_seg.nii.gz`` on the input's own grid and affine. A model trained by
:func:`~medunet.bundle.run_training` brings its run's presets and overrides (``run.json``)
and the files beside it (``postprocess.json``, ``spacing.json``), so the network and the
processing match the training without repeating them.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.bundle import ConfigParser

from medunet.bundle.cluster import ClusterPool, ClusterSpec, cluster_pool, run_on_cluster
from medunet.bundle.config import LayeredConfig, device_override, layer_config, spatial_dims_of
from medunet.bundle.onnx_model import onnx_model_for, onnx_overrides
from medunet.bundle.registry import Bundle, resolve_bundle
from medunet.bundle.runs import read_run
from medunet.bundle.streaming import (
    StreamOptions,
    slice_pixels,
    stream_microscopy,
    stream_volume,
    streamed_block_size,
)
from medunet.bundle.streaming.memory import GB, MemoryBound
from medunet.bundle.workflow import LogPolicy, run_workflow
from medunet.data.datalist import case_name, find_images
from medunet.data.dicom import is_single_series
from medunet.data.headers import VolumeHeader, check_volume_header
from medunet.data.microscopy import MICROSCOPY_SUFFIXES
from medunet.networks.onnx import OnnxRuntimeNetwork
from medunet.transforms.save import (
    IMAGE_FORMATS,
    OUTPUT_SUFFIXES,
    VOLUME_FORMATS,
    check_formats,
    output_stem,
)

__all__ = ["BACKENDS", "bundle_suffixes", "list_inputs", "model_config", "run_inference"]

logger = logging.getLogger(__name__)

#: what runs the network: PyTorch, or the network exported to ONNX on ONNX Runtime
BACKENDS = ("pytorch", "onnxruntime")


def bundle_suffixes(config: LayeredConfig) -> list[str]:
    """The image extensions the bundle reads (its ``suffixes``; microscopy: TIFF and PNG)."""
    if "suffixes" in config.parser:
        return list(config.parser.get_parsed_content("suffixes"))
    return list(MICROSCOPY_SUFFIXES)


def list_inputs(inputs: Sequence[str | Path], suffixes: Sequence[str]) -> list[dict]:
    """A datalist ``[{"image": path or [channel paths]}]`` of files and folders.

    A folder contributes its images (files with ``suffixes``; with ``"/"`` among them, also
    sub-folders as DICOM series); a folder whose files make one DICOM series, or that holds
    none of those, is itself one series when ``"/"`` is allowed (single ``.dcm`` files of
    different series are images of their own). nnU-Net ``_0000`` channel files of one case
    are grouped.
    """
    files: list[Path] = []
    items: list[dict] = []
    extensions = [s for s in suffixes if s != "/"]
    for raw in inputs:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ValueError(f"{raw} does not exist; give image files or folders of images.")
        if path.is_file():
            if not path.name.lower().endswith(tuple(extensions)):
                raise ValueError(
                    f"{raw}: this bundle reads {extensions} files, not "
                    f"{path.suffix or 'files without extension'}; convert it or use the "
                    "other bundle."
                )
            files.append(path)
            continue
        if "/" in suffixes and is_single_series(path):
            items.append({"image": str(path)})  # the folder's .dcm files are one series
            continue
        found = find_images(path, suffixes)
        if found:
            items.extend({"image": p[0] if len(p) == 1 else p} for p in found.values())
        elif "/" in suffixes and any(f.is_file() for f in path.iterdir()):
            items.append({"image": str(path)})  # the folder is one DICOM series
        else:
            raise ValueError(f"{raw}: no images found (extensions {extensions}).")
    if files:
        groups: dict[str, list[str]] = {}
        for path in sorted(files):
            groups.setdefault(case_name(path)[0], []).append(str(path))
        items.extend({"image": p[0] if len(p) == 1 else p} for p in groups.values())
    return items


def model_config(
    bundle: Bundle, model: Path, presets: Sequence[str | Path] = (), settings: Sequence[str] = ()
) -> LayeredConfig:
    """The inference config for ``model``: its run's presets and overrides, then the user's."""
    return layer_config(bundle, "inference", presets, settings, run=read_run(model))


def run_inference(
    bundle: str | Path,
    inputs: Sequence[str | Path],
    output: str | Path,
    model: str | Path | None = None,
    tta: str | None = None,
    overwrite: bool = False,
    device: str | None = None,
    presets: Sequence[str | Path] = (),
    settings: Sequence[str] = (),
    log_policy: LogPolicy | None = None,
    progress: bool = True,
    stream: StreamOptions | None = None,
    cluster: str | ClusterSpec | None = None,
    worker_setup: Callable[[], Any] | None = None,
    backend: str = "pytorch",
    output_formats: str | Sequence[str] | None = None,
) -> Path:
    """Predict every input with ``bundle`` into the folder ``output``; returns ``output``.

    ``tta``: ``None`` keeps the model's setting (its run's plan averages the 8 views of
    membranes and volumes), ``"flips"`` or ``"rot90"`` average those views, ``"none"``
    predicts in one pass. ``progress`` shows a bar over each image's tiles (or a streamed
    image's blocks).
    ``stream`` (:class:`~medunet.bundle.streaming.StreamOptions`): inputs given a block
    size, or too large to predict whole within its memory limit, are streamed block by
    block (:mod:`medunet.bundle.streaming`); the others run through the bundle's workflow.
    ``cluster`` (``local:N``, a scheduler address or file): each input is a task on
    dask.distributed, and so is each block of a streamed image (and each slab a streamed
    volume resamples; :mod:`medunet.bundle.cluster`), the same files written;
    ``worker_setup`` runs in each worker first (the command's logging). ``backend``:
    ``"pytorch"`` or ``"onnxruntime"`` (the network exported to ONNX and run by ONNX
    Runtime, the same tiles and processing; implied by a ``.onnx`` model, which finds its
    run's files beside it as ``model.pt`` does; :mod:`medunet.bundle.onnx_model`).
    ``output_formats`` (a list or comma-separated; default: the bundle's
    ``output_formats``): microscopy ``tiff``, ``zarr`` (OME-NGFF: image, labels layer,
    pyramids) and ``geojson`` (QuPath objects), CT/MRI ``nifti`` and ``seg.nrrd`` (3D
    Slicer), streamed and whole alike.

    Raises:
        ValueError: missing inputs, files the bundle cannot read, or no trained model (the
            message says where it looked and how to train one).
    """
    spec = ClusterSpec.parse(cluster) if isinstance(cluster, str) else cluster
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
    bund = resolve_bundle(bundle)
    model_path = Path(model).expanduser().resolve() if model else bund.root / "models" / "model.pt"
    if not model_path.is_file():
        raise ValueError(
            f"no trained model at {model_path}; train one with `medunet train {bund.name} "
            "--data DIR --output RUN` and pass --model RUN/models/model.pt."
        )
    config = model_config(bund, model_path, presets, settings)
    formats = _output_formats(output_formats, bund, config)
    datalist = list_inputs(inputs, bundle_suffixes(config))
    headers = {  # every header, read once, before the first output is written
        path: check_volume_header(path)
        for item in datalist
        for path in (item["image"] if isinstance(item["image"], list) else [item["image"]])
    }
    device_ids = device_override(device)  # a bad --device before the output folder exists
    if model_path.suffix == ".onnx":
        OnnxRuntimeNetwork(model_path)  # a bad or foreign ONNX file, before it too
    else:
        _check_torch_file(model_path)
    out = Path(output).expanduser().resolve()
    options = stream or StreamOptions()
    overrides = {
        **config.overrides,
        **device_ids,
        "bundle_root": str(bund.root),
        "ckpt_path": str(model_path),
        "output_dir": str(out),
        "datalist": datalist,
        "overwrite": overwrite,
        **({"output_formats": formats} if formats else {}),
    }
    if "ckpt_dir" in config.parser:  # the run's files beside the model (spacing.json, ...)
        overrides["ckpt_dir"] = str(model_path.parent)
    if tta is not None:
        overrides["tta"] = None if tta == "none" else tta
    if "show_progress" in config.parser:
        overrides["show_progress"] = progress
    parser = config.parser_with({**overrides, "show_progress": False})
    bundle_tile = parser["tile_memory_mb"] if "tile_memory_mb" in parser else None
    shared = spec is not None and options.max_memory_gb is None and spec.workers > 0
    if spec is not None:  # the bound is each worker's: that is where the tiles run
        options = _per_worker(options, spec)
    limits = (parser, options, model_path, bund, datalist, headers, bundle_tile)
    bound = _memory_bound(*limits)  # a bound too small: an error before any output or worker
    if spec is not None:
        _refuse_existing(datalist, out, overwrite)  # before any task starts
    out.mkdir(parents=True, exist_ok=True)
    # on a cluster, a streamed image's blocks (a volume's slabs and blocks) are tasks and
    # every other input is one task, run_inference of it alone on a worker
    run = stream_volume if bund.kind == "volume" else stream_microscopy
    with ExitStack() as stack:
        if backend == "onnxruntime" or model_path.suffix == ".onnx":
            onnx_file = stack.enter_context(onnx_model_for(parser, model_path, out))
            overrides.update(onnx_overrides(parser, onnx_file))
            parser = config.parser_with({**overrides, "show_progress": False})
            backend = "onnxruntime"
            logger.info("the network runs on ONNX Runtime: %s", onnx_file)
        pool = None if spec is None else stack.enter_context(cluster_pool(spec, worker_setup))
        if pool is not None:  # the bound's base is a worker's (dask's own memory with it)
            bound = _memory_bound(*limits, resident=pool.resident_bytes())
        if shared:
            bound = replace(bound, source=f"the default, shared by {spec.workers} local workers")
        tile_mb = bound.tile_memory_mb(bundle_tile)
        if tile_mb != bundle_tile:  # the tile the bound allows, streamed and whole alike
            logger.info("tiles of at most %.0f MiB of activations, within the bound", tile_mb)
            overrides["tile_memory_mb"] = parser["tile_memory_mb"] = tile_mb
        streamed, whole = _split_streamed(datalist, bund, parser, headers, options, bound,
                                          bundle_tile)  # fmt: skip
        where = "," if pool is None else f" on {pool.workers} dask worker(s), each"
        for item, block in streamed:
            logger.info("streaming %s in blocks of %d%s %s", item["image"], block, where,
                        bound.describe())  # fmt: skip
            run(parser, item["image"], model_path, out, block, options, overwrite=overwrite,
                progress=progress, pool=pool)  # fmt: skip
        if whole and pool is None:
            logger.info("predicting %d input(s) with %s and %s, %s", len(whole), bund.name,
                        model_path, bound.describe())  # fmt: skip
            run_workflow(config.files, {**overrides, "datalist": whole}, bund.meta_file,
                         log_policy=log_policy)  # fmt: skip
        elif whole:
            task_options = {"bundle": str(bund.root), "model": str(model_path), "tta": tta,
                            "device": device, "presets": presets, "settings": list(settings),
                            "log_policy": log_policy, "stream": options,
                            "backend": backend, "output_formats": formats}  # fmt: skip
            _predict_on_cluster(pool, whole, out, overwrite, task_options, progress)
    return out


def _check_torch_file(model: Path) -> None:
    """A ``--model`` that is no file of ``torch.save`` (a zip archive, or the legacy pickle),
    refused in one line before the output folder is made."""
    with model.open("rb") as f:
        legacy = f.read(2) == b"\x80\x02"  # pickle protocol 2: torch.save before 1.6
    if not (legacy or zipfile.is_zipfile(model)):
        raise ValueError(
            f"--model {model} is not a PyTorch model file; pass RUN/models/model.pt of a "
            "medunet train run (or a .onnx from medunet export)."
        )


def _output_formats(formats, bundle: Bundle, config: LayeredConfig) -> list[str] | None:
    """The formats asked for, checked against what the bundle writes (None: its own)."""
    if formats is None:
        return None
    allowed, what = (VOLUME_FORMATS, "a CT/MRI bundle") if bundle.kind == "volume" else (
        IMAGE_FORMATS, "a microscopy bundle")  # fmt: skip
    formats = check_formats(formats, allowed, what)
    if "geojson" in formats and spatial_dims_of(bundle, config.parser) != 2:
        raise ValueError(
            "--output-format geojson: GeoJSON holds 2D objects and this model predicts 3D "
            "stacks; write tiff or zarr."
        )
    return formats


def _memory_bound(parser, options, model, bundle, datalist, headers, tile,
                  resident: int | None = None) -> MemoryBound:  # fmt: skip
    """The bound of ``options.max_memory_gb``, checked against the largest input:
    a bound that cannot hold one tile is an error before anything is written. ``resident``:
    what the predicting process holds (default: this process)."""
    device = torch.device(parser.get_parsed_content("device"))
    bound = MemoryBound.resolve(options.max_memory_gb, model, device.type == "cpu", resident)
    dims = spatial_dims_of(bundle, parser)
    shapes = [h.shape for h in headers.values() if h is not None and len(h.shape) == 3]
    pixels = max((slice_pixels(shape) for shape in shapes), default=1)
    if options.block_size is None:
        bound.check(tile, dims, pixels, str(datalist[0]["image"]) if datalist else "infer")
    return bound


def _per_worker(options: StreamOptions, spec: ClusterSpec) -> StreamOptions:
    """Each local worker's share of the default bound (a joined cluster's workers each
    take the default of their own machine)."""
    if options.max_memory_gb is not None or not spec.workers:
        return options
    bound = MemoryBound.resolve(None)
    return replace(options, max_memory_gb=bound.limit_bytes / GB / spec.workers)


def _refuse_existing(datalist: list[dict], out: Path, overwrite: bool) -> None:
    """A cluster run refuses existing outputs before any task starts (a task run again
    after its worker died may then replace what its first attempt wrote)."""
    if overwrite or not out.is_dir():
        return
    stems = {output_stem(item["image"]) for item in datalist}
    named = {f"{s}{x}" for s in stems for suffixes in OUTPUT_SUFFIXES.values() for x in suffixes}
    prefixes = tuple(f"{s}_" for s in stems)
    existing = sorted(p for p in out.iterdir() if p.name in named or p.name.startswith(prefixes))
    if existing:
        raise FileExistsError(f"{existing[0]} exists; pass --overwrite to replace it.")


def _predict_on_cluster(pool: ClusterPool, datalist, out: Path, overwrite: bool, options: dict,
                        progress) -> None:  # fmt: skip
    """Every input of ``datalist`` a task (:func:`_predict_item`) on the cluster."""
    # none of the outputs existed (_refuse_existing): a task run again after its worker died
    # replaces what its first attempt wrote (atomically); a resumed stream keeps its work
    stream = options["stream"]
    resumed = stream is not None and stream.resume
    presets = [str(Path(p).resolve()) if Path(p).is_file() else str(p) for p in options["presets"]]
    task = partial(_predict_item, **{**options, "presets": presets}, output=str(out),
                   overwrite=overwrite or not resumed)  # fmt: skip
    run_on_cluster(pool, datalist, task, progress)


def _predict_item(item: dict, **options) -> None:
    """One input of a cluster run (a task): :func:`run_inference` of it alone."""
    image = item["image"]
    run_inference(inputs=image if isinstance(image, list) else [image], progress=False,
                  **options)  # fmt: skip


def _split_streamed(
    datalist: list[dict],
    bundle: Bundle,
    parser: ConfigParser,
    headers: dict[str, VolumeHeader | None],
    options: StreamOptions,
    bound: MemoryBound | None = None,
    tile_mb: float | None = None,
) -> tuple[list[tuple[dict, int]], list[dict]]:
    """``([(item, block size)], [items])``: the inputs to stream and those to predict whole
    (volumes judged at the training spacing, from the headers already read)."""
    target = None
    if bundle.kind == "volume" and "target_spacing" in parser:
        try:
            target = np.asarray(parser.get_parsed_content("target_spacing"), float)
        except Exception:  # no spacing.json beside the model: the workflow says so
            target = None
    dims = spatial_dims_of(bundle, parser)
    streamed, whole = [], []
    for item in datalist:
        image = item["image"]
        block = None
        single = isinstance(image, str) and (Path(image).is_file() or image.endswith(".zarr"))
        if single:
            header = headers.get(image)
            zoom = 1.0
            if target is not None and header is not None:
                zoom = float(np.prod(header.spacing) / np.prod(target))  # at training spacing
            block = streamed_block_size(image, options, dims, zoom, header, bound, tile_mb)
        if block is None:
            whole.append(item)
        else:
            streamed.append((item, block))
    return streamed, whole
