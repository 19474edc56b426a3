"""Timing: each shot's real length, fitted to the voice that plays over it (to the frame)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, keyed
from director.stages.base import Stage

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


@dataclass(frozen=True)
class TimingRequest:
    """A shot's length: its voices (ref, the voice's artifact, its duration), fitted by the timing settings."""

    voices: tuple[tuple[str, Artifact, float], ...] = keyed("dialogue changed")
    fps: float = keyed("frame rate changed")
    floor: float = keyed("minimum duration changed")
    lead_in: float = keyed("timing settings changed")
    gap: float = keyed("timing settings changed")
    tail: float = keyed("timing settings changed")


class TimingStage(Stage):
    name = "timing"
    version = "2"
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
            req = TimingRequest(voices=tuple((ref, ctx.artifact("voice", ref), e.meta["duration"]) for ref, e in voices),
                                fps=fps, floor=floor, lead_in=cfg.lead_in, gap=cfg.gap, tail=cfg.tail)
            yield self.job(ctx, shot.id, req, partial(write_timing, req), shot=shot.id)


def write_timing(req: TimingRequest, out) -> Made:
    durations = [d for _, _, d in req.voices]
    frames, offsets = fit(durations, req.fps, req.lead_in, req.gap, req.tail, req.floor)
    data = {"frames": frames, "duration": frames / req.fps, "fps": req.fps,
            "voices": [{"ref": ref, "offset": off, "duration": d} for (ref, _, d), off in zip(req.voices, offsets)]}
    (out / "timing.json").write_text(json.dumps(data, indent=1))
    return Made({"timing": "timing.json"}, info={"frames": frames, "duration": frames / req.fps})
