"""Overlap-tile inference (the paper's Figure 2) on MONAI's sliding-window machinery.

The image is mirrored at its borders by the network's halo, cut into input tiles whose
outputs tile the image without overlap, and stitched. Each tile's output is computed where
its context is complete, so the result is seamless: for a valid (unpadded)
:class:`~medunet.networks.UNet2015` it equals one whole-image prediction of the mirrored
image, to float tolerance.

How it maps onto ``monai.inferers.sliding_window_inference``:

- the input window is the network's input tile ``roi_size``; the stride is the output tile,
  rounded down to the pooling grid ``2^pools`` so every tile's max-pools line up with the
  whole image's (a valid U-Net's output size is never a multiple of ``2^pools``: for the
  paper's 572 -> 388 tile the stride is 384, so 4 of 388 output pixels per tile are dropped);
- the image is mirror-padded so the last tile ends exactly at the padded border (MONAI then
  never shifts a tile off the grid);
- ``process_fn`` places each (smaller) output tile at its place in the window and returns a
  weight map that is 1 on the ``stride`` pixels the tile owns and 0 elsewhere, so MONAI's
  stitching writes each pixel exactly once, from the tile that sees its full context.

Same-padded networks (``UNet2015(padding="same")`` or any MONAI network) run in crop mode:
the window's outer ``halo`` pixels per side are discarded instead.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from monai.inferers import Inferer, sliding_window_inference
from monai.utils import convert_to_dst_type, ensure_tuple_rep

from medunet.data.blocks import border_indices
from medunet.inferers.autocast import AUTOCAST_KINDS, autocast_network
from medunet.inferers.cpu_allocator import tune_glibc_malloc
from medunet.inferers.tile_plan import TilePlan
from medunet.inferers.turns import TTA_MODES, tta_turns
from medunet.networks.tiles import TileGeometry, tile_geometry_of

__all__ = ["OverlapTileInferer", "default_memory_budget_mb", "mirror_pad"]

logger = logging.getLogger(__name__)

_PAD_MODES = ("reflect", "replicate", "constant")


def default_memory_budget_mb(device: torch.device | str | None = None) -> float:
    """Activation budget when none is given: half the free memory of a CUDA device; 2 GiB
    on CPU (larger tiles gain little there; see ``benchmarks/bench_inference.py``)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(free / 2**20 / 2, 256.0)
    return 2048.0


@functools.cache
def _tune_allocator_once() -> bool:
    return tune_glibc_malloc()


def mirror_pad(x: torch.Tensor, pads: Sequence[tuple[int, int]], mode: str = "reflect"):
    """Pad the spatial axes of ``x`` ``(B, C, *spatial)`` by ``pads[i] = (before, after)``.

    ``"reflect"`` mirrors about the border pixels (as ``numpy.pad(mode="reflect")``),
    reflecting repeatedly where a pad is larger than the image (a one-pixel axis repeats its
    value); ``"replicate"`` repeats the border pixels
    (:func:`~medunet.data.blocks.border_indices`); ``"constant"`` pads zeros.
    """
    spatial = x.shape[2:]
    start = [-before for before, _ in pads]
    size = [n + before + after for n, (before, after) in zip(spatial, pads, strict=True)]
    return _read_window(x, mode, start, size)


def _read_window(
    x: torch.Tensor, mode: str, start: Sequence[int], size: Sequence[int]
) -> torch.Tensor:
    """The window ``[start, start + size)`` of ``x`` ``(B, C, *spatial)``, reaching beyond
    it as ``mode`` says (see :func:`mirror_pad`)."""
    if mode not in _PAD_MODES:
        raise ValueError(f"padding_mode must be one of {_PAD_MODES}, got {mode!r}.")
    for axis, (s, n) in enumerate(zip(start, size, strict=True)):
        total = x.shape[axis + 2]
        if s == 0 and n == total:
            continue
        border = "replicate" if mode == "constant" else mode
        idx = torch.from_numpy(border_indices(s, n, total, border)).to(x.device)
        x = x.index_select(axis + 2, idx)
        if mode == "constant":
            inside = torch.arange(s, s + n, device=x.device)
            inside = ((inside >= 0) & (inside < total)).to(x.dtype)
            x = x * inside.view(-1, *[1] * (x.dim() - axis - 3))
    return x


