"""glibc's heap, set for a process that handles large images (no-ops where the C library is not glibc:
Windows, macOS, musl).

glibc serves an allocation below its mmap threshold from the heap, and raises that threshold (up to
32 MiB) each time it frees a larger block. The feature maps of a multi-level decoder (up to 85 MB for
relu1_1 of a 512² photo, and many of a few MB) then land in the heap, fragment it and stay resident.
With the threshold fixed at 1 MiB every large array gets its own mapping, returned to the OS when it
is freed: a whole `adain stylize` at 512² peaks at 377 MB instead of 550-610 MB, in the same time
(`bench/bench_startup.py`).

`map_large_blocks` also has ONNX Runtime give its arena's free memory back after every call, and
OpenVINO its graphs' working memory (`arenas_shrink`). An ONNX Runtime session keeps its arena (a call
reuses its own buffers: a first 576² one-pass call 0.60 s against 0.85 s without an arena, 1088² 2.1 s
against 3.2 s, Zen 4), but not the largest call's peak for ever (576²: 383 MiB peak against 544 MiB; the
library's default, for repeated calls, keeps it: 0.51-0.55 s). OpenVINO's one-pass graph at 576² on a
Xeon with AMX: 0.105 s per call handing back, 0.075 s keeping, the process's peak 303 against 403 MiB.
"""

from __future__ import annotations

import ctypes
import sys
from functools import lru_cache

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
LARGE_BLOCK = 1 << 20  # bytes: larger allocations are mapped on their own

_bounded = False  # map_large_blocks was called


@lru_cache(maxsize=None)
def _libc_function(name: str):
    """The C library's function `name` where this process has one by that name (glibc's mallopt and
    malloc_trim on Linux), else None. Looked up on first use, never at import: on Windows `CDLL(None)`
    raises TypeError, and macOS's C library has neither function."""
    if sys.platform == "win32":
        return None
    try:
        libc = ctypes.CDLL(None)  # this process's own symbols, the C library's among them (no ldconfig run)
    except (OSError, TypeError):
        return None
    return getattr(libc, name, None)


def map_large_blocks() -> None:
    """Give every allocation over LARGE_BLOCK its own mapping, freed to the OS with it, and have the ONNX
    Runtime and OpenVINO graphs hand their working memory back after every call (call at start-up)."""
    global _bounded
    _bounded = True
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)


def arenas_shrink() -> bool:
    """Whether ONNX Runtime and OpenVINO should hand their working memory back after every call (map_large_blocks)."""
    return _bounded


def release_freed_memory() -> None:
    """Return the heap's free pages to the OS (after a server's job: glibc keeps them otherwise)."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
