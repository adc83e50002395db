"""Writing outputs safely: never a half-written file, never an overwritten one by accident."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MULTI_SUFFIXES", "atomic_path", "split_suffix"]

#: file extensions made of two suffixes (readers look at the whole of them)
MULTI_SUFFIXES = (".nii.gz", ".ome.tiff", ".ome.tif")


def split_suffix(name: str) -> tuple[str, str]:
    """``(stem, extension)`` of a file name, ``.nii.gz``/``.ome.tif(f)`` kept whole."""
    for suffix in MULTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    path = Path(name)
    return path.stem, path.suffix


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Args:
        path: the final file.
        overwrite: if False and ``path`` exists, raise ``FileExistsError`` before writing.

    Example:
        >>> with atomic_path("out.tif") as tmp:  # doctest: +SKIP
        ...     tifffile.imwrite(tmp, array)
    """
    final = Path(path)
    if not overwrite and final.exists():
        raise FileExistsError(
            f"{final} exists and would be overwritten; choose another path or remove it first."
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = split_suffix(final.name)[1]  # kept on the temporary file: readers look at it
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes it private (0600); give it the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
