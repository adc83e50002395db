"""CPU inference with large tiles: keep freed memory instead of page-faulting it back.

glibc's malloc serves large blocks (above its mmap threshold, at most 32 MiB by default) with
fresh ``mmap`` pages and returns them on free, so every forward pass of a large tile
page-faults all of its activations in again. On CPU that makes large tiles slower per pixel
than small ones (the benchmark in ``benchmarks/bench_inference.py`` shows it). Raising the
mmap and trim thresholds keeps the memory in the heap for reuse, as PyTorch's CPU tuning
guide suggests (it recommends jemalloc or tcmalloc for the same reason). The setting is
process-wide, so it is applied only where medunet owns the process:
:class:`~medunet.inferers.OverlapTileInferer` applies it once when built with
``tune_cpu_allocator=True`` and its tiles run on the CPU. The bundles do that (their
``tune_cpu_allocator`` setting, on by default: ``python -m monai.bundle`` and the ``medunet``
command own their process); the library default and the MONAI Label app (a long-running
server hosting other models) leave malloc alone.

The kept memory is the high-water mark of every size of block ever freed, and it fragments:
a streamed image, whose blocks and border tiles come in many sizes, would grow with its
number of blocks. :func:`release_free_memory` (``malloc_trim``) hands the free pages back
between blocks, so the process holds what one block needs, however large the image.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

__all__ = ["release_free_memory", "tune_glibc_malloc"]

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def tune_glibc_malloc(threshold_bytes: int = 2**31 - 1) -> bool:
    """Raise glibc's mmap and trim thresholds for this process.

    Args:
        threshold_bytes: blocks up to this size come from (and return to) the heap.

    Returns:
        True if glibc accepted both settings; False elsewhere (musl, macOS, Windows), where
        nothing is changed.
    """
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, threshold_bytes)) and bool(
        mallopt(_M_TRIM_THRESHOLD, threshold_bytes)
    )
    logger.debug("glibc malloc thresholds set to %d bytes: %s", threshold_bytes, ok)
    return ok


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (glibc's ``malloc_trim(0)``, which also
    releases free pages inside the heap, not only at its top); False where there is no
    glibc, and nothing is done."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)
    return bool(trim(0)) if trim is not None else False
