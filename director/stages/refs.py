"""Reference sheets: every character and place in the episode is held to a picture.

User-supplied ``refs`` always win. A sheet the user liked and locked (``director refs lock``)
lives in ``refs/sheets/`` and wins next. Otherwise the keyframes backend generates one, seeded
and cached: a character in neutral light on a plain background (front and three-quarter view),
or an empty establishing plate of a location.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import SheetRequest
from director.shots import shot_location
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

SHEETS = Path("refs") / "sheets"


def sheet_id(kind: str, ident: str) -> str:
    return f"{kind}:{ident}"


def locked_sheet(ctx: RenderContext, kind: str, ident: str) -> Path | None:
    path = ctx.project.root / SHEETS / f"{kind}-{ident}.png"
    return path if path.is_file() else None


def sheet_seed(kind: str, ident: str) -> int:
    return int(hashlib.sha256(f"{kind}:{ident}".encode()).hexdigest()[:8], 16)


def subjects(ctx: RenderContext) -> list[tuple[str, str]]:
    """(kind, id) of the characters and locations the current shots show, in order of appearance."""
    out: list[tuple[str, str]] = []
    for shot in ctx.shots:
        for item in [("location", shot_location(ctx.sp, shot))] + [("character", c) for c in shot.characters]:
            if item not in out:
                out.append(item)
    return out


def reference_paths(ctx: RenderContext, kind: str, ident: str) -> tuple[str, ...]:
    """The pictures a subject is held to (absolute paths; requests key them by content)."""
    owner = ctx.sp.characters[ident] if kind == "character" else ctx.sp.locations[ident]
    if owner.refs:
        return tuple(str(ctx.loaded.resolve(r)) for r in owner.refs)
    locked = locked_sheet(ctx, kind, ident)
    if locked is not None:
        return (str(locked),)
    return (str(ctx.entry("refs", sheet_id(kind, ident)).role("image")),)


class RefsStage(Stage):
    name = "refs"
    version = "2"
    backend_kind = "keyframes"

    unit = "episode"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        for kind, ident in subjects(ctx):
            owner = ctx.sp.characters[ident] if kind == "character" else ctx.sp.locations[ident]
            if owner.refs or locked_sheet(ctx, kind, ident):
                continue
            side = min(fmt.width, fmt.height)
            req = SheetRequest(kind=kind, id=ident, name=getattr(owner, "name", None) or ident,
                               description=owner.description, look=ctx.sp.style.look, negative=ctx.sp.style.negative,
                               seed=sheet_seed(kind, ident), width=side if kind == "character" else fmt.width,
                               height=side if kind == "character" else fmt.height,
                               time=next((ctx.sp.scene_time(s) for s in ctx.sp.scenes
                                         if ident == s.location or ident in (s.intercut or ())), "day"))
            yield self.backend_job(ctx, sheet_id(kind, ident), req, "sheet", label=f"{kind} {ident}")
