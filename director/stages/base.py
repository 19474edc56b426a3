"""What every stage is: typed inputs + its config slice -> jobs whose results are cache entries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable

from director.backends.types import key_material, reasons

if TYPE_CHECKING:
    from director.runtime.context import RenderContext


class Unknown(Exception):
    """An input is not rendered yet (only raised while explaining, never while rendering)."""

    def __init__(self, stage: str, ident: str):
        super().__init__(f"{stage} {ident}")
        self.stage, self.ident = stage, ident


@dataclass
class Job:
    """One artifact to make. ``material`` is exactly what affects the result (it becomes the key); it is
    derived from ``request`` (``Stage.job``), and ``reasons`` say, per material field, what changed."""

    stage: str
    id: str
    material: dict[str, Any]
    run: Callable[[Path], dict | None]
    shot: str | None = None
    label: str = ""
    key: str = ""
    reason: str = ""  # why it must run (set by the engine from ``reasons``: "line text changed")
    reasons: dict[str, str] = field(default_factory=dict)
    request: Any = None  # the typed request (a backend job's: what a remote worker is sent)
    call: str | None = None  # the backend method that makes it from ``request`` (None: the stage's own work)
    kind: str | None = None  # the backend kind whose method ``call`` is
    cost: float = 0.0  # estimated CPU-seconds of a long CPU job (a segment, the mix); 0: small or unknown. The
    # scheduler runs uncosted ready jobs first, then the costliest, so the workers finish together


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
    scope: ClassVar[str] = "shot"  # shot, line, cue, episode, or joined (per shot, remade whole for --shots)
    unit: ClassVar[str] = "shot"  # how the scheduler offers the work: per shot, or once for the episode
    resource: ClassVar[str] = ""  # "io" for light bookkeeping jobs that must never queue behind heavy ones
    # explaining (``status``) with input not rendered: retried shot by shot, so cached items still say cached; a
    # stage whose items span shots (a music cue) cannot be (one shot's cue is a cue of another length, "changed")
    per_shot_explained: ClassVar[bool] = True
    notes: list[str] = field(default_factory=list)

    def jobs(self, ctx: "RenderContext") -> Iterable[Job | Pending]:
        raise NotImplementedError

    def item_ids(self, ctx: "RenderContext", shot) -> list[str]:
        """The ids of ``shot``'s items, said (``status``) while this stage's input is not rendered."""
        return [shot.id]

    def job(self, ctx: "RenderContext", ident: str, request: Any, run: Callable[[Path], Any],
            shot: str | None = None, label: str = "", call: str | None = None) -> Job:
        """A job whose key material and change reasons are derived from its typed request."""
        material = key_material(request, ctx.digest)
        return Job(self.name, ident, material, lambda out: _meta(run(out)), shot=shot, label=label or ident,
                   reasons=reasons(request), request=request, call=call)

    def backend_job(self, ctx: "RenderContext", ident: str, request: Any, method: str, shot: str | None = None,
                    label: str = "") -> Job:
        """A job made by this stage's backend: ``backend.<method>(request, out)`` on the job's device."""
        kind = self.backend_kind

        def run(out: Path):
            return getattr(ctx.backend(kind), method)(request, out)

        job = self.job(ctx, ident, request, run, shot=shot, label=label, call=method)
        job.kind = kind
        return job


def _meta(result: Any) -> dict | None:
    """A typed result (``Made``, ``AudioResult``) becomes the entry's meta; stages' own dicts pass through."""
    meta = getattr(result, "meta", None)
    return meta() if callable(meta) else result
