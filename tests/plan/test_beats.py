"""The beat-anchored answer (llm.answer: beats, the default): one slot per picture beat, director keeps the books.

Unit tests of the conversion (plan/beats.py) and scripted-server tests of the planner using it.
"""
from __future__ import annotations

import json

import pytest
import yaml

from director.cli.main import run
from director.plan.agents import beat_plan_model
from director.plan.beats import picture_refs, shots_from_beats
from director.plan.llm import scene_rules
from director.screenplay import load_screenplay
from director.shots import load_shot_list, plan_problems
from tests.conftest import DATA, ROOT, make_project
from tests.llm_server import ScriptedLLM

KEY = "sk-test-SECRET-beats"
DEMO = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay


def shot(characters, size="MCU", angle="eye-level", move="static", prompt="a frame"):
    return {"characters": characters, "size": size, "angle": angle, "move": move, "prompt": prompt}


def convert(sp, scene_id: str, answer: dict):
    scene = next(s for s in sp.scenes if s.id == scene_id)
    free = [sp.beat_ref(scene, i) for i in range(len(scene.beats))]
    schema = beat_plan_model(len(picture_refs(sp, scene, free)), list(sp.characters))
    planned, decided = shots_from_beats(sp, scene, schema.model_validate(answer), free)
    assert scene_rules(sp, scene, planned, []) == [], (planned, decided)  # the rules a hand-written plan passes
    return scene, planned, decided


def test_slots_cover_every_beat_once_in_order_and_cues_ride_on_the_next_picture():
    # handoff: action, ren line, mia line, sfx thunder, action, narration -> 5 slots (the sfx has none)
    answer = {"b1": shot(["ren", "mia"], "WS", move="pan-right"), "b2": "same", "b3": "same",
              "b4": shot(["ren"], "CU", move="dolly-in", prompt="Ren's face goes pale over the open parcel"),
              "b5": "same"}
    scene, planned, decided = convert(DEMO, "handoff", answer)
    covered = [b for p in planned for b in p.beats]
    assert covered == [f"handoff/{i}" for i in range(1, 7)]
    thunder = next(p for p in planned if "handoff/4" in p.beats)  # the sfx rides on the shot of the next action
    assert "handoff/5" in thunder.beats and thunder.size == "CU" and thunder.move == "dolly-in"
    assert planned[0].prompt == "a frame" and planned[0].beats == ["handoff/1", "handoff/2"]  # b2 "same"
    assert decided == ["b3 (handoff/3): cut -- the shot would run 7.6 s"]  # director's only decision, named
    assert planned[1].size == "MWS" and planned[1].characters == ["ren", "mia"]  # a punch-in on the same two


def test_a_same_slot_whose_speaker_is_out_of_frame_becomes_a_cut_to_the_speaker():
    answer = {"b1": shot(["ren"], "WS"), "b2": "same", "b3": "same", "b4": "same", "b5": "same"}
    _, planned, decided = convert(DEMO, "handoff", answer)
    mia = next(p for p in planned if "handoff/3" in p.beats)  # Mia's line: the answer kept Ren's shot
    assert mia.characters[0] == "mia" and mia.angle == "ots" and "ren" in mia.characters
    assert any("handoff/3" in d and "mia speaks on screen and is not in frame" in d for d in decided)
    assert mia.prompt and "Mia" in mia.prompt  # director wrote the prompt of the shot it opened


def test_durations_come_from_the_estimates_and_a_long_same_run_is_punched_in():
    answer = {"b1": shot(["ren", "mia"], "MS"), "b2": "same", "b3": "same", "b4": "same", "b5": "same"}
    _, planned, decided = convert(DEMO, "handoff", answer)
    assert all(1.5 <= p.duration <= 12 for p in planned)
    punched = [d for d in decided if "the shot would run" in d]
    assert punched, decided
    sizes = [p.size for p in planned]
    assert "MCU" in sizes  # MS punched in one step


def test_the_scripts_hints_win_over_the_answer_and_an_intercut_cuts_at_the_other_place():
    sp = load_screenplay(DATA / "craft/screenplay.yaml").screenplay
    # call: caption card, action, intro card, inner line, chen phone line, pause, lin phone line, chen phone line
    answer = {"b1": shot(["lin"], "MCU"), "b2": "same", "b3": "same", "b4": "same", "b5": "same"}
    scene, planned, decided = convert(sp, "call", answer)
    assert any("the beat is at office" in d for d in decided), decided
    assert any(p.beats and all(sp.beat_locations(scene)[int(b.split('/')[1]) - 1] == "office"
                               for b in p.beats if not scene.beats[int(b.split('/')[1]) - 1].cue) for p in planned)
    _, memory, _ = convert(sp, "memory", {"b1": shot(["lin"], "WS", move="pan-left"), "b2": "same"})
    assert memory[0].transition == "dissolve"  # the beat's transition, whatever the answer said


