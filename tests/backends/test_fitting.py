"""Each video model's frame/fps rules: passes, seams and conforming to the shot's exact frames."""
from __future__ import annotations

import pytest

from director.backends.diffusion.fitting import Rules, conform_indices, plan_passes, valid_frames

WAN = Rules(step=4, fps=24, max_frames=121, min_frames=5, multiple=32, side=949)
WAN21 = Rules(step=4, fps=16, max_frames=81, min_frames=5, multiple=16, side=960)
LTX = Rules(step=8, fps=24, max_frames=257, min_frames=9, multiple=32, side=608)
COG = Rules(step=8, fps=8, max_frames=49, min_frames=9, multiple=16, side=588)
COG_FIXED = Rules(step=8, fps=8, max_frames=49, min_frames=49, multiple=16, side=588)
SVD = Rules(step=1, fps=7, max_frames=25, min_frames=2, multiple=64, side=768)


@pytest.mark.parametrize("rules", [WAN, WAN21, LTX, COG, SVD])
@pytest.mark.parametrize("frames, fps", [(5, 24), (24, 24), (60, 24), (118, 24), (121, 24), (122, 24), (271, 24),
                                         (720, 24), (150, 30), (143, 23.976)])
def test_passes_cover_the_shot_and_obey_the_model(rules, frames, fps):
    plan = plan_passes(rules, frames, fps, overlap=4)
    for made in plan.passes:
        assert (made - 1) % rules.step == 0 or rules.step == 1
        assert rules.min_frames <= made <= rules.max_frames
    shown = conform_indices(10 ** 6, rules.fps, frames, fps)
    assert plan.stitched >= plan.native_frames == shown[-1] + 1  # every frame shown is made, and no more is asked
    assert len(plan.seams) == len(plan.passes) - 1
    # the seams sit where each later pass starts, inside the stitched clip
    assert all(0 < s < plan.stitched for s in plan.seams)


def test_wan_rules():
    assert [valid_frames(WAN, n) for n in (1, 5, 6, 9, 10, 121, 500)] == [5, 5, 9, 9, 13, 121, 121]
    # a 121-frame shot at 24 fps needs Wan 2.2's 121 frames: one pass (it was 121 + a 5-frame second pass, seen
    # on an H100 as 10.5 GPU-seconds against plain diffusers' 8.5 for the same clip)
    assert plan_passes(WAN, 121, 24).passes == [121]
    assert plan_passes(WAN, 120, 24).passes == [121]
    assert plan_passes(WAN, 97, 24).passes == [97]  # was 101
    assert plan_passes(WAN, 122, 24).passes[0] == 121 and len(plan_passes(WAN, 122, 24).passes) == 2


def test_three_passes_have_two_seams():
    plan = plan_passes(WAN21, 288, 24, overlap=4)  # 12 s: 192 frames at 16 fps; 81 per pass
    assert len(plan.passes) == 3 and len(plan.seams) == 2
    assert plan.seams == [77, 77 + plan.passes[1] - 4]


def test_shorter_than_the_model_minimum_still_gets_a_valid_pass():
    assert plan_passes(LTX, 2, 24).passes == [9]
    assert plan_passes(COG_FIXED, 24, 24).passes == [49]  # CogVideoX-5B-I2V makes exactly 49 frames


def test_conforming_hits_the_exact_frame_count_at_fractional_fps():
    picks = conform_indices(native_count=49, native_fps=8, frames=143, fps=23.976)
    assert len(picks) == 143 and picks[0] == 0 and picks == sorted(picks) and picks[-1] <= 48
    # time is preserved: output frame i shows the native frame nearest to i/fps
    assert picks[100] == round(100 / 23.976 * 8)
    assert conform_indices(10, 7, 3, 30) == [0, 0, 0]
