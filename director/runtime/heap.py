"""The render process's heap (glibc): one malloc arena, and freed memory handed back after each job.

Imported by the console script's first lines (``cli/fast.py``), so it imports nothing heavy.
"""
from __future__ import annotations

import functools
import sys


@functools.lru_cache(maxsize=1)
def _libc():
    """glibc, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


M_ARENA_MAX = -8  # glibc's malloc.h


def one_heap() -> None:
    """One malloc arena for the whole process (glibc). With an arena per thread, memory a job freed in a worker's
    arena stayed resident after ``malloc_trim`` (it releases the main arena's top, not another arena's, and a large
    free had raised glibc's trim threshold to 64 MB): the 60 s episode's mix left ~85 MB in the render's process
    while two encoders ran; with one arena ~2 MB, at the same speed (numpy and Pillow allocate few, large blocks;
    the GIL serialises the rest). Set by the console script before any thread exists (threads started earlier keep
    their arenas), and again by the scheduler for renders started otherwise (the studio, the API), where it is best
    effort: glibc keeps a process's arenas, and fixes their limit once it has more than eight."""
    mallopt = getattr(_libc(), "mallopt", None)  # glibc's (musl with gcompat may lack it)
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def give_back_heap() -> None:
    """Hand memory that finished jobs freed back to the system. glibc keeps freed heap for reuse (and, once a large
    block is freed, serves blocks up to its size from the heap rather than from fresh mappings), so a render's
    process kept the high-water mark of every panel and mix it made in-process: ~200 MB beside the encoders of a
    3-minute preview, ~140 MB after trimming. A millisecond or two per job."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