def test_the_schema_is_one_required_key_per_picture_beat():
    schema = beat_plan_model(3, ["mia", "ren"]).model_json_schema()
    assert schema["required"] == ["b1", "b2", "b3"]
    assert "anyOf" not in schema["properties"]["b1"]  # the first beat always opens a shot
    assert {"const": "same", "type": "string"} in schema["properties"]["b2"]["anyOf"]
    shot_def = schema["$defs"]["NewShot"]
    assert shot_def["properties"]["prompt"]["maxLength"] == 240 and shot_def["properties"]["characters"]["maxItems"] == 4
    assert shot_def["properties"]["characters"]["items"]["enum"] == ["mia", "ren"]


# ------------------------------------------------------------------ through the planner and a scripted server

def beats_answer(agent: str, scene_id: str) -> dict:
    if agent == "supervisor":
        return {"approved": True, "fixes": []}
    scene = next(s for s in DEMO.scenes if s.id == scene_id)
    count = sum(not b.cue for b in scene.beats)
    first = next(b for b in scene.beats if not b.cue)
    who = [first.line.who] if first.line else ["mia"]
    return {"b1": shot(who, "MCU", move="handheld", prompt="Mia running through neon rain")} | \
        {f"b{n}": shot(["ren"], "CU", prompt=f"frame {n}") if n % 2 else "same" for n in range(2, count + 1)}


@pytest.fixture
def project(tmp_path, monkeypatch):
    path = make_project(tmp_path, ROOT / "projects/demo", size=None)
    (path / "director.yaml").write_text(yaml.safe_dump({
        "planner": {"backend": "llm"}, "llm": {"backoff": 0.01, "timeout": 2, "max_retries": 1, "max_repairs": 2}}))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DIRECTOR_LLM_MODEL", "small-local-model")
    return path


def plan(project, capsys, *extra) -> tuple[int, dict, str]:
    code = run(["-p", str(project), "--json", "plan", *extra])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else {}), out.err


def test_the_default_plans_each_scene_in_one_call_with_a_compact_prompt(project, capsys, monkeypatch):
    with ScriptedLLM(beats_answer, reject=("json_schema",), reject_status=500) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
    assert code == 0, err
    asks = [r for r in llm.calls("artist") if r["format"] == "json_object"]
    assert data["stats"]["answer"] == "beats" and len(asks) == 2  # one per scene once json_object is found
    handoff = next(r for r in asks if r["scene"] == "handoff")
    user = handoff["messages"][1]["content"]
    assert "b5: narration" in user and "(sound effect: thunder)" in user and "handoff/" not in user
    assert "Example." in user and '"$defs"' not in user  # the worked example, not a JSON schema dump
    assert "scene arrival planned by the LLM (1/2" in err and "scene handoff planned by the LLM (2/2" in err
    scenes = data["stats"]["scenes"]
    assert scenes["handoff"]["source"] == "llm" and scenes["handoff"]["asks"] == 1
    assert "prompt" in scenes["handoff"]["from_model"] and "duration" not in scenes["handoff"]["from_model"]
    sp = load_screenplay(project / "screenplay.yaml").screenplay
    shots = load_shot_list(project / "shots/screenplay.yaml", sp).shots
    assert plan_problems(sp, shots) == [] and shots[0].move == "handheld"
    code, again, _ = plan(project, capsys)  # the same model elsewhere (or here again) re-plans from the cache
    assert code == 0 and again["stats"]["calls"] == 0


def test_a_repeated_answer_is_not_asked_for_a_third_time(project, capsys, monkeypatch):
    with ScriptedLLM(beats_answer) as llm:
        broken = {"text": '{"b1": {"characters": ["mia"], "size": "XXL"}}'}
        llm.script("artist", "arrival", broken, broken, broken)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
    assert code == 0, err
    assert len([r for r in llm.calls("artist") if r["scene"] == "arrival"]) == 2
    note = next(n for n in data["notes"] if n.startswith("scene arrival: planned by the rules"))
    assert "the model gave the same answer again" in note
    assert data["stats"]["scenes"]["arrival"]["source"] == "rules"


