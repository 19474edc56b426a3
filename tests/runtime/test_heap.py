"""The render process's memory habits (runtime/heap.py, cli/fast.py): a small process keeps its heap between jobs,
a large one hands it back; numpy's BLAS starts no threads of its own."""
from __future__ import annotations

import os
import subprocess
import sys

import director.runtime.heap as heap


def test_the_heap_is_trimmed_only_once_the_process_is_large(monkeypatch):
    trims = []
    monkeypatch.setattr(heap, "_libc", lambda: type("libc", (), {"malloc_trim": staticmethod(trims.append)}))
    for size, trimmed in ((190 << 20, False), (heap.TRIM_ABOVE, False), (heap.TRIM_ABOVE + 1, True), (None, True)):
        trims.clear()
        monkeypatch.setattr(heap, "resident", lambda size=size: size)
        heap.give_back_heap()
        assert trims == ([0] if trimmed else []), size  # where the size is unknown, as before: always
    assert heap.resident() is None or 0 < heap.resident() < 1 << 40  # this process's own, from /proc


def test_the_console_script_gives_numpys_blas_one_thread_unless_told_otherwise():
    code = ("import os, sys\nsys.argv = ['director', '--help']\nfrom director.cli.fast import entry\n"
            "try:\n    entry()\nexcept SystemExit:\n    pass\nprint('BLAS', os.environ.get('OPENBLAS_NUM_THREADS'))")
    for preset, expected in ((None, "1"), ("3", "3")):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        if preset:
            env["OPENBLAS_NUM_THREADS"] = preset
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        assert f"BLAS {expected}" in out
