"""Every path director writes stays inside the project root: one check, used everywhere."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from director.errors import DirectorError, ExitCode

MAX_PATH = 1024
MAX_COMPONENT = 255


class UnsafePath(DirectorError):
    """A path built from user input would leave the project (or cannot be a path at all)."""

    exit_code = ExitCode.INVALID


def inside(root: Path, path: Path, what: str = "a file") -> Path:
    """``path`` resolved, if it stays under ``root`` (symlinks followed); else UnsafePath."""
    text = os.fspath(path)
    problem = path_text_problem(text)
    if problem:
        raise UnsafePath(f"refusing to write {what} at {text[:120]!r}: the path {problem}")
    root = Path(root).resolve()
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops, unreadable folders
        raise UnsafePath(f"refusing to write {what} at {text[:120]!r}: {exc}") from None
    if not resolved.is_relative_to(root):
        raise UnsafePath(f"refusing to write {what} at {resolved}: it is outside the project folder {root}")
    return resolved


def path_text_problem(text: str) -> str | None:
    """Why a path string cannot be used (NUL, control characters, lengths), or None."""
    if "\x00" in text:
        return "contains a NUL byte"
    if any(ord(c) < 32 for c in text):
        return "contains a control character"
    if len(text) > MAX_PATH:
        return f"is {len(text)} characters long (at most {MAX_PATH})"
    longest = max((len(part.encode("utf-8", "surrogatepass")) for part in Path(text).parts), default=0)
    if longest > MAX_COMPONENT:
        return f"has a name of {longest} bytes (at most {MAX_COMPONENT})"
    return None


def no_links(root: Path, path: Path, what: str) -> Path:
    """``path`` (under ``root``) when no part of it below ``root`` that exists is a symbolic link; else UnsafePath.
    director makes no links in its own folders (``.director``): one found there was put there, and following it
    would read, write or delete outside the project."""
    current = Path(root)
    for part in Path(path).relative_to(root).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            break
        except OSError as exc:
            raise UnsafePath(f"refusing to use {what} at {path}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode):
            raise UnsafePath(f"refusing to use {what} at {path}: {current} is a symbolic link (director never makes "
                             f"links in its own folders; remove it, and director makes the folder again)")
    return Path(path)


def not_regular(mode: int) -> str | None:
    """What a file that is not a regular one is (reading a named pipe or a device can block forever), or None."""
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"is {kind}, not a file director can read; replace it with the file itself"
