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


def test_the_console_script_loads_numpy_with_one_blas_thread_and_leaves_no_setting_behind():
    """OpenBLAS starts its threads when numpy loads: with the console script's setting the process has none of
    them (its thread count stays the interpreter's), unless the user chose a number; either way the setting is
    not left in the environment, for children and for libraries loaded later."""
    code = ("import os, sys\nsys.argv = ['director', 'validate', '/nonexistent.yaml']\nfrom director.cli.fast import entry\n"
            "try:\n    entry()\nexcept SystemExit:\n    pass\n"
            "loaded = 'numpy' in sys.modules\nimport numpy\n"
            "threads = [l for l in open('/proc/self/status') if l.startswith('Threads:')][0].split()[1]\n"
            "print('BLAS', os.environ.get('OPENBLAS_NUM_THREADS'), loaded, threads)")
    seen = {}
    for preset in (None, "2"):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        if preset:
            env["OPENBLAS_NUM_THREADS"] = preset
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        line = [w for w in out.splitlines() if w.startswith("BLAS")][-1].split()
        seen[preset] = line
    assert seen[None][1:3] == ["None", "True"] and seen["2"][1:3] == ["2", "False"]
    if os.path.exists("/proc/self/status"):
        assert int(seen[None][3]) == 1 < int(seen["2"][3])  # no BLAS thread; one more with two
