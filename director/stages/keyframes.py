"""Keyframes: one picture per shot, from the shot, its characters, location and style."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from director.backends.types import FigureSpec, FrameRequest, keyed
from director.media.fonts import drawing_language
from director.shots import Shot, shot_location
from director.stages.base import Stage
from director.stages.refs import reference_paths
from director.store import steps
from director.vocab import shown_emotion

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


def caption(ctx: RenderContext, shot: Shot) -> str:
    """What the panel says: the action, or who speaks and how (never the words, which are subtitles)."""
    parts = []
    for ref in shot.beats:
        beat = ctx.beats[ref]
        if beat.action:
            parts.append(beat.action)
        elif beat.line:
            name = ctx.sp.characters[beat.line.who].name or beat.line.who
            emotion = shown_emotion(beat.line.emotion)  # a typo validate warned of is not drawn on the panel
            parts.append(f"{name} ({emotion})" if emotion else name)
        elif beat.narration:
            parts.append("Narration")
    return " / ".join(parts)


def frame_request(ctx: RenderContext, shot: Shot) -> FrameRequest:
    sp = ctx.sp
    scene = next(s for s in sp.scenes if s.id == shot.scene)
    place = shot_location(sp, shot)
    location = sp.locations[place]
    look = f"{sp.style.look}, flashback: a faded memory".lstrip(", ") if scene.flashback else sp.style.look
    figures = tuple(FigureSpec(c, sp.characters[c].name or c, sp.characters[c].description,
                               reference_paths(ctx, "character", c))
                    for c in shot.characters)
    return FrameRequest(shot_id=shot.id, size=shot.size, angle=shot.angle, width=sp.format.width,
                        height=sp.format.height, prompt=shot.prompt, caption=caption(ctx, shot),
                        location_id=place, location=location.description, time=sp.scene_time(scene),
                        look=look, negative=sp.style.negative, seed=shot.seed, figures=figures,
                        move=shot.move, location_refs=reference_paths(ctx, "location", place),
                        language=sp.language if drawing_language(sp.language) else "")


@dataclass(frozen=True)
class ReviewedFrame:
    """A keyframe made and then reviewed by a vision model (``plan/review.py``), made again while it misses."""

    frame: FrameRequest = keyed("keyframe changed")
    review: Any = keyed("keyframe review changed")  # plan/review.ReviewSpec: the agent, the model, the tries


class KeyframesStage(Stage):
    name = "keyframes"
    version = "2"
    backend_kind = "keyframes"

    def jobs(self, ctx: RenderContext):
        for shot in ctx.shots:
            req = frame_request(ctx, shot)
            if ctx.review is None:
                yield self.backend_job(ctx, shot.id, req, "render", shot=shot.id)
                continue
            job = self.job(ctx, shot.id, ReviewedFrame(req, ctx.review), _reviewed(ctx, req), shot=shot.id)
            job.kind = self.backend_kind  # on the keyframe model's device; reviewed in this process
            yield job


def _reviewed(ctx: RenderContext, req: FrameRequest):
    from director.plan.review import reviewed

    def run(out):
        # the review may make the keyframe again on the same device: each render's ``gpu_done`` waits for the last
        with steps.on_device(None):
            made = reviewed(ctx.backend("keyframes").render, ctx.reviewer, req, out)
        steps.gpu_done()
        return made
    return run
