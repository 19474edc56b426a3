"""Timing: each shot's real length, fitted to the voice that plays over it (to the frame)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, added, keyed
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext


def fit(durations: list[float], fps: float, lead_in: float, gap: float, tail: float, floor: float,
        pauses: tuple[float, ...] = (), pause_end: float = 0.0, overlaps: tuple[float, ...] = ()
        ) -> tuple[int, list[float]]:
    """(frames, offset of each voice): lead-in, the lines with gaps, a tail; never under ``floor``.
    ``pauses[i]``: seconds of silence the script asks for before voice ``i``; ``pause_end`` after the last;
    ``overlaps[i]``: seconds voice ``i`` starts before the previous one ends (never before it starts); on a
    shot's first voice the previous line is the last shot's, which ended ``tail`` before this shot began: the
    voice starts before the cut (a J-cut), at a negative offset."""
    offsets, t, end = [], lead_in, 0.0
    for i, d in enumerate(durations):
        t += pauses[i] if i < len(pauses) else 0.0
        over = overlaps[i] if i < len(overlaps) else 0.0
        if over and offsets:
            t = max(offsets[-1], t - gap - over)
        elif over:  # back past this shot's lead-in and the last shot's tail (pauses before it still count)
            t -= lead_in + tail + over
        offsets.append(round(t, 4))
        if t + d >= end:  # the usual case, in the order of additions the cached timings were made with
            end = t + d
            t += d + gap
        else:  # a short line inside the one it overlaps: the next starts after the longer one
            t = end + gap
    speech_end = (t - gap + tail) if durations else 0.0
    seconds = max(floor, speech_end + pause_end)
    return max(1, math.ceil(seconds * fps - 1e-6)), offsets


SFX_LEAD = 0.4  # seconds a sound effect is heard alone before the line that follows it in a shot
SFX_HOLD = 0.8  # seconds a shot holds after its last line for a sound that follows the line (a car door after the
# last words of a scene fired 0.15 s before the cut and played over the next scene)
END_HOLD = 1.2  # seconds the episode's last shot holds after its last line: the ending's button, under which the
# music fades (END_FADE); the episode ended 0.15 s after the last word, its music's fade hidden under the line


@dataclass(frozen=True)
class TimingRequest:
    """A shot's length: its voices (ref, the voice's artifact, its duration), fitted by the timing settings."""

    voices: tuple[tuple[str, Artifact, float], ...] = keyed("dialogue changed")
    fps: float = keyed("frame rate changed")
    floor: float = keyed("minimum duration changed")
    lead_in: float = keyed("timing settings changed")
    gap: float = keyed("timing settings changed")
    tail: float = keyed("timing settings changed")
    pauses: tuple[float, ...] = added("pause changed", ())  # silence before each voice (pause beats)
    pause_end: float = added("pause changed", 0.0)  # silence after the last voice
    overlaps: tuple[float, ...] = added("overlap changed", ())  # seconds each voice starts before the last ends


class TimingStage(Stage):
    name = "timing"
    version = "2"
    resource = "io"

    def jobs(self, ctx: RenderContext):
        cfg = ctx.config.timing
        fps = ctx.sp.format.fps
        last = ctx.all_shots[-1].id if ctx.all_shots else None
        for shot in ctx.shots:
            voices = [(ref, ctx.entry("voice", ref)) for ref in shot.beats if ctx.beats[ref].spoken is not None]
            hint = next((ctx.beats[r].shot.duration for r in shot.beats
                         if ctx.beats[r].shot and ctx.beats[r].shot.duration), None)
            if voices:  # the planner's estimate is only a guess; a hint or a locked shot sets a floor
                floor = max(cfg.min_shot, hint or 0)
            else:
                floor = max(cfg.min_shot, shot.duration)
            pauses, paused, carded, sounded = [], 0.0, 0.0, 0.0
            for ref in shot.beats:
                beat = ctx.beats[ref]
                if beat.pause:
                    paused += beat.pause
                elif beat.card is not None:  # a card after the shot's last line: the shot holds it to its end
                    carded += beat.card.seconds
                elif beat.sfx is not None:  # heard before the line after it starts (a ring, a door: it started
                    sounded = SFX_LEAD  # 0.05 s before the words and covered them)
                elif beat.spoken is not None:
                    pauses.append(round(paused + sounded, 4))
                    paused = carded = sounded = 0.0
            waiting = paused + carded + (SFX_HOLD if voices and sounded else 0.0)  # a sound after the last line
            if voices and shot.id == last:  # END_HOLD from the last word: the fit adds the tail after it
                waiting = max(waiting, END_HOLD - cfg.tail)
            if not voices:
                floor = max(floor, waiting)
            overlaps = tuple((ctx.beats[ref].line.overlap or 0.0) if ctx.beats[ref].line else 0.0 for ref, _ in voices)
            if voices and shot.locked:  # a locked shot's length is a floor only where it asks for more than its
                # lines take: locked at its length in the episode, its timing (and every later shot's) is unchanged
                durations = [e.meta["duration"] for _, e in voices]
                natural = fit(durations, fps, cfg.lead_in, cfg.gap, cfg.tail, floor, tuple(pauses),
                              round(waiting, 4), overlaps)[0] / fps
                if shot.duration > natural + 1e-6:
                    floor = max(floor, shot.duration)
            req = TimingRequest(voices=tuple((ref, ctx.artifact("voice", ref), e.meta["duration"]) for ref, e in voices),
                                fps=fps, floor=floor, lead_in=cfg.lead_in, gap=cfg.gap, tail=cfg.tail,
                                pauses=tuple(pauses) if any(pauses) else (), pause_end=round(waiting, 4),
                                overlaps=overlaps if any(overlaps) else ())
            yield self.job(ctx, shot.id, req, partial(write_timing, req), shot=shot.id)


def write_timing(req: TimingRequest, out) -> Made:
    durations = [d for _, _, d in req.voices]
    frames, offsets = fit(durations, req.fps, req.lead_in, req.gap, req.tail, req.floor, req.pauses, req.pause_end,
                          req.overlaps)
    data = {"frames": frames, "duration": frames / req.fps, "fps": req.fps,
            "voices": [{"ref": ref, "offset": off, "duration": d} for (ref, _, d), off in zip(req.voices, offsets)]}
    (out / "timing.json").write_text(json.dumps(data, indent=1))
    return Made({"timing": "timing.json"}, info={"frames": frames, "duration": frames / req.fps})