def test_a_supervisor_that_keeps_objecting_never_turns_a_valid_plan_into_a_fallback(project, capsys, monkeypatch):
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"]["review"] = True
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    with ScriptedLLM(beats_answer) as llm:
        llm.script("supervisor", "handoff", *[{"json": {"approved": False, "fixes": ["remove Ren, he speaks"]}}] * 3)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
    assert code == 0, err
    assert data["stats"]["scenes"]["handoff"]["source"] == "llm"
    assert any("scene handoff: kept the last valid plan" in n for n in data["notes"]), data["notes"]
    repair = [r for r in llm.calls("artist") if r["scene"] == "handoff"][-1]["messages"][-1]["content"]
    assert "continuity supervisor: remove Ren, he speaks" in repair and "b1 to b5" in repair



def test_the_episodes_silent_opening_shot_is_held_to_the_hook():
    scene = DEMO.scenes[0]
    free = [DEMO.beat_ref(scene, i) for i in range(len(scene.beats))]
    answer = beat_plan_model(2, list(DEMO.characters)).model_validate(
        {"b1": shot(["mia"], "MS", move="truck-left"), "b2": shot(["mia"], "CU")})
    later, _ = shots_from_beats(DEMO, scene, answer, free)
    first, decided = shots_from_beats(DEMO, scene, answer, free, opening=True)
    assert later[0].duration > 3.0 and first[0].duration == 3.0 and first[1:] == later[1:]
    assert decided == [f"the opening shot held to 3 s (the hook), not {later[0].duration:.1f} s"]


def test_prompts_that_copy_the_example_repeat_or_quote_the_dialogue_are_replaced_and_named():
    from director.plan.agents import PlannedShot, load_agent
    from director.plan.beats import check_prompts

    scene = DEMO.scenes[1]
    words = load_agent("storyboard_artist_beats").example_words

    def planned(prompt, beats, who=("ren",)):
        return PlannedShot(size="MCU", duration=2.0, characters=list(who), prompt=prompt, beats=beats)
    shots = [planned("Ren at the rain-streaked window, back to the room, city lights below", ["handoff/1"]),
             planned("Over Ren's shoulder, Mia answers from the kitchen doorway", ["handoff/2"], ("ren", "mia")),
             planned("Ren at the rain-streaked window, back to the room, city lights below", ["handoff/3"]),
             planned("Mia says the city was on fire", ["handoff/4", "handoff/5"], ("mia",)),
             planned("", ["handoff/6"])]
    out, fixes = check_prompts(DEMO, scene, shots, words)
    assert out[0].prompt == shots[0].prompt  # a prompt describing this picture is the model's
    assert fixes == ["shot 2: director's prompt (it named kitchen, doorway from the worked example)",
                     "shot 3: director's prompt (it repeated an earlier shot's prompt)",
                     "shot 4: director's prompt (it quoted the dialogue instead of describing the picture)",
                     "shot 5: director's prompt (it was empty)"]
    assert out[1].prompt.startswith("Medium close-up, eye-level. Ren (tall man in a grey suit") and "office" in out[1].prompt
    assert "Ren opens the parcel" in out[3].prompt  # the shot's action, not its line
    # a word of the example that the screenplay itself uses is not foreign
    office = DEMO.locations["office"].model_copy(update={"description": "a kitchen doorway lit by one bulb"})
    kitchen = DEMO.model_copy(update={"locations": {**DEMO.locations, "office": office}})
    _, fixes = check_prompts(kitchen, kitchen.scenes[1], shots[:2], words)
    assert fixes == []


def test_an_intercut_frames_the_people_at_the_other_place_and_a_scripted_transition_cuts():
    sp = load_screenplay(DATA / "craft/screenplay.yaml").screenplay
    scene = sp.scenes[0]
    places = dict(zip((sp.beat_ref(scene, i) for i in range(len(scene.beats))), sp.beat_locations(scene)))
    _, planned, _ = convert(sp, "call", {"b1": shot(["lin"], "MCU"), "b2": "same", "b3": "same", "b4": "same",
                                         "b5": "same"})
    office = [p for p in planned
              if {places[b] for b in p.beats if not scene.beats[int(b.split("/")[1]) - 1].cue} == {"office"}]
    assert office and all(p.characters == ["chen"] for p in office), office  # not Lin, who is at the flat
    data = DEMO.model_dump()
    data["scenes"][1]["beats"][4]["transition"] = "dissolve"  # "Ren opens the parcel", answered "same"
    sp2 = type(DEMO).model_validate(data)
    _, planned, decided = convert(sp2, "handoff", {"b1": shot(["ren", "mia"], "WS"), "b2": "same",
                                                   "b3": shot(["mia", "ren"], "MCU", "ots"), "b4": "same", "b5": "same"})
    parcel = next(p for p in planned if "handoff/5" in p.beats)
    assert parcel.beats[0] in ("handoff/4", "handoff/5") and parcel.transition == "dissolve"
    assert any("handoff/5" in d and "transition" in d for d in decided)


