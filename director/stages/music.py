"""Music: one score per `music` cue, from its beat until the next cue, a `stop`, or the end."""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from director.backends.types import MusicRequest
from director.stages.base import Stage
from director.vocab import canonical_mood

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

CROSSFADE = 0.6


@dataclass(frozen=True)
class Cue:
    ref: str
    mood: str
    intensity: float
    start: float
    end: float


def music_cues(ctx: RenderContext) -> list[Cue]:
    """Where each cue starts and ends in the episode (none, without asking for the timing, where the screenplay has
    no music: ``status`` said a music job would run in such an episode)."""
    if not any(beat.music is not None for beat in ctx.beats.values()):
        return []
    cues: list[Cue] = []
    open_cue = None
    for ref, t in ctx.cue_times():
        music = ctx.beats[ref].music
        if music is None:
            continue
        if open_cue is not None:
            cues.append(Cue(open_cue[0], open_cue[1].mood, open_cue[1].level, open_cue[2], t))
            open_cue = None
        if not music.stop:
            open_cue = (ref, music, t)
    if open_cue is not None:
        cues.append(Cue(open_cue[0], open_cue[1].mood, open_cue[1].level, open_cue[2], ctx.starts()["__end__"]))
    return [c for c in cues if c.end - c.start > 0.05]


class MusicStage(Stage):
    name = "music"
    version = "2"
    backend_kind = "music"
    scope = "cue"
    per_shot_explained = False  # a cue runs across shots

    unit = "episode"

    def jobs(self, ctx: RenderContext):
        backend = ctx.backends["music"]
        for cue in music_cues(ctx):
            quantum = backend.quantum(cue.mood)
            length = cue.end - cue.start + CROSSFADE
            seconds = math.ceil(length / quantum) * quantum if quantum > 0 else length
            req = MusicRequest(mood=canonical_mood(cue.mood) or cue.mood, intensity=round(cue.intensity, 3), seconds=round(seconds, 3),
                               seed=zlib.crc32(cue.ref.encode()) & 0x7FFFFFFF)
            yield self.backend_job(ctx, cue.ref, req, "compose", label=f"{cue.ref} ({cue.mood})")
