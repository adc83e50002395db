"""A trained bundle's network as ONNX, and what a prediction on ONNX Runtime overrides.

:func:`write_onnx` exports ``network_def`` with a model's weights
(:func:`~medunet.networks.onnx.export_onnx`), checks the file against PyTorch on a tile and
renames it onto its name only then. :func:`onnx_model_for` gives ``medunet infer --backend
onnxruntime`` its file: the model itself (``.onnx``), the ``model.onnx`` an exported bundle
carries beside ``model.pt``, or one exported for this run (hidden in the output folder,
removed afterwards). :func:`onnx_overrides` swaps the bundle's network for
:class:`~medunet.networks.onnx.OnnxRuntimeNetwork`: the same inferer, tiles and
post-processing run on it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from monai.bundle import ConfigParser

from medunet.bundle.streaming.work import load_weights
from medunet.data.io import atomic_path
from medunet.networks.onnx import OnnxRuntimeNetwork, export_onnx

__all__ = ["ONNX_TOLERANCE", "onnx_model_for", "onnx_overrides", "write_onnx"]

logger = logging.getLogger(__name__)

#: the largest difference of logits allowed between the ONNX file and PyTorch
ONNX_TOLERANCE = 1e-4


def max_difference(network: torch.nn.Module, onnx_file: Path, tile: torch.Tensor) -> float:
    """The largest absolute difference of the logits of ``tile`` ``(B, C, *spatial)``
    between ``network`` and ``onnx_file`` run by ONNX Runtime."""
    with torch.no_grad():
        reference = network(tile)
    return float((OnnxRuntimeNetwork(onnx_file)(tile) - reference).abs().max())


def write_onnx(parser: ConfigParser, model: Path, out: Path, overwrite: bool = False) -> float:
    """Export the bundle's ``network_def`` with ``model``'s weights to ``out``; returns the
    largest logit difference to PyTorch on a check tile (twice the smallest tile, seeded).

    Raises:
        ValueError: the exported file differs from PyTorch by more than
            :data:`ONNX_TOLERANCE` (nothing is written then).
        FileExistsError: ``out`` exists and ``overwrite`` is False.
    """
    network = parser.get_parsed_content("network_def").cpu()
    load_weights(network, model)
    geometry = network.tile_geometry
    size = geometry.input_size_for(2 * geometry.output_size(geometry.input_size_for(1)))
    generator = torch.Generator().manual_seed(0)
    shape = (1, network.in_channels, *[size] * network.spatial_dims)
    tile = torch.randn(shape, generator=generator)
    with atomic_path(out, overwrite=overwrite) as tmp:
        export_onnx(network, tmp)
        diff = max_difference(network, tmp, tile)
        if diff > ONNX_TOLERANCE:
            raise ValueError(
                f"{model}: the ONNX export differs from PyTorch by {diff:.2g} (more than "
                f"{ONNX_TOLERANCE:g}); run with the PyTorch backend."
            )
    logger.info("exported %s to %s (logits within %.1e of PyTorch)", model.name, out, diff)
    return diff


@contextmanager
def onnx_model_for(parser: ConfigParser, model: Path, folder: Path) -> Iterator[Path]:
    """The ONNX file a run on ONNX Runtime uses for ``model``: ``model`` itself when it is
    one, the ``.onnx`` beside it when that is at least as new, else one exported now into
    ``folder`` (hidden, shared by the tasks of this run, removed when the run ends)."""
    if model.suffix == ".onnx":
        yield model
        return
    beside = model.with_suffix(".onnx")
    if beside.is_file() and beside.stat().st_mtime >= model.stat().st_mtime:
        yield beside
        return
    stat = model.stat()
    digest = hashlib.sha256(f"{model}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    path = folder / f".{model.stem}-{digest[:12]}.onnx"
    if path.is_file():  # exported by the run this one is a task of
        yield path
        return
    write_onnx(parser, model, path, overwrite=True)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def onnx_overrides(parser: ConfigParser, onnx_file: Path) -> dict:
    """Config overrides that run the bundle's inference on ONNX Runtime: its network, no
    checkpoint loader (the weights are in the file), float32 (no autocast)."""
    handlers = [
        h for h in parser.get("handlers", [])
        if not str(h.get("_target_", "")).endswith("CheckpointLoader")
    ]  # fmt: skip
    return {
        "network": {"_target_": "medunet.networks.OnnxRuntimeNetwork", "path": str(onnx_file)},
        "handlers": handlers,
        "onnx_model": str(onnx_file),
        "autocast": None,
    }
