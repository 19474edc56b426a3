"""Writes that never leave a half-written file behind."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

TEMP_MARK = "director-"  # in every temp name beside a file (sweep_temp_beside finds them by it)


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # at import, before any thread exists
    os.umask(mask)
    return mask


UMASK = _umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    The result has the mode a plain ``open(path, "w")`` would give: a replaced file keeps its
    mode, a new one gets 0666 less the umask (mkstemp alone would leave 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~UMASK
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TEMP_MARK}", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temp_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new empty file beside ``path``, for a writer that takes a file name (a copy, ffmpeg, an adapter) before it
    is renamed over ``path``. Made by mkstemp (O_EXCL, a random name, the mode a plain write would give): a link
    planted at a fixed temp name (``out/ep/.episode.srt.tmp -> ~/.bashrc``, kept by git and tar) was written
    through by the copy, and any file the user could write was replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TEMP_MARK}", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
    finally:
        os.close(fd)
    return Path(tmp)


def temp_folder_beside(path: Path) -> Path:
    """A new empty folder beside ``path`` (mkdtemp: a random name, never a planted link's) to be renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.{TEMP_MARK}", suffix=".tmp", dir=path.parent))
    os.chmod(folder, 0o777 & ~UMASK)
    return folder


# what temp_beside, temp_folder_beside and the atomic writes name their files: ``.<name>.director-<8 random>.tmp[.ext]``
# (no user's own ``.notes.20250101.tmp`` reads as one, so a sweep never takes it)
LEFT_TEMP = re.compile(r"\..+\." + TEMP_MARK + r"[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]{1,5})?")


def sweep_temp_beside(folder: Path, older_than: float = 60.0) -> int:
    """Remove the temp files and folders a writer killed mid-write left in ``folder`` (a 2 MB part of an episode,
    a shot list's copy): names only these writers make, untouched for ``older_than`` seconds (an edit that holds
    only the edit lock may be writing one now), never through a link. How many went."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not LEFT_TEMP.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime < older_than:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed


def refuse_special(path: Path) -> None:
    """A path a user named for director to write (``import -o``) that is a device, a named pipe or a socket: the
    atomic write's rename would put a file in its place (``-o /dev/null --force`` replaced the device)."""
    try:
        info = os.stat(path)
    except OSError:
        return
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):  # a folder is said by the caller
        from director.paths import UnsafePath

        raise UnsafePath(f"refusing to write {path}: it is a device, a named pipe or a socket, not a file (writing "
                         "puts a file in its place); name a file instead")


OWN_LIMIT = 256 << 20  # bytes: no file director writes in its own folders comes near


def read_own(path: Path, limit: int = OWN_LIMIT) -> str:
    """A file director writes in its own folders (a manifest, a state or publish index), read only while it is a
    plain file of a sane size: a named pipe put in its place blocked every render, a link to /dev/zero filled the
    memory. OSError (FileNotFoundError where it is missing) or ValueError otherwise: each caller treats the file
    as torn and makes it again."""
    from director.paths import not_regular

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if kind := not_regular(info.st_mode):
            raise ValueError(f"{path} {kind}")
        if info.st_size > limit:
            raise ValueError(f"{path} has {info.st_size} bytes, more than director ever writes there")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than director ever writes there")
    return data.decode("utf-8")


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(data: Any) -> str:
    """The one serialisation fingerprints are computed over."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON, atomically, with every secret redacted (run records, state, endpoint memory)."""
    from director.secrets import redact_data

    atomic_write_text(path, json.dumps(redact_data(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
