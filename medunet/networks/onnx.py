"""A U-Net as an ONNX file, and that file run by ONNX Runtime as a network.

:func:`export_onnx` writes a trained :class:`~medunet.networks.UNet2015` with dynamic batch
and spatial axes: one file takes every valid tile size (the crops of the expanding path are
traced from the input's shape, not fixed to the example's), and it carries the network's
tile arithmetic in its metadata. :class:`OnnxRuntimeNetwork` reads it back as a module the
overlap-tile inferer runs like the PyTorch network (the same tiles, the same stitching), on
ONNX Runtime's CPU kernels: ``medunet infer --backend onnxruntime``.

Needs the optional extra ``pip install 'medunet[onnx]'`` (``onnx`` and ``onnxruntime``).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medunet.networks.tiles import TileGeometry

__all__ = ["ONNX_INSTALL", "OnnxRuntimeNetwork", "export_onnx"]

logger = logging.getLogger(__name__)

ONNX_INSTALL = "pip install 'medunet[onnx]'"
_META_KEY = "medunet"
_OPSET = 17


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{module} is not installed; {ONNX_INSTALL}.") from err


def export_onnx(network: nn.Module, path: str | Path, tile: int | None = None) -> Path:
    """Write ``network`` (a :class:`~medunet.networks.UNet2015`, eval mode) to ``path``.

    The input ``image`` ``(B, C, *spatial)`` and the output ``logits`` ``(B, out_C,
    *output_size(spatial))`` have dynamic batch and spatial axes; the tile geometry, spatial
    dims and channel counts are stored in the model's metadata (key ``medunet``) so that
    :class:`OnnxRuntimeNetwork` tiles the image as the PyTorch network would.

    Args:
        network: the network with its weights (moved to the CPU for the export).
        path: the ``.onnx`` file, written as given (callers make it atomic).
        tile: the example tile traced (default: the smallest valid size above 64 pixels in
            2D and 32 in 3D; any valid size gives the same graph).
    """
    onnx = _require("onnx")
    geometry = getattr(network, "tile_geometry", None)
    if not isinstance(geometry, TileGeometry):
        raise ValueError(f"{type(network).__name__} has no tile geometry; export a UNet2015.")
    dims, in_channels = int(network.spatial_dims), int(network.in_channels)
    size = tile or geometry.input_size_for(64 if dims == 2 else 32)
    example = torch.zeros(1, in_channels, *([int(size)] * dims))
    spatial = {2 + i: f"s{i}" for i in range(dims)}
    out = {2 + i: f"o{i}" for i in range(dims)}
    network = network.cpu().eval()
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about the input check's Python values: they are checks, not graph
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            str(path),
            dynamo=False,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch", **spatial}, "logits": {0: "batch", **out}},
            opset_version=_OPSET,
        )
    model = onnx.load(str(path))
    meta = {
        "spatial_dims": dims,
        "in_channels": in_channels,
        "out_channels": int(network.out_channels),
        "num_pools": geometry.num_pools,
        "valid": geometry.valid,
        "channels": list(geometry.channels),
    }
    entry = model.metadata_props.add()
    entry.key, entry.value = _META_KEY, json.dumps(meta)
    onnx.save(model, str(path))
    return Path(path)


class OnnxRuntimeNetwork(nn.Module):
    """An exported U-Net run by ONNX Runtime, in place of the PyTorch network.

    It has the attributes the inferers read (``spatial_dims``, ``in_channels``,
    ``out_channels``, ``tile_geometry``) and no parameters; ``.to()``, ``.eval()`` and
    ``.train()`` change nothing (it runs on ONNX Runtime's CPU provider).

    Args:
        path: an ``.onnx`` file written by :func:`export_onnx`.
        threads: intra-op threads (default: PyTorch's, so ``OMP_NUM_THREADS`` and
            ``torch.set_num_threads`` hold for both backends).

    Shapes:
        ``(B, in_channels, *spatial)`` float32 -> ``(B, out_channels, *output_size(spatial))``
        float32, on the input's device.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        ort = _require("onnxruntime")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no ONNX model at {path}; write one with `medunet export BUNDLE --model "
                "RUN/models/model.pt --format onnx --output FILE.onnx`."
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own types for bad files
            raise ValueError(
                f"{path} is not a readable ONNX model ({err}); export it again."
            ) from err
        raw = self.session.get_modelmeta().custom_metadata_map.get(_META_KEY)
        if raw is None:
            raise ValueError(
                f"{path} has no medunet metadata; export it with `medunet export ... --format "
                "onnx` (it records the tile arithmetic the inferer needs)."
            )
        meta = json.loads(raw)
        self.path = path
        self.spatial_dims = int(meta["spatial_dims"])
        self.in_channels = int(meta["in_channels"])
        self.out_channels = int(meta["out_channels"])
        self.tile_geometry = TileGeometry(
            int(meta["num_pools"]), bool(meta["valid"]), self.spatial_dims,
            tuple(int(c) for c in meta["channels"]),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` ``(B, C, *spatial)``; each spatial size must be valid."""
        for size in x.shape[2:]:
            if not self.tile_geometry.is_valid(int(size)):
                hint = self.tile_geometry.nearest_valid_hint(int(size))
                raise ValueError(
                    f"{self.path.name}: input spatial size {int(size)} is not a valid tile "
                    f"(nearest valid: {hint}); use an OverlapTileInferer."
                )
        array = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        (logits,) = self.session.run(["logits"], {"image": array})
        return torch.from_numpy(logits).to(x.device)

    def extra_repr(self) -> str:
        return f"{self.path}, spatial_dims={self.spatial_dims}"
