"""Deterministic preprocessing computed once per image: on disk (default), in memory, or not.

Loading, normalisation, the weight map and the class targets are deterministic: MONAI's
``PersistentDataset`` stores their result per image on disk (a hospital's hundred volumes
need not fit in RAM) and only the random transforms after them run per sample.
``CacheDataset`` keeps them in memory instead. The disk cache key covers the data item
*and* the settings of every deterministic transform (:func:`transform_hash`), so changing
e.g. ``sigma`` or ``w0`` never serves a stale weight map.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.data import CacheDataset, Dataset, PersistentDataset

__all__ = ["cached_dataset", "describe_settings", "transform_hash"]


def describe_settings(obj: Any, depth: int = 0) -> str:
    """A stable text of an object's settings (class names, attributes, nested objects)."""
    if depth > 8:
        return "..."
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return repr(obj)
    if isinstance(obj, (Path, torch.device, torch.dtype, type)):
        return repr(obj)
    if isinstance(obj, np.ndarray) or isinstance(obj, torch.Tensor):
        arr = np.asarray(obj.detach().cpu() if isinstance(obj, torch.Tensor) else obj)
        return f"array{arr.shape}{arr.dtype}:{hashlib.sha256(arr.tobytes()).hexdigest()[:16]}"
    if isinstance(obj, dict):
        items = sorted((str(k), describe_settings(v, depth + 1)) for k, v in obj.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(obj, (list, tuple, set, frozenset)):
        seq = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return "[" + ",".join(describe_settings(v, depth + 1) for v in seq) + "]"
    if isinstance(obj, np.random.RandomState) or (callable(obj) and not hasattr(obj, "__dict__")):
        return type(obj).__qualname__
    attrs = (
        {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "R"}
        if hasattr(obj, "__dict__")
        else {}
    )
    return f"{type(obj).__module__}.{type(obj).__qualname__}" + describe_settings(attrs, depth + 1)


def transform_hash(transforms: Sequence[Any]) -> bytes:
    """PersistentDataset's ``hash_transform``: a digest of the deterministic transforms."""
    digest = hashlib.sha256(describe_settings(list(transforms)).encode()).hexdigest()
    return digest.encode()


def cached_dataset(
    data: Sequence[dict],
    transform: Callable,
    cache: str = "disk",
    cache_dir: str | Path | None = None,
    num_workers: int = 0,
) -> Dataset:
    """A MONAI dataset that caches the deterministic part of ``transform``.

    Args:
        data: the data list.
        transform: a MONAI ``Compose``; everything before its first random transform is cached.
        cache: ``"disk"`` (``PersistentDataset`` in ``cache_dir``), ``"memory"``
            (``CacheDataset``) or ``"none"``.
        cache_dir: folder for the disk cache (created).
        num_workers: threads that fill the memory cache.
    """
    if cache == "disk":
        if cache_dir is None:
            raise ValueError("cache='disk' needs a cache_dir.")
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        return PersistentDataset(
            data, transform, cache_dir=cache_dir, hash_transform=transform_hash
        )
    if cache == "memory":
        return CacheDataset(data, transform, cache_rate=1.0, num_workers=num_workers or None)
    if cache == "none":
        return Dataset(data, transform)
    raise ValueError(f"cache must be 'disk', 'memory' or 'none', got {cache!r}.")
