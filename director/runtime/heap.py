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


TRIM_ABOVE = 256 << 20  # a render's process trims its heap only once it is this large (resident bytes)


def resident() -> int | None:
    """The process's resident memory in bytes (Linux's /proc), or None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _page_size()
    except (OSError, ValueError, IndexError):
        return None


@functools.lru_cache(maxsize=1)
def _page_size() -> int:
    import os

    return os.sysconf("SC_PAGE_SIZE")


def give_back_heap(above: int = TRIM_ABOVE) -> None:
    """Hand memory that finished jobs freed back to the system, once the process holds more than ``above`` bytes.

    glibc keeps freed heap for reuse (and, once a large block is freed, serves blocks up to its size from the heap
    rather than from fresh mappings), so a render's process kept the high-water mark of every panel and mix it made
    in-process: ~200 MB beside the encoders of a 3-minute preview, ~140 MB after trimming. Trimming after every
    job, though, handed back the few megabytes a panel or a layer had used, and the next job's first touch of each
    page faulted it in again, zeroed: ~0.15 s of the demo's ~5.5 CPU-seconds (paired runs). The demo's process
    stays under ~190 MB and a minute's under ~200 MB: they keep their heap; a long mix's hundreds of megabytes go
    back."""
    size = resident()
    if size is not None and size <= above:
        return
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
