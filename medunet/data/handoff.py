"""Images read once per training: what the dataset check loaded is handed to the loader.

``medunet train`` reads every case twice over: the dataset check loads each image and
label through the bundle's own loader (``SafeLoadImaged``) to find what would stop the run,
then the training's datasets load them again to preprocess them. While the check runs
inside :func:`keeping`, every image it loads is kept here (up to :data:`KEEP_BYTES` in
all, the first ones), keyed by the file (path, modification time, size) and the loader's
settings; the training's loader takes each one (once) instead of reading the file again.
:func:`release` drops what was not taken.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from medunet.data.headers import file_key

__all__ = ["KEEP_BYTES", "keeping", "offer", "release", "take"]

#: the most bytes of loaded images kept between the check and the training
KEEP_BYTES = 2**30

_kept: dict[tuple, object] = {}
_state = {"keeping": False, "bytes": 0}


def _key(files: Sequence[str | Path], loader: str) -> tuple | None:
    parts = tuple(file_key(f) for f in files)
    return None if None in parts else (parts, loader)


def _nbytes(value: object) -> int:
    size = getattr(value, "nbytes", None)
    if size is None and hasattr(value, "element_size"):
        size = value.element_size() * value.numel()
    return int(size or 0)


@contextmanager
def keeping() -> Iterator[None]:
    """Keep what is loaded inside the block (see :func:`offer`) for the loads after it."""
    _state["keeping"] = True
    try:
        yield
    finally:
        _state["keeping"] = False


def offer(files: Sequence[str | Path], loader: str, value: object) -> None:
    """Keep ``value``, loaded from ``files`` by a loader with the settings ``loader``, if
    inside :func:`keeping` and within :data:`KEEP_BYTES`."""
    if not _state["keeping"]:
        return
    key = _key(files, loader)
    size = _nbytes(value)
    if key is None or key in _kept or _state["bytes"] + size > KEEP_BYTES:
        return
    _kept[key] = value
    _state["bytes"] += size


def take(files: Sequence[str | Path], loader: str) -> object | None:
    """What :func:`offer` kept for these files and loader settings (once), or None (also
    when a file changed since)."""
    if not _kept:
        return None
    key = _key(files, loader)
    value = _kept.pop(key, None) if key is not None else None
    if value is not None:
        _state["bytes"] -= _nbytes(value)
    return value


def release() -> None:
    """Drop everything kept."""
    _kept.clear()
    _state["bytes"] = 0
