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


class ProjectLocked(DirectorError):
    exit_code = ExitCode.STAGE_FAILED


class StageFailed(DirectorError):
    exit_code = ExitCode.STAGE_FAILED
