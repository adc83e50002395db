"""Mixed precision for the network's forward pass, on CPUs that have it in hardware.

On CPUs with AMX tiles or AVX512-BF16 (Intel Sapphire Rapids and later, AMD Zen 4 and
later), PyTorch's oneDNN convolutions in bfloat16 run several times faster than in float32
(measured here, 2 cores, one training step: a 3D U-Net 8..32 on 32^3 tiles 6.5x, 8..64 on
64^3 4.2x; a 2D 16..128 on 188^2 1.6x); on CPUs without it they are emulated and slower.
``autocast: bf16`` in a bundle (the plan sets it where :func:`bf16_is_fast` says so) runs
the network under ``torch.autocast`` in training (:class:`AutocastInferer`, the trainer's
inferer) and in overlap-tile inference; weights, optimiser and loss stay float32 and the
network's output is returned as float32 (and contiguous).

On a CPU the bfloat16 input is also handed over channels-last (``NHWC``/``NDHWC``): oneDNN's
bfloat16 convolutions run faster in that layout and keep it through the network (the same
products, summed in another order, so within bfloat16's rounding of the NCHW pass;
measured here, 2 cores: ``python benchmarks/bench_layout.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from monai.inferers import Inferer

__all__ = ["AUTOCAST_KINDS", "AutocastInferer", "autocast", "bf16_is_fast", "channels_last"]

#: ``None`` (float32), ``"bf16"`` or ``"fp16"``
AUTOCAST_KINDS = (None, "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """Whether bfloat16 convolutions run in hardware on ``device`` (CPU: AMX tiles or
    AVX512-BF16; CUDA: ``torch.cuda.is_bf16_supported``)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _check(kind: str | None) -> str | None:
    if kind not in AUTOCAST_KINDS:
        raise ValueError(f"autocast must be one of {AUTOCAST_KINDS}, got {kind!r}.")
    return kind


def autocast(kind: str | None, device: torch.device | str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` of ``kind`` on ``device``'s type (a no-op for ``None``)."""
    if _check(kind) is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=_DTYPES[kind])


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` (``(B, C, H, W)`` or ``(B, C, D, H, W)``) in channels-last memory order (the
    same values); other ranks unchanged."""
    if x.dim() == 4:
        return x.to(memory_format=torch.channels_last)
    if x.dim() == 5:
        return x.to(memory_format=torch.channels_last_3d)
    return x


def autocast_network(network: Callable, kind: str | None) -> Callable:
    """``network`` whose forward pass runs under :func:`autocast` of its input's device,
    returning float32 (``network`` itself for ``None``)."""
    if _check(kind) is None:
        return network

    def forward(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        with autocast(kind, x.device):
            out = network(channels_last(x) if x.device.type == "cpu" else x, *args, **kwargs)
        return out.to(torch.float32, memory_format=torch.contiguous_format)  # one copy

    return forward


class AutocastInferer(Inferer):
    """MONAI's ``SimpleInferer`` with the forward pass under :func:`autocast`: the trainer's
    inferer (``train#inferer``), so that the backward pass runs in the same precision.

    Args:
        kind: ``None`` (float32, the same as ``SimpleInferer``), ``"bf16"`` or ``"fp16"``.

    Shapes:
        ``inferer(inputs (B, C, *spatial), network) -> network(inputs)`` as float32.
    """

    def __init__(self, kind: str | None = None) -> None:
        super().__init__()
        self.kind = _check(kind)

    def __call__(self, inputs: torch.Tensor, network: Callable, *args: Any, **kwargs: Any):
        return autocast_network(network, self.kind)(inputs, *args, **kwargs)
