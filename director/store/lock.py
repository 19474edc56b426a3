"""One render per project at a time: an flock'ed lock file that names its holder."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import time
from pathlib import Path

from director.errors import ProjectLocked
from director.paths import UnsafePath, not_regular
from director.store.files import read_own


def _open_lock(path: Path, what: str) -> int:
    """The lock file, opened (made) never through a link: one put in place of the lock made every render empty the
    file it named."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise UnsafePath(f"refusing to lock {what}: {path} is a symbolic link (director never makes one there; "
                         f"remove it)") from None
    if kind := not_regular(os.fstat(fd).st_mode):  # a named pipe there: flock's EINVAL was an "internal error"
        os.close(fd)
        raise UnsafePath(f"refusing to lock {what}: {path} {kind} (director makes a plain file there; remove it)")
    return fd


def _flock(fd: int, wait: float, poll: float, blocked=None) -> bool:
    """Take ``fd``'s exclusive lock, trying every ``poll`` seconds for up to ``wait``; ``blocked()`` is called once
    if it must wait. False where it was not had in time."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            if blocked is not None:
                blocked()
                blocked = None
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


class ProjectLock:
    """Held for the life of a render; released by the kernel if the process dies."""

    def __init__(self, state_dir: Path, what: str = "render", wait: float = 0.0, waiting=None):
        """``wait``: seconds to wait for a holder to finish (``waiting(message)`` is called once if it must) before
        refusing; 0 refuses at once."""
        self.path = state_dir / "lock"
        self.what = what
        self.wait, self.waiting = wait, waiting
        self._fd: int | None = None
        self.died: dict | None = None  # the holder before this one, where it died holding the lock: its command, since

    def __enter__(self) -> "ProjectLock":
        fd = _open_lock(self.path, "the project")
        said = (lambda: self.waiting(f"{self._message()}; waiting up to {self.wait:g} s for it to finish")) \
            if self.waiting is not None else None
        if not _flock(fd, self.wait, 0.2, said):
            os.close(fd)
            raise ProjectLocked(self._message())
        # a holder that released it left the file empty: one still named there died holding it (kill -9, a crash)
        self.died = _died(os.pread(fd, 4096, 0))
        # "since": the earliest moment whose work no render has recorded -- a dead holder's start, carried by every
        # holder after it until a render (which records what it uses) ends; `clean --dry-run` used it up
        holder = {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": self.what,
                  "argv": " ".join(sys.argv[1:])[:200],
                  "since": min(time.time(), self.died["since"]) if self.died else time.time()}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def _message(self) -> str:
        try:
            holder = json.loads(read_own(self.path))
            who = f"pid {holder['pid']}, started {holder['started']}, `director {holder.get('argv') or holder['command']}`"
        except (OSError, ValueError, KeyError):
            who = "another process"
        return (f"this project is locked by another command ({who}); wait for it to finish or stop it. "
                f"Lock file: {self.path}")

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            if self.died is not None and self.what != "render":  # still unrecorded: said to whoever comes next
                os.pwrite(self._fd, json.dumps({"command": self.died["command"], "since": self.died["since"]}).encode(), 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _died(left: bytes) -> dict | None:
    try:
        holder = json.loads(left.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(holder, dict):
        return None
    since = holder.get("since")
    if not isinstance(since, (int, float)):  # written before "since" was: the minute it started, read back
        try:
            since = time.mktime(time.strptime(str(holder.get("started")), "%Y-%m-%d %H:%M:%S"))
        except (ValueError, OverflowError):
            return None
    return {"command": str(holder.get("command", "")), "since": float(since)}


def lock_holder(state_dir: Path) -> dict | None:
    """Who holds the project's lock now (its pid, command line), or None. Asked of the flock, never taken: a pid
    left in the file by a holder that died (kill -9) may belong to another process by now."""
    path = state_dir / "lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a named pipe's open waited for a writer
    except OSError:
        return None
    try:
        if not_regular(os.fstat(fd).st_mode):  # no render can hold it (its lock is refused, and says why)
            return None
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # nobody holds it
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    try:
        holder = json.loads(read_own(path) or "null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


class EditLock:
    """One edit of a project's files at a time, across processes (the CLI's edit commands, the studio, a
    render's planner): a read-change-write of the shot list or the screenplay by one lost another's at the
    same moment. Held for milliseconds; waits up to ``wait`` seconds for another holder."""

    def __init__(self, state_dir: Path, wait: float = 60.0):
        self.path = state_dir / "edits.lock"
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> "EditLock":
        fd = _open_lock(self.path, "the project's files")
        if not _flock(fd, self.wait, 0.02):
            os.close(fd)
            raise ProjectLocked(f"another edit of this project's files has not finished in {self.wait:g} s "
                                f"(lock file: {self.path}); try again")
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