def test_prompt_checks_judge_whole_words_and_real_quotes():
    from director.plan.agents import PlannedShot, load_agent
    from director.plan.beats import check_prompts

    sp = load_screenplay(DATA / "llm/screenplay.yaml").screenplay
    scene = sp.scenes[1]  # chase: "Max! Stop!"
    words = load_agent("storyboard_artist_beats").example_words
    fine = ["Iris shouts as Max stops on a cart, under a single overhead light",
            "Max vaults a cart of oranges by an abandoned parcel, lanterns swinging",
            "Iris pushes through steam, a noodle stall behind her"]
    shots = [PlannedShot(size="MS", duration=2.0, characters=[who], prompt=p, beats=[b])
             for p, b, who in zip(fine, ["chase/2", "chase/3", "chase/4"], ["iris", "max", "iris"])]
    out, fixes = check_prompts(sp, scene, shots, words)
    assert fixes == [] and [s.prompt for s in out] == fine  # "Leo" in "overhead", "Ana" in "banana": no
    looping = shots[0].model_copy(update={"prompt": "Iris runs through the steam, Iris runs through the steam, Iris"})
    _, fixes = check_prompts(sp, scene, [looping], words)
    assert fixes == ["shot 1: director's prompt (it said the same thing twice (a decoding loop))"]
    nobody = shots[0].model_copy(update={"prompt": "Trouble!"})
    hers = shots[0].model_copy(update={"prompt": "Her trembling hands on a cart of oranges"})
    out, fixes = check_prompts(sp, scene, [nobody, hers], words)
    assert fixes == ["shot 1: director's prompt (it names no one in frame)"] and out[1].prompt == hers.prompt


def test_an_answer_written_without_a_grammar_is_read_leniently():
    """Names for ids, "close-up" for CU, "dolly in", an overlong prompt: read, not refused (a server with no
    grammar, or json_object without a schema)."""
    names = {(c.name or cid): cid for cid, c in DEMO.characters.items()}
    schema = beat_plan_model(2, list(DEMO.characters), names)
    answer = schema.model_validate({
        "b1": {"characters": ["Mia", "Stranger"], "size": "Close-up", "angle": "Eye level", "move": "dolly in",
               "prompt": "Mia in the rain, " * 30},
        "b2": {"characters": ["REN"], "size": "wide shot", "angle": "over the shoulder", "move": "static",
               "prompt": "Ren"}})
    assert answer.b1.characters == ["mia"] and (answer.b1.size, answer.b1.angle, answer.b1.move) == \
        ("CU", "eye-level", "dolly-in")
    assert len(answer.b1.prompt) <= 240 and answer.b1.prompt.endswith("rain")
    assert (answer.b2.characters, answer.b2.size, answer.b2.angle) == (["ren"], "WS", "ots")
    with pytest.raises(ValueError):  # what cannot be read is still refused (and goes back to the model)
        schema.model_validate({"b1": {"characters": [], "size": "giant", "angle": "low", "move": "static",
                                      "prompt": ""}, "b2": "same"})


def test_plan_show_says_per_scene_who_planned_it_and_what_director_decided(project, capsys, monkeypatch):
    with ScriptedLLM(beats_answer) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code = run(["-p", str(project), "plan", "--show"])
    out = capsys.readouterr().out
    assert code == 0
    assert "scene arrival: the LLM (1 ask(s); from the model: cuts, characters, size, angle, move, prompt" in out
    assert "director decided" in out and "ren speaks on screen and is not in frame" in out


def test_a_recast_leaves_the_prompt_alone_where_the_old_cast_is_no_longer_in_the_screenplay():
    """A diff review: with a character renamed in the screenplay, the old cast's words could not be found and the
    new cast was put in front of them: the prompt described both."""
    from director.plan.rules import framing, people_of, recast

    sp = DEMO
    mia = next(iter(sp.characters))
    framed = framing("CU", "eye-level")
    prompt = f"{framed} Ana (someone the screenplay no longer has). Ana speaks."
    assert recast(prompt, sp, framed, ["ana"], [mia]) == prompt
    planned = f"{framed} {people_of(sp, [mia])} Rain."
    assert recast(planned, sp, framed, [mia], []) == f"{framed} Rain."  # a known cast is still rewritten
