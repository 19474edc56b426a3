"""Each video model's frame, fps and size rules, and how a shot's exact length is made from them.

A model makes clips of ``step*n + 1`` frames (Wan 4n+1, LTX 8n+1, CogVideoX 8n+1 up to 49, SVD
any count) at its native fps, up to a maximum per pass. A shot is generated at the native fps,
covering its duration; a shot longer than one pass is extended from the last frame of the
previous pass, the passes overlapping by a few frames that are cross-faded so the seam does not
jump. The result is then conformed to the project's fps and the shot's frame count exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rules:
    step: int  # frame counts are step*n + 1 (step 1: any count)
    fps: float  # native frames per second
    max_frames: int  # most frames one pass can make
    min_frames: int  # fewest frames a pass may ask for
    multiple: int  # width and height are multiples of this
    side: int  # native size is about side^2 pixels in the project's aspect


@dataclass
class PassPlan:
    native_frames: int  # frames needed at the native fps to cover the shot
    passes: list[int] = field(default_factory=list)  # frames asked of each pass
    seams: list[int] = field(default_factory=list)  # index in the stitched clip where each later pass begins
    overlap: int = 0

    @property
    def stitched(self) -> int:
        return sum(self.passes) - self.overlap * (len(self.passes) - 1)


def valid_frames(rules: Rules, want: int) -> int:
    """The smallest count the model accepts that is at least ``want`` (capped to one pass)."""
    want = max(want, rules.min_frames)
    n = math.ceil(max(0, want - 1) / rules.step)
    frames = rules.step * n + 1 if rules.step > 1 else want
    if frames > rules.max_frames:
        frames = rules.max_frames if rules.step == 1 else rules.step * ((rules.max_frames - 1) // rules.step) + 1
    return frames


def native_index(i: int, fps: float, native_fps: float) -> int:
    """The native frame nearest in time to the shot's frame ``i`` (what conforming shows there)."""
    return int(round(i / fps * native_fps))


def plan_passes(rules: Rules, frames: int, fps: float, overlap: int = 4) -> PassPlan:
    """How many passes of which lengths cover a shot of ``frames`` at ``fps``: every native frame its conformed
    frames show, up to the one nearest its last frame's time (a 121-frame shot at the model's 24 fps needs 121,
    one pass of Wan 2.2; counting both ends of its 5.04 s asked for 122, a second pass of 5 frames)."""
    need = native_index(max(1, frames) - 1, fps, rules.fps) + 1
    biggest = valid_frames(rules, rules.max_frames)
    overlap = max(1, min(overlap, biggest // 2))
    if need <= biggest:
        return PassPlan(need, [valid_frames(rules, need)], [], overlap)
    plan = PassPlan(need, [biggest], [], overlap)
    covered = biggest
    while covered < need:
        frames = valid_frames(rules, need - covered + overlap)
        plan.seams.append(covered - overlap)
        plan.passes.append(frames)
        covered += frames - overlap
    return plan


def conform_indices(native_count: int, native_fps: float, frames: int, fps: float) -> list[int]:
    """For each output frame at the project's fps, the native frame shown (nearest in time)."""
    return [min(native_count - 1, native_index(i, fps, native_fps)) for i in range(frames)]
