"""What every stage is: typed inputs + its config slice -> jobs whose results are cache entries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable

if TYPE_CHECKING:
    from director.runtime.context import RenderContext


class Unknown(Exception):
    """An input is not rendered yet (only raised while explaining, never while rendering)."""

    def __init__(self, stage: str, ident: str):
        super().__init__(f"{stage} {ident}")
        self.stage, self.ident = stage, ident


@dataclass
class Job:
    """One artifact to make. ``material`` is exactly what affects the result (it becomes the key)."""

    stage: str
    id: str
    material: dict[str, Any]
    run: Callable[[Path], dict | None]
    shot: str | None = None
    label: str = ""
    key: str = ""
    reason: str = ""  # why it must run (set by the engine: "line text changed")


@dataclass
class Pending:
    """A job whose key cannot be known before an upstream artifact is made."""

    stage: str
    id: str
    waits_on: str
    shot: str | None = None


@dataclass
class Stage:
    """Base class: a stage names itself, its version and the backend kind it uses."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    backend_kind: ClassVar[str | None] = None
    scope: ClassVar[str] = "shot"  # shot, line, cue or episode
    unit: ClassVar[str] = "shot"  # how the scheduler offers the work: per shot, or once for the episode
    resource: ClassVar[str] = ""  # "io" for light bookkeeping jobs that must never queue behind heavy ones
    notes: list[str] = field(default_factory=list)

    def jobs(self, ctx: "RenderContext") -> Iterable[Job | Pending]:
        raise NotImplementedError
