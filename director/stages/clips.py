"""Clips: every shot becomes a clip of exactly its fitted number of frames."""
from __future__ import annotations

from typing import TYPE_CHECKING

from director.backends.types import ClipRequest, SpeechSpan
from director.shots import talking_speakers
from director.stages.base import Stage
from director.vocab import NARRATOR

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


class ClipsStage(Stage):
    name = "clips"
    version = "2"  # (a clip made before the BT.709 tags, untagged BT.601, is converted by its segment: kept, not made
    # again on a GPU)
    backend_kind = "video"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        matches_next = ctx.backends["video"].uses_next_keyframe()
        following = {a.id: b for a, b in zip(ctx.all_shots, ctx.all_shots[1:]) if a.scene == b.scene}
        video = ctx.backends["video"]
        speaking = video.uses_speech
        for shot in ctx.shots:
            nxt = ctx.artifact("keyframes", following[shot.id].id) if matches_next and shot.id in following else None
            talking, speech = (), ()
            if not speaking and talking_speakers(ctx.sp, shot):
                self.notes.append(f"talking shot {shot.id}: the video backend ({video.name}) does not move mouths "
                                  "with the voices; rendered as an ordinary clip (ltx2-talking does)")
            if speaking:  # the backend moves mouths with the voices: hand it who talks and every line's voice
                talking = talking_speakers(ctx.sp, shot)
            if talking or (speaking and video.reacts_to_speech):  # listeners react in any shot (cheap backends)
                speech = tuple(SpeechSpan(_speaker(ctx.beats[v["ref"]]), round(float(v["offset"]), 4),
                                          ctx.artifact("voice", v["ref"])) for v in ctx.timing(shot)["voices"])
            req = ClipRequest(shot_id=shot.id, keyframe=ctx.artifact("keyframes", shot.id), move=shot.move,
                              width=fmt.width, height=fmt.height, fps=fmt.fps, frames=ctx.frames(shot),
                              seed=shot.seed, prompt=shot.prompt, negative=ctx.sp.style.negative, next_keyframe=nxt,
                              talking=talking, speech=speech)
            yield self.backend_job(ctx, shot.id, req, "render", shot=shot.id)


def _speaker(beat) -> str:
    return beat.line.who if beat.line is not None else NARRATOR
