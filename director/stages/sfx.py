"""Sound effects: one cached job per ``sfx`` cue, made by the sfx backend (the mix places them)."""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from director.backends.types import SfxRequest
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


def sfx_seed(ref: str) -> int:
    return zlib.crc32(ref.encode()) & 0x7FFFFFFF


class SfxStage(Stage):
    name = "sfx"
    version = "1"
    backend_kind = "sfx"
    scope = "cue"

    def jobs(self, ctx: RenderContext):
        for shot in ctx.shots:  # an effect needs only its name: it never waits on timing
            for ref in shot.beats:
                sfx = ctx.beats[ref].sfx
                if sfx:
                    yield self.backend_job(ctx, ref, SfxRequest(sfx.name, sfx_seed(ref)), "make", shot=shot.id,
                                           label=f"{ref} ({sfx.name})")