class OverlapTileInferer(Inferer):
    """Seamless overlap-tile inference for any image size, 2D and 3D.

    Args:
        roi_size: the input tile (as in MONAI), int or per axis. ``None`` (only with a network
            that has a ``tile_geometry``, e.g. :class:`~medunet.networks.UNet2015`) picks the
            largest valid tile whose estimated activation memory
            (:meth:`TileGeometry.estimate_activation_mb`) fits ``memory_budget_mb``, but no
            larger than the image needs.
        sw_batch_size: tiles per forward pass.
        padding_mode: how the image is extended at its borders: ``"reflect"`` (the paper's
            mirroring), ``"replicate"`` or ``"constant"`` (zeros).
        memory_budget_mb: activation budget for the automatic tile; default
            :func:`default_memory_budget_mb` of ``sw_device``.
        tta: ``None``, ``"flips"`` (all axis flips) or ``"rot90"`` (the 8 rotations and
            reflections of the first two spatial axes); logits are inverse-transformed and
            averaged.
        progress: show MONAI's tqdm progress bar.
        sw_device: device the tiles run on (default: the input's).
        device: device the output is stitched on (default: the input's); e.g. tiles on GPU
            and the full-size output on CPU for large volumes.
        halo: crop mode only: pixels discarded at each side of a window (int or per axis).
            Default: the network's receptive-field radius
            (:meth:`TileGeometry.context_halo`; 0 for a network without a tile geometry).
        alignment: stride multiple that keeps the network's downsampling grid aligned.
            Default: the network's pooling grid ``2^pools`` (1 without a tile geometry; set
            it, e.g. 16 for four stride-2 levels).
        tune_cpu_allocator: when tiles run on the CPU, call
            :func:`~medunet.inferers.tune_glibc_malloc` once per process (it is process-wide:
            freed memory stays in the heap for reuse instead of being page-faulted back on
            every tile; large tiles run up to 2x faster). Off by default: a library should not
            change a host process's allocator; the bundles turn it on for their own runs
            (``tune_cpu_allocator: true``), the MONAI Label app leaves it off.
        autocast: ``None``, ``"bf16"`` or ``"fp16"``: each tile's forward pass in that
            precision (:mod:`medunet.inferers.autocast`), logits stitched in float32.

    Shapes:
        ``inferer(inputs (B, C, *spatial), network) -> logits (B, out_C, *spatial)``, the same
        spatial size as the input; a MetaTensor input gives a MetaTensor with its meta.
    """

    def __init__(
        self,
        roi_size: int | Sequence[int] | None = None,
        sw_batch_size: int = 1,
        padding_mode: str = "reflect",
        memory_budget_mb: float | None = None,
        tta: str | None = None,
        progress: bool = False,
        sw_device: torch.device | str | None = None,
        device: torch.device | str | None = None,
        halo: int | Sequence[int] | None = None,
        alignment: int | None = None,
        tune_cpu_allocator: bool = False,
        autocast: str | None = None,
    ) -> None:
        super().__init__()
        if autocast not in AUTOCAST_KINDS:
            raise ValueError(f"autocast must be one of {AUTOCAST_KINDS}, got {autocast!r}.")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode must be one of {_PAD_MODES}, got {padding_mode!r}.")
        if tta not in TTA_MODES:
            raise ValueError(f"tta must be one of {TTA_MODES}, got {tta!r}.")
        if sw_batch_size < 1:
            raise ValueError(f"sw_batch_size must be >= 1, got {sw_batch_size}.")
        self.roi_size = roi_size
        self.sw_batch_size = sw_batch_size
        self.padding_mode = padding_mode
        self.memory_budget_mb = memory_budget_mb
        self.tta = tta
        self.progress = progress
        self.sw_device = sw_device
        self.device = device
        self.halo = halo
        self.alignment = alignment
        self.tune_cpu_allocator = tune_cpu_allocator
        self.autocast = autocast

    # ------------------------------------------------------------------ planning
    def plan(self, image_size: Sequence[int], network: Any) -> TilePlan:
        """The tiles over an image of ``image_size`` (spatial, per axis) for ``network``."""
        geometry = tile_geometry_of(network)
        roi = self._roi(image_size, geometry)
        axes = [self._axis_geometry(geometry, r, axis) for axis, r in enumerate(roi)]
        stride = tuple(g[1] for g in axes)
        if any(s < 1 for s in stride):
            raise ValueError(
                f"input tile {roi} leaves no output pixels after the halo and the "
                f"{self._alignment(geometry)}-pixel pooling grid; use a larger roi_size."
            )
        return TilePlan.over(image_size, roi, tuple(g[0] for g in axes), stride)

    def _alignment(self, geometry: TileGeometry) -> int:
        return self.alignment if self.alignment is not None else geometry.alignment

    def _axis_geometry(self, geometry: TileGeometry, n: int, axis: int) -> tuple[int, int]:
        """``(offset, stride)`` of input tile ``n`` along one axis.

        Valid U-Net: the output starts at the halo; it owns its output rounded down to the
        pooling grid. Crop mode: ``halo`` pixels are discarded at each side; the owned region
        starts at the halo rounded up to the grid, so tiles (and their pools) line up with
        the image's own origin, as in a whole-image prediction.
        """
        align = self._alignment(geometry)
        if geometry.valid:
            out = geometry.output_size(n)
            return geometry.halo(), out - out % align
        if self.halo is not None:
            halo = ensure_tuple_rep(self.halo, axis + 1)[axis]
        else:
            halo = geometry.context_halo()
        offset = -(-halo // align) * align
        usable = n - offset - halo
        return offset, usable - usable % align

    def _roi(self, image_size: Sequence[int], geometry: TileGeometry) -> tuple[int, ...]:
        dims = len(image_size)
        if self.roi_size is not None:
            roi = tuple(int(r) for r in ensure_tuple_rep(self.roi_size, dims))
            for r in roi:
                if geometry.valid_input_size(r) != r:
                    raise ValueError(
                        f"roi_size {r} is not a valid input tile for this network; nearest "
                        f"valid tile: {geometry.nearest_valid_hint(r)}."
                    )
            return roi
        if not geometry.channels:
            raise ValueError(
                "roi_size=None needs a network with a tile geometry (a UNet2015: its tile "
                "arithmetic picks the tile); give roi_size for other networks."
            )
        return self.auto_roi(image_size, geometry)

    def auto_roi(self, image_size: Sequence[int], network: Any) -> tuple[int, ...]:
        """Tile for ``roi_size=None``, per axis, for a network (or its tile geometry).

        The largest valid (cubic) tile whose estimated activation memory
        (:meth:`TileGeometry.estimate_activation_mb`, times ``sw_batch_size``) fits
        ``memory_budget_mb`` gives the fewest tiles ``k`` along each axis; each axis then
        takes the smallest valid tile that still covers it with those ``k`` tiles, so the
        padding beyond the image is as small as it can be.
        """
        network = network if isinstance(network, TileGeometry) else tile_geometry_of(network)

        def next_valid(n: int) -> int:
            return network.input_size_for(network.output_size(n) + 1)

        def stride(n: int, axis: int) -> int:
            return self._axis_geometry(network, n, axis)[1]

        dims = range(len(image_size))
        budget = self.memory_budget_mb or default_memory_budget_mb(self.sw_device)
        largest = n = network.input_size_for(1)
        while min(stride(n, a) for a in dims) < 1:  # the smallest tile that owns pixels
            largest = n = next_valid(n)
        if network.estimate_activation_mb(n, self.sw_batch_size) > budget:
            logger.warning(
                "the smallest usable tile %d needs about %.0f MiB of activations, more than "
                "memory_budget_mb=%.0f; using it anyway",
                n,
                network.estimate_activation_mb(n, self.sw_batch_size),
                budget,
            )
        stop = network.input_size_for(max(image_size) + 2 * network.context_halo() + 1)
        stop += 2 * self._alignment(network)
        while n < stop:
            n = next_valid(n)
            if network.estimate_activation_mb(n, self.sw_batch_size) > budget:
                break
            largest = n
        roi = []
        for axis, size in enumerate(image_size):
            k = math.ceil(size / stride(largest, axis))
            n = network.input_size_for(1)
            while k * stride(n, axis) < size:
                n = next_valid(n)
            roi.append(n)
        return tuple(roi)

    # ------------------------------------------------------------------ inference
    def __call__(
        self, inputs: torch.Tensor, network: Callable[..., torch.Tensor], *args, **kwargs
    ) -> torch.Tensor:
        """Logits ``(B, out_C, *spatial)`` for ``inputs`` ``(B, C, *spatial)``.

        Extra ``kwargs`` go to the network with every tile (positional ``args`` are refused:
        MONAI's sliding window takes them as its own options).
        """
        if args:
            raise ValueError("OverlapTileInferer passes only keyword arguments to the network.")
        x = self.check_inputs(inputs, network)
        spatial = tuple(x.shape[2:])
        read = functools.partial(_read_window, x, self.padding_mode)
        out = self.predict_region(read, spatial, (0,) * len(spatial), spatial, network, **kwargs)
        return convert_to_dst_type(out, inputs, device=out.device, dtype=out.dtype)[0]

    def predict_region(
        self,
        read: Callable[[Sequence[int], Sequence[int]], torch.Tensor],
        shape: Sequence[int],
        start: Sequence[int],
        stop: Sequence[int],
        network: Callable,
        sw_device: torch.device | str | None = None,
        **kwargs,
    ) -> torch.Tensor:
        """The prediction of the box ``[start, stop)`` of an image of spatial ``shape``:
        ``(B, out_C, *(stop - start))``, equal to that box of the whole image's prediction.

        Every turn of the test-time augmentation predicts the box as the whole turned image
        would: the turned image's tiles that own the box are stitched over the window they
        read (``read(window start, window size)`` gives ``(B, C, *size)`` of the image,
        mirrored beyond its borders as ``padding_mode`` says, ready for the network: see
        :meth:`check_inputs`), turned back, and averaged. The whole image is one such box
        (checked once by ``__call__``); a streamed block is another.
        """
        shape = tuple(int(n) for n in shape)
        plans: dict[tuple[int, ...], TilePlan] = {}
        out = None
        turns = tta_turns(self.tta, len(shape))
        for turn in turns:
            turned = turn.shape(shape)
            if turned not in plans:
                plans[turned] = self.plan(turned, network)
            plan = plans[turned]
            t_start, t_stop = turn.box(shape, start, stop)
            w_start, w_size = plan.window(t_start, t_stop)
            r_start, r_stop = turn.box_back(
                shape, w_start, [a + n for a, n in zip(w_start, w_size, strict=True)]
            )
            window = read(r_start, [b - a for a, b in zip(r_start, r_stop, strict=True)])
            device = self._sw_device(window, sw_device)
            pred = self.stitch(turn.forward(window), network, plan, device, **kwargs)
            pred = turn.inverse(pred[(slice(None), slice(None), *plan.core(t_start, t_stop))])
            out = pred if out is None else out.add_(pred)
        return out / len(turns) if len(turns) > 1 else out

    def _sw_device(self, x: torch.Tensor, given: torch.device | str | None = None) -> torch.device:
        """The device tiles run on: ``given``, else ``sw_device``, else the input's (the CPU
        allocator tuned once, when asked)."""
        sw_device = torch.device(given if given is not None else self.sw_device or x.device)
        if self.tune_cpu_allocator and sw_device.type == "cpu":
            _tune_allocator_once()
        return sw_device

    def check_inputs(self, inputs: torch.Tensor, network: Any) -> torch.Tensor:
        """``inputs`` ``(B, C, *spatial)`` as the network takes them (its float dtype),
        refusing wrong shapes, channel counts and NaN/inf in one line."""
        if not isinstance(inputs, torch.Tensor):
            raise ValueError(f"inputs must be a torch tensor (B, C, *spatial), got {type(inputs)}.")
        x = inputs.as_tensor() if hasattr(inputs, "as_tensor") else inputs
        if x.dim() not in (4, 5):
            raise ValueError(
                f"inputs must be (B, C, H, W) or (B, C, H, W, D), got shape {tuple(x.shape)}; "
                "add the batch axis (x[None]) or the channel axis (EnsureChannelFirst)."
            )
        dims, channels = (
            getattr(network, "spatial_dims", None),
            getattr(network, "in_channels", None),
        )
        if isinstance(dims, int) and x.dim() - 2 != dims:
            raise ValueError(
                f"inputs {tuple(x.shape)} have {x.dim() - 2} spatial axes, the network {dims}."
            )
        if isinstance(channels, int) and x.shape[1] != channels:
            raise ValueError(
                f"inputs have {x.shape[1]} channel(s), the network expects {channels} (input "
                f"shape {tuple(x.shape)})."
            )
        param = next(network.parameters(), None) if isinstance(network, torch.nn.Module) else None
        dtype = param.dtype if param is not None and param.is_floating_point() else None
        if dtype is not None and x.dtype != dtype:
            x = x.to(dtype)  # e.g. float64 or integer images into a float32 network
        elif not x.is_floating_point():
            x = x.float()
        if not torch.isfinite(x).all():
            raise ValueError("inputs contain NaN or inf values; clean or mask the image first.")
        return x

    def stitch(
        self,
        window: torch.Tensor,
        network: Callable,
        plan: TilePlan,
        sw_device: torch.device,
        **kwargs,
    ) -> torch.Tensor:
        """The tiles of ``plan`` over an already padded ``window`` ``(B, C, *w)``, stitched:
        ``(B, out_C, *w)``, where each tile's owned pixels (``offset`` .. ``offset +
        stride`` within it) are written once. ``w`` is ``(tiles - 1) * stride + roi`` per
        axis for some number of tiles: the whole mirrored image, or one streamed block's
        window (:mod:`medunet.inferers.streaming`), whose tiles are then the same as the
        whole image's."""
        roi, offset, stride = plan.roi, plan.offset, plan.stride
        weight = torch.zeros(roi, dtype=window.dtype, device=sw_device)
        weight[tuple(slice(o, o + s) for o, s in zip(offset, stride, strict=True))] = 1.0

        def process_fn(seg_tuple, win_data, importance_map):
            """Centre smaller (valid) output tiles in the window; weight 1 where owned."""
            placed = []
            for seg in seg_tuple:
                size = tuple(seg.shape[2:])
                if size != roi:
                    if any(s > r or (r - s) % 2 for s, r in zip(size, roi, strict=True)):
                        raise ValueError(
                            f"the network returned tiles of {size} for input tiles of {roi}; "
                            "outputs must be the tile size or smaller by an even margin."
                        )
                    full = seg.new_zeros((*seg.shape[:2], *roi))
                    place = [
                        slice((r - s) // 2, (r + s) // 2) for s, r in zip(size, roi, strict=True)
                    ]
                    full[(slice(None), slice(None), *place)] = seg
                    seg = full
                placed.append(seg)
            return tuple(placed), weight

        # overlap so that MONAI's int(roi * (1 - overlap)) is exactly the stride
        overlap = [max(0.0, (r - s - 0.5) / r) for r, s in zip(roi, stride, strict=True)]
        return sliding_window_inference(
            window,
            roi_size=roi,
            sw_batch_size=self.sw_batch_size,
            predictor=autocast_network(network, self.autocast),
            overlap=overlap,
            mode="constant",
            sw_device=sw_device,
            device=self.device if self.device is not None else window.device,
            progress=self.progress,
            process_fn=process_fn,
            **kwargs,
        )
