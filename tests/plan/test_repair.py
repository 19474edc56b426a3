"""The deterministic repair of a planner's answer (plan/repair.py): each kind of bookkeeping slip is fixed the same
way every time, named, and the repaired plan passes the rules a hand-written plan must."""
from __future__ import annotations

import pytest

from director.plan.agents import PlannedShot
from director.plan.llm import LLM_MAX_SECONDS, LLM_MIN_SECONDS, scene_rules
from director.plan.repair import repair_scene
from director.plan.rules import RulePlanner
from director.screenplay import load_screenplay
from tests.conftest import DATA, ROOT


@pytest.fixture(scope="module")
def scene_plan():
    sp = load_screenplay(DATA / "short/screenplay.yaml").screenplay
    scene = next(s for s in sp.scenes if sum(1 for b in s.beats if b.line) >= 2)
    shots = RulePlanner(sp, "ep").plan_scene(scene)
    planned = [PlannedShot(**s.model_dump(include={"size", "angle", "move", "duration", "characters", "prompt",
                                                    "beats", "transition"})) for s in shots]
    free = [sp.beat_ref(scene, i) for i in range(len(scene.beats))]
    assert len(planned) >= 2 and scene_rules(sp, scene, planned, []) == []
    return sp, scene, planned, free


def _repair(sp, scene, planned, free):
    repaired, fixes = repair_scene(sp, scene, planned, free, LLM_MIN_SECONDS, LLM_MAX_SECONDS)
    assert scene_rules(sp, scene, repaired, []) == [], fixes
    assert repair_scene(sp, scene, repaired, free, LLM_MIN_SECONDS, LLM_MAX_SECONDS)[1] == []  # a fixed point
    return repaired, fixes


def test_an_uncovered_beat_joins_the_shot_before_it(scene_plan):
    sp, scene, planned, free = scene_plan
    broken = [p.model_copy(deep=True) for p in planned]
    dropped = broken[-1].beats.pop()
    broken = [p for p in broken if p.beats]
    repaired, fixes = _repair(sp, scene, broken, free)
    assert any(dropped in s.beats for s in repaired) and any(f.startswith(f"{dropped} was not covered") for f in fixes)
    assert _repair(sp, scene, broken, free)[0] == repaired  # the same repair every time


def test_a_beat_covered_twice_stays_in_the_first_shot(scene_plan):
    sp, scene, planned, free = scene_plan
    broken = [p.model_copy(deep=True) for p in planned]
    first, second = [p for p in broken if p.beats][:2]
    twice = first.beats[0]
    second.beats = second.beats + [twice]
    repaired, fixes = _repair(sp, scene, broken, free)
    assert [twice in s.beats for s in repaired].count(True) == 1 and twice in next(s for s in repaired if s.beats).beats
    assert any("already covered" in f for f in fixes)


def test_beats_and_shots_out_of_order_are_put_in_screenplay_order(scene_plan):
    sp, scene, planned, free = scene_plan
    broken = [p.model_copy(deep=True) for p in reversed(planned)]
    broken[0].beats = list(reversed(broken[0].beats))
    repaired, fixes = _repair(sp, scene, broken, free)
    firsts = [free.index(s.beats[0]) for s in repaired if s.beats]
    assert firsts == sorted(firsts) and "shots put in the order of their first beat" in fixes


def test_speakers_are_framed_strangers_removed_and_durations_clamped(scene_plan):
    sp, scene, planned, free = scene_plan
    broken = [p.model_copy(deep=True) for p in planned]
    beats = {ref: beat for ref, _, beat in sp.beats()}
    talker = next(i for i, p in enumerate(broken) if any(
        beats[r].line is not None and beats[r].line.heard_as == "on" for r in p.beats))
    broken[talker].characters = ["zed"]
    broken[-1].duration = 0.5
    repaired, fixes = _repair(sp, scene, broken, free)
    assert "zed" not in repaired[talker].characters and repaired[talker].characters
    assert repaired[-1].duration == LLM_MIN_SECONDS
    assert any("framed" in f for f in fixes) and any("not in the cast" in f for f in fixes)


def test_beats_of_other_scenes_or_locked_shots_are_dropped_and_nothing_left_is_empty(scene_plan):
    sp, scene, planned, free = scene_plan
    broken = [p.model_copy(deep=True) for p in planned]
    target = next(p for p in broken if p.beats)
    moved = target.beats
    target.beats = ["elsewhere/1"]
    repaired, fixes = _repair(sp, scene, broken, free)
    assert len(repaired) == len(broken) - 1 and any("not a free beat" in f for f in fixes)
    assert all(any(ref in s.beats for s in repaired) for ref in moved)  # its beats joined a neighbour
    assert repair_scene(sp, scene, [], free, LLM_MIN_SECONDS, LLM_MAX_SECONDS)[0] == []  # nothing to repair from


def test_over_the_shoulder_the_speaker_faces_the_camera():
    from director.shots import Shot, talking_speakers

    sp = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay
    scene = sp.scenes[1]
    free = [sp.beat_ref(scene, i) for i in range(len(scene.beats))]
    shots = [PlannedShot(size="MS", duration=4.0, characters=["ren", "mia"], prompt="Ren at the window",
                         beats=["handoff/1", "handoff/2"]),
             PlannedShot(size="MCU", angle="ots", duration=2.5, characters=["ren", "mia"],
                         prompt="Over Ren's shoulder, Mia", beats=["handoff/3"]),
             PlannedShot(size="CU", duration=6.0, characters=["ren"], prompt="Ren opens the parcel",
                         beats=["handoff/4", "handoff/5", "handoff/6"])]
    repaired, fixes = _repair(sp, scene, shots, free)
    assert repaired[1].characters == ["mia", "ren"] and repaired[0].characters == ["ren", "mia"]  # only ots
    assert fixes == ["shot 2: mia faces the camera over the other's shoulder (speaks handoff/3)"]
    # and so her lips move: an ots shot lip-syncs the one facing the camera
    shot = Shot(id="handoff-02", scene="handoff", **repaired[1].model_dump())
    assert talking_speakers(sp, shot) == ("mia",)
