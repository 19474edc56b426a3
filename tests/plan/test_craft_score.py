"""The craft score (plan/craft.py): the same measure for any planner; each part answers to what it names."""
from __future__ import annotations

import json

import pytest

from director.plan.craft import craft_score
from director.plan.rules import RulePlanner
from director.screenplay import load_screenplay
from tests.conftest import ROOT, director, make_project


@pytest.fixture(scope="module")
def demo():
    sp = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay
    shots = [s for scene in sp.scenes for s in RulePlanner(sp, "demo").plan_scene(scene)]
    return sp, shots


def test_every_part_is_between_0_and_1_and_the_total_is_their_mean(demo):
    sp, shots = demo
    score = craft_score(sp, shots)
    parts = [v for k, v in score.items() if k != "total" and v is not None]
    assert parts and all(0 <= v <= 1 for v in parts)
    assert score["total"] == pytest.approx(sum(parts) / len(parts), abs=1e-3)


def test_a_flat_plan_scores_below_the_rules_plan(demo):
    sp, shots = demo
    flat = [s.model_copy(update={"size": "MS", "angle": "eye-level", "move": "static", "duration": 9.0})
            for s in shots]
    rules, dull = craft_score(sp, shots), craft_score(sp, flat)
    assert dull["variety"] < rules["variety"] and dull["pace"] < rules["pace"] and dull["total"] < rules["total"]


def test_each_part_answers_to_what_it_names(demo):
    sp, shots = demo
    hooked = [shots[0].model_copy(update={"duration": 2.0, "size": "CU"}), *shots[1:]]
    slow = [shots[0].model_copy(update={"duration": 6.0}), *shots[1:]]
    assert craft_score(sp, hooked)["hook"] == 1.0 and craft_score(sp, slow)["hook"] == 0.0
    beats = {ref: beat for ref, _, beat in sp.beats()}
    intense = next((s for s in shots for r in s.beats if beats[r].line is not None
                    and (beats[r].line.emotion or "") in ("shocked", "angry", "scared", "desperate")), None)
    if intense is not None:
        wide = [s.model_copy(update={"size": "WS"}) if s is intense else s for s in shots]
        close = [s.model_copy(update={"size": "CU"}) if s is intense else s for s in shots]
        assert craft_score(sp, wide)["emotion_closeups"] < craft_score(sp, close)["emotion_closeups"]
    pair = [s.model_copy(update={"angle": "ots", "characters": who, "scene": shots[1].scene}) for s, who in
            zip(shots[1:3], (["mia", "ren"], ["ren", "mia"]))]
    lone = [pair[0], shots[3].model_copy(update={"angle": "eye-level"})]
    assert craft_score(sp, pair)["ots_pairs"] == 1.0 and craft_score(sp, lone)["ots_pairs"] == 0.0


def test_plan_prints_the_craft_score(tmp_path):
    project = make_project(tmp_path)
    out = json.loads(director("-p", str(project), "--json", "plan", check=True).stdout)
    assert 0 < out["craft"]["total"] <= 1
    text = director("-p", str(project), "plan", check=True).stdout
    assert "craft " in text and "variety" in text
