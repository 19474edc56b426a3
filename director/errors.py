"""One exception root for director, and the single place that maps errors to exit codes."""
from __future__ import annotations

from dataclasses import dataclass


class ExitCode:
    OK = 0
    STAGE_FAILED = 1
    USAGE = 2
    INVALID = 3
    UNAVAILABLE = 4
    INTERRUPTED = 130


class DirectorError(Exception):
    """Root of every error director reports to a user (never shown as a traceback)."""

    exit_code = ExitCode.STAGE_FAILED


class UsageError(DirectorError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a user's file: ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "col": self.col, "message": self.message,
                "severity": self.severity}


class ScreenplayError(DirectorError):
    """An invalid screenplay or project file; carries every problem found, not just the first."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(DirectorError):
    exit_code = ExitCode.INVALID


class BackendUnavailable(DirectorError):
    """A backend cannot run here: missing package, model weights, GPU or endpoint."""

    exit_code = ExitCode.UNAVAILABLE


class EditConflict(UsageError):
    """An edit made against what a page showed, where the file has changed since (another tab, a hand edit)."""


class ProjectLocked(DirectorError):
    exit_code = ExitCode.STAGE_FAILED


class StageFailed(DirectorError):
    exit_code = ExitCode.STAGE_FAILED


SYSTEM_TROUBLE = {"ENOSPC": "no space left on the disk", "EDQUOT": "the disk quota is used up",
                  "EROFS": "the file system is read-only", "EACCES": "permission denied", "EPERM": "not permitted",
                  "EMFILE": "too many open files", "ENFILE": "too many open files on this machine",
                  "EIO": "the disk reported an input/output error",
                  "EISDIR": "a folder is where director writes a file", "ENOTDIR": "a file is where director needs a "
                  "folder"}


def system_trouble(exc: BaseException) -> str | None:
    """What the machine refused, said as a user fixes it, or None for any other OSError (a bug)."""
    import errno

    if not isinstance(exc, OSError):
        return None
    name = errno.errorcode.get(exc.errno or -1)
    if name not in SYSTEM_TROUBLE:
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    fix = ("free some space" if name in ("ENOSPC", "EDQUOT") else
           "work on a copy of the project on a writable disk" if name == "EROFS" else
           "check the folder's permissions" if name in ("EACCES", "EPERM") else
           "raise the limit (ulimit -n)" if name in ("EMFILE", "ENFILE") else
           "move it out of the way" if name in ("EISDIR", "ENOTDIR") else "check the disk")
    return (f"{SYSTEM_TROUBLE[name]}{where}: {fix}, then run the same command again (finished work is kept in the "
            "cache)")
