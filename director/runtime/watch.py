"""``director render --watch``: the episode rendered again whenever one of the project's files changes.

This is the loop people sit in while editing: save the screenplay (or a shot's seed, a reference image,
``director.yaml``) and the preview follows. The process stays warm, so an edit pays only for the jobs it touches:
imports, fonts and the planner are loaded once (docs/performance.md measures the difference).

A change is what the up-to-date stamp sees (``uptodate.project_files``): any file of the project by its stamp, with
outputs, state and ``.git`` at the top level left out. A render's own writes are part of the inputs it read
(``RenderOutcome.inputs``, taken once it has planned, with the planner's shot list), so they start nothing. A save
made while a render runs starts the next render as soon as this one ends. A change is taken once two looks
``SETTLE`` seconds apart agree, so an editor's save in several writes is read once, whole; a file that never stops
changing is taken after ``SETTLE_AT_MOST / SETTLE`` looks. A folder whose look takes long (a screenplay file in a
big folder makes that folder the project) is looked at less often: the looks take at most ``LOOK_SHARE`` of a
core. The process's own output, redirected to a file inside the project (``render --watch > log.txt``), is not a
change: it would start a render with every line written.
"""
from __future__ import annotations

import math
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from director.runtime.uptodate import changes, project_files

POLL = 0.1  # seconds between looks at the project's files
SETTLE = 0.05  # seconds between the two looks that must agree before a change is taken
SETTLE_AT_MOST = 2.0
LOOK_SHARE = 0.2  # at most this share of a core spent looking: a folder of many files is looked at less often


def keep_warm() -> None:
    """What this process keeps between its renders beyond imports and fonts: the mix's prepared pieces
    (``stages.mix.keep_stems``), so that an edit's mix reads and resamples only the line it changed."""
    from director.stages.mix import keep_stems

    keep_stems()


def own_output() -> set[tuple[int, int]]:
    """(device, inode) of the files this process's stdout and stderr write to, where they are files."""
    found = set()
    for fd in (1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.add((st.st_dev, st.st_ino))
    return found


def watched(root: Path, files: dict[str, str]) -> dict[str, str]:
    """``files`` (the project's, ``project_files``) less those this process writes its output to."""
    mine = own_output()
    if not mine:
        return files
    kept = {}
    for name, stamp in files.items():
        try:
            st = os.stat(Path(root) / name)
        except OSError:
            st = None
        if st is None or (st.st_dev, st.st_ino) not in mine:
            kept[name] = stamp
    return kept


def look(root: Path) -> dict[str, str]:
    """The project's files now, as the watch sees them."""
    return watched(root, project_files(root))


def wait_for_change(root: Path, baseline: dict[str, str], poll: float = POLL, settle: float = SETTLE,
                    sleep: Callable[[float], None] = time.sleep) -> tuple[dict[str, str], list[str]]:
    """Block until the project's files (``look``) differ from ``baseline`` and have settled: (the files now, what
    changed). Returns at once (once settled) when they differ already."""
    baseline = watched(root, baseline)
    while True:
        started = time.perf_counter()
        now = look(root)
        rest = (time.perf_counter() - started) * (1 - LOOK_SHARE) / LOOK_SHARE  # the pause that keeps the share
        if now != baseline:
            for _ in range(max(1, math.ceil(SETTLE_AT_MOST / settle))):
                sleep(max(settle, rest))
                again = look(root)
                if again == now:
                    break
                now = again
            found = changes(baseline, now)
            if found:  # a file may have been put back as it was meanwhile
                return now, found
        sleep(max(poll, rest))
