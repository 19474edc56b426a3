"""Clips: every shot becomes a clip of exactly its fitted number of frames."""
from __future__ import annotations

from director.backends.types import ClipRequest
from director.runtime.context import RenderContext
from director.stages.base import Job, Stage


class ClipsStage(Stage):
    name = "clips"
    version = "1"
    backend_kind = "video"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        for i, shot in enumerate(ctx.shots):
            key = ctx.entry("keyframes", shot.id)
            frames = ctx.frames(shot)
            req = ClipRequest(shot_id=shot.id, keyframe=str(key.path), move=shot.move, width=fmt.width,
                              height=fmt.height, fps=fmt.fps, frames=frames, seed=shot.seed, prompt=shot.prompt,
                              negative=ctx.sp.style.negative)
            material = {"keyframe": key.key, "move": shot.move, "frames": frames, "fps": fmt.fps,
                        "size": [fmt.width, fmt.height], "seed": shot.seed, "prompt": shot.prompt,
                        "negative": ctx.sp.style.negative}

            def run(out, req=req):
                return ctx.backend("video").render(req, out)

            yield Job(self.name, shot.id, material, run, shot=shot.id, label=shot.id)
