"""Clips: every shot becomes a clip of exactly its fitted number of frames."""
from __future__ import annotations

from typing import TYPE_CHECKING

from director.backends.types import ClipRequest
from director.stages.base import Job, Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


class ClipsStage(Stage):
    name = "clips"
    version = "1"
    backend_kind = "video"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        video = ctx.backends["video"]
        matches_next = getattr(video, "uses_next_keyframe", lambda: False)()
        following = {a.id: b for a, b in zip(ctx.all_shots, ctx.all_shots[1:]) if a.scene == b.scene}
        for i, shot in enumerate(ctx.shots):
            key = ctx.entry("keyframes", shot.id)
            frames = ctx.frames(shot)
            nxt = ctx.entry("keyframes", following[shot.id].id) if matches_next and shot.id in following else None
            req = ClipRequest(shot_id=shot.id, keyframe=str(key.path), move=shot.move, width=fmt.width,
                              height=fmt.height, fps=fmt.fps, frames=frames, seed=shot.seed, prompt=shot.prompt,
                              negative=ctx.sp.style.negative, next_keyframe=str(nxt.path) if nxt else None)
            material = {"keyframe": key.key, "move": shot.move, "frames": frames, "fps": fmt.fps,
                        "size": [fmt.width, fmt.height], "seed": shot.seed, "prompt": shot.prompt,
                        "negative": ctx.sp.style.negative}
            if nxt is not None:  # the clip ends on the next shot's keyframe
                material["next_keyframe"] = nxt.key

            def run(out, req=req):
                return ctx.backend("video").render(req, out)

            yield Job(self.name, shot.id, material, run, shot=shot.id, label=shot.id)
