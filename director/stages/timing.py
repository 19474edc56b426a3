"""Timing: each shot's real length, fitted to the voice that plays over it (to the frame)."""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from director.stages.base import Job, Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


def fit(durations: list[float], fps: float, lead_in: float, gap: float, tail: float, floor: float
        ) -> tuple[int, list[float]]:
    """(frames, offset of each voice): lead-in, the lines with gaps, a tail; never under ``floor``."""
    offsets, t = [], lead_in
    for d in durations:
        offsets.append(round(t, 4))
        t += d + gap
    speech_end = (t - gap + tail) if durations else 0.0
    seconds = max(floor, speech_end)
    return max(1, math.ceil(seconds * fps - 1e-6)), offsets


class TimingStage(Stage):
    name = "timing"
    version = "1"
    resource = "io"

    def jobs(self, ctx: RenderContext):
        cfg = ctx.config.timing
        fps = ctx.sp.format.fps
        for shot in ctx.shots:
            voices = [(ref, ctx.entry("voice", ref)) for ref in shot.beats if ctx.beats[ref].spoken is not None]
            hint = next((ctx.beats[r].shot.duration for r in shot.beats
                         if ctx.beats[r].shot and ctx.beats[r].shot.duration), None)
            if voices:  # the planner's estimate is only a guess; a hint or a locked shot sets a floor
                floor = max(cfg.min_shot, hint or 0, shot.duration if shot.locked else 0)
            else:
                floor = max(cfg.min_shot, shot.duration)
            material = {"voices": [[ref, e.key, e.meta["duration"]] for ref, e in voices], "fps": fps,
                        "floor": floor, "lead_in": cfg.lead_in, "gap": cfg.gap, "tail": cfg.tail}

            def run(out, voices=voices, floor=floor):
                durations = [e.meta["duration"] for _, e in voices]
                frames, offsets = fit(durations, fps, cfg.lead_in, cfg.gap, cfg.tail, floor)
                data = {"frames": frames, "duration": frames / fps, "fps": fps,
                        "voices": [{"ref": ref, "offset": off, "duration": d}
                                   for (ref, _), off, d in zip(voices, offsets, durations)]}
                (out / "timing.json").write_text(json.dumps(data, indent=1))
                return {"frames": frames, "duration": frames / fps}

            yield Job(self.name, shot.id, material, run, shot=shot.id, label=shot.id)
