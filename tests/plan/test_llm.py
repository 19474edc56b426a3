"""The LLM planner over the real langchain-openai / openai stack, against a local scripted server."""
from __future__ import annotations

import json

import pytest
import yaml

from director.cli.main import run
from director.plan.rules import RulePlanner
from director.screenplay import load_screenplay
from tests.conftest import ROOT, make_project
from tests.llm_server import ScriptedLLM

KEY = "sk-test-SECRET-1234"


def good_answer(sp):
    def answer(agent: str, scene_id: str) -> dict:
        if agent == "supervisor":
            return {"approved": True, "fixes": []}
        scene = next(s for s in sp.scenes if s.id == scene_id)
        shots = RulePlanner(sp, "ep").plan_scene(scene)
        return {"shots": [s.model_dump(include={"size", "angle", "move", "duration", "characters", "prompt", "beats",
                                                 "transition"}) for s in shots]}
    return answer


@pytest.fixture
def project(tmp_path, monkeypatch):
    path = make_project(tmp_path, ROOT / "projects/demo", size=None)
    (path / "director.yaml").write_text(yaml.safe_dump({
        "planner": {"backend": "llm"},
        # these tests script whole shot lists (llm.answer: shots); tests/plan/test_beats.py the default, beats
        "llm": {"backoff": 0.01, "timeout": 1.5, "max_retries": 3, "max_repairs": 2, "review": False,
                "answer": "shots"}}))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DIRECTOR_LLM_MODEL", "test-model")
    return path


@pytest.fixture
def sp():
    return load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay


def plan(project, capsys, *extra) -> tuple[int, dict, str]:
    code = run(["-p", str(project), "--json", "plan", *extra])
    out = capsys.readouterr()
    data = json.loads(out.out) if out.out.strip().startswith("{") else {}
    return code, data, out.err


def shots(project) -> list[dict]:
    return yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]


def test_good_answer_then_zero_calls_on_replan(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        assert data["planner"] == "llm" and data["stats"]["calls"] == 2
        assert data["stats"]["input_tokens"] == 200 and data["stats"]["output_tokens"] == 100
        assert {r["format"] for r in llm.calls()} == {"json_schema"}
        assert all(r["auth"] == f"Bearer {KEY}" for r in llm.calls())
        assert all(r["max_tokens"] == 2048 for r in llm.calls())  # local servers read max_tokens
        system = llm.calls()[0]["messages"][0]["content"]
        assert "courier in her twenties" in system and "9:16" in system and "3 seconds" in system
        (project / "shots/screenplay.yaml").unlink()
        code, data, _ = plan(project, capsys)
        assert data["stats"]["calls"] == 0 and data["stats"]["cached_calls"] == 2
        assert len(llm.calls()) == 2
    assert KEY not in (project / ".director").joinpath("llm-endpoints.json").read_text()
    for path in (project / ".director").rglob("*.json"):
        assert KEY not in path.read_text()


def test_malformed_json_is_sent_back_and_repaired(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"text": "Sure! Here is the plan: {shots: [oops"})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        arrival = llm.calls("artist")
        arrival = [r for r in arrival if r["scene"] == "arrival"]
        assert len(arrival) == 2
        assert "cannot be used yet" in arrival[1]["messages"][-1]["content"]
        assert not data["notes"]


def test_bookkeeping_slips_are_repaired_by_rule_without_asking_again(project, sp, capsys, monkeypatch):
    """A dropped line and a beat covered twice need no judgment: fixed by rule (plan/repair.py), named in the
    plan's notes, and the model is not asked again (a small model mostly repeats itself)."""
    slipped = good_answer(sp)("artist", "handoff")
    slipped["shots"][-1]["beats"] = slipped["shots"][-1]["beats"][:-1]  # the narration is dropped
    slipped["shots"][-1]["beats"].insert(0, slipped["shots"][0]["beats"][0])  # and a beat is covered twice
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "handoff", {"json": slipped})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        handoff = [r for r in llm.calls("artist") if r["scene"] == "handoff"]
        assert len(handoff) == 1
        schema = json.loads(handoff[0]["messages"][1]["content"].rsplit("schema:\n", 1)[1])
        assert "handoff/6" in json.dumps(schema) and "arrival/1" not in json.dumps(schema)
    note = next(n for n in data["notes"] if n.startswith("scene handoff: the LLM's plan, repaired by rule"))
    assert "handoff/6 was not covered" in note and "already covered" in note
    assert all(c in ("mia", "ren") for s in shots(project) for c in s["characters"])
    assert any("handoff/6" in s["beats"] for s in shots(project))


def test_an_answer_that_needs_judgment_is_sent_back_with_the_exact_errors(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "handoff", {"json": {"shots": []}})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        handoff = [r for r in llm.calls("artist") if r["scene"] == "handoff"]
        assert len(handoff) == 2 and "the answer has no shots" in handoff[1]["messages"][-1]["content"]
    assert not data["notes"]


def test_a_scene_never_fixed_falls_back_to_rules_with_a_message(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", *[{"json": {"shots": []}}] * 3)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
    assert code == 0
    assert any(n.startswith("scene arrival: planned by the rules") for n in data["notes"])
    assert "scene arrival: planned by the rules" in err
    assert [s for s in shots(project) if s["scene"] == "arrival"]


def test_429_then_success(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"status": 429, "headers": {"retry-after": "0"}}, {"status": 503})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        assert len([r for r in llm.calls() if r["scene"] == "arrival"]) == 3
        assert not data["notes"]


def test_a_timeout_is_retried(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "handoff", {"sleep": 3.0})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        assert len([r for r in llm.calls() if r["scene"] == "handoff"]) == 2
        assert not data["notes"]


@pytest.mark.parametrize("status", [400, 500])
def test_server_rejecting_json_schema_falls_back_to_json_mode_and_remembers(project, sp, capsys, monkeypatch, status):
    with ScriptedLLM(good_answer(sp), reject=("json_schema",), reject_status=status) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        formats = [r["format"] for r in llm.calls()]
        assert formats.count("json_object") == 2 and "json_schema" in formats
        memory = json.loads((project / ".director/llm-endpoints.json").read_text())
        assert memory == {f"{llm.url}|test-model": "json_mode_schema"}
        assert formats.count("json_schema") == 1  # rejected once, never retried
        schema_prompt = [r for r in llm.calls() if r["format"] == "json_object"][0]["messages"][1]["content"]
        assert '"shots"' in schema_prompt  # json mode carries the schema in the prompt
        before = len(llm.calls())
        text = (project / "screenplay.yaml").read_text().replace("Ten seconds to spare.", "Five seconds to spare.")
        (project / "screenplay.yaml").write_text(text)
        plan(project, capsys)
        assert [r["format"] for r in llm.calls()[before:]] == ["json_object"]  # remembered: no json_schema try


def test_tool_calling_when_no_response_format_is_accepted(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp), reject=("json_schema", "json_object")) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        assert sum(1 for r in llm.calls() if r["tools"]) == 2


def test_continuity_supervisor_requests_a_fix(project, sp, capsys, monkeypatch):
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"]["review"] = True
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    with ScriptedLLM(good_answer(sp)) as llm:
        fixed = good_answer(sp)("artist", "handoff")
        fixed["shots"][1]["prompt"] = "Close on Ren as he speaks."
        llm.script("supervisor", "handoff", {"json": {"approved": False, "fixes": ["shot 2: frame Ren, he speaks"]}})
        llm.script("artist", "handoff", {"json": good_answer(sp)("artist", "handoff")}, {"json": fixed})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0, err
        handoff = [r for r in llm.calls("artist") if r["scene"] == "handoff"]
        asked = handoff[1]["messages"][-1]["content"]
        assert len(handoff) == 2 and "continuity supervisor: shot 2" in asked
        # the shot named with the beats it covers, each quoted (an artist answering b1..bN has no shot numbers)
        second = good_answer(sp)("artist", "handoff")["shots"][1]["beats"]
        assert f"shot 2 (beats {', '.join(second)})" in asked and f"({second[0]} is the" in asked, asked


def test_locked_shots_are_fixed_for_the_agent(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        plan(project, capsys)
        data = yaml.safe_load((project / "shots/screenplay.yaml").read_text())
        data["shots"][0].update(locked=True, prompt="Hand-written.")
        (project / "shots/screenplay.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        text = (project / "screenplay.yaml").read_text().replace("clutching a small parcel", "clutching a parcel")
        (project / "screenplay.yaml").write_text(text)
        plan(project, capsys)
        last = [r for r in llm.calls("artist") if r["scene"] == "arrival"][-1]["messages"][1]["content"]
        assert "locked by the director" in last
        assert shots(project)[0]["prompt"] == "Hand-written."


def test_unreachable_endpoint_exits_4_without_the_key(project, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    code, _, err = plan(project, capsys)
    assert code == 4
    assert "http://127.0.0.1:9/v1" in err and KEY not in err and "Traceback" not in err


def test_no_key_plans_with_rules_and_says_so_once(project, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    code, data, err = plan(project, capsys)
    assert code == 0 and data["planner"] == "rules"
    assert err.count("no OPENAI_API_KEY") == 1


def test_an_answer_cut_off_at_max_tokens_is_repaired(project, sp, capsys, monkeypatch):
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"text": '{"shots": [{"size": "WS", "pro', "finish_reason": "length"})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0 and "Traceback" not in err, err
        arrival = [r for r in llm.calls("artist") if r["scene"] == "arrival"]
        assert "cut off at max_tokens" in arrival[1]["messages"][-1]["content"]


def _flat(answer: dict) -> dict:
    """The same beats in valid shots with little craft: every shot wide, static and long."""
    return {"shots": [{**s, "size": "WS", "angle": "eye-level", "move": "static", "duration": 8.0}
                      for s in answer["shots"]]}


def _with_craft(project, on: bool) -> None:
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"]["improve_craft"] = on
    (project / "director.yaml").write_text(yaml.safe_dump(config))


def test_a_valid_plan_with_little_craft_is_asked_for_once_more_and_the_better_one_kept(project, sp, capsys,
                                                                                        monkeypatch):
    from director.plan.craft import craft_score

    _with_craft(project, True)
    good = good_answer(sp)
    with ScriptedLLM(good) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        first = sp.scenes[0].id
        llm.script("artist", first, {"json": _flat(good("artist", first))}, {"json": good("artist", first)})
        code, data, err = plan(project, capsys)
        assert code == 0, err
        asked = [c for c in llm.calls("artist") if c["scene"] == first]
        assert len(asked) == 2  # the flat plan, then one more ask naming what to change
        text = json.dumps(asked[1]["messages"])
        assert "short-drama editor would still change" in text and "shot size" in text and "3 seconds" in text
        mine = [s for s in shots(project) if s["scene"] == first]
        assert {s["size"] for s in mine} != {"WS"}  # the better plan was kept
        assert any(f"scene {first}: craft" in n for n in data["notes"]), data["notes"]
        # a scene whose plan already scores well is not asked again
        others = [c for c in llm.calls("artist") if c["scene"] != first]
        assert len(others) == len(sp.scenes) - 1
    from director.shots import Shot

    flat = [Shot(**{**s, "size": "WS", "move": "static", "duration": 8.0}) for s in mine]
    assert craft_score(sp, flat)["total"] < craft_score(sp, [Shot(**s) for s in mine])["total"]


def _flat_then(project, sp, capsys, monkeypatch, *second) -> list[str]:
    """Plan with improve_craft on: the first scene answers a flat valid plan, then ``second`` (steps); the first
    scene must keep the flat plan. The plan's notes."""
    _with_craft(project, True)
    good = good_answer(sp)
    first = sp.scenes[0].id
    with ScriptedLLM(good) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        llm.script("artist", first, {"json": _flat(good("artist", first))}, *second)
        code, data, err = plan(project, capsys)
    assert code == 0, err
    assert all(s["duration"] == 8.0 for s in shots(project) if s["scene"] == first)
    return data["notes"]


def test_a_worse_second_plan_is_not_taken(project, sp, capsys, monkeypatch):
    flat = _flat(good_answer(sp)("artist", sp.scenes[0].id))
    notes = _flat_then(project, sp, capsys, monkeypatch,
                       {"json": {"shots": [{**s, "duration": 12.0} for s in flat["shots"]]}})
    assert any("kept the first plan" in n for n in notes), notes


def test_an_endpoint_failing_on_the_second_ask_keeps_the_valid_plan(project, sp, capsys, monkeypatch):
    notes = _flat_then(project, sp, capsys, monkeypatch, *[{"status": 503}] * 10)
    assert any("asking for a better one failed" in n for n in notes), notes


def test_one_max_token_field_and_a_schema_refusal_in_openai_s_words_tries_the_next_format(project, sp, capsys,
                                                                                          monkeypatch):
    """The LLM audit: every endpoint but api.openai.com was sent max_tokens and max_completion_tokens (Azure OpenAI
    and Volcengine Ark refuse the pair: no plan at all); OpenAI's own refusal of a schema ("... In context=(...)")
    read as a length problem and ended the plan instead of trying the next format."""
    refusal = ("Invalid schema for response_format 'ScenePlan': In context=('properties', 'prompt'), 'maxLength' "
               "is not permitted.")
    with ScriptedLLM(good_answer(sp), reject=("json_schema",), reject_message=refusal) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0 and data["planner"] == "llm", err
        assert all(r["max_completion_tokens"] is None and r["max_tokens"] for r in llm.calls())
        assert [r["format"] for r in llm.calls()].count("json_object") == 2


def test_a_failed_answer_is_asked_again_on_the_next_plan(project, sp, capsys, monkeypatch):
    """A failed answer (empty, cut off, unreadable) was cached for good: the next plan, `clean` and `plan --fresh`
    included, replayed it and planned the scene by the rules, with the server long fixed."""
    (project / "director.yaml").write_text((project / "director.yaml").read_text().replace("max_repairs: 2",
                                                                                           "max_repairs: 0"))
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"body": {"id": "x", "object": "chat.completion", "choices": None}})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0 and any("scene arrival: planned by the rules" in n for n in data["notes"]), data
        code, data, err = plan(project, capsys, "--fresh")
        assert code == 0 and not any("planned by the rules" in n for n in data["notes"]), data
        assert len([r for r in llm.calls() if r["scene"] == "arrival"]) == 2  # asked again, answered


def test_an_endpoint_that_wore_out_its_retries_is_not_asked_for_every_scene(project, sp, capsys, monkeypatch):
    """Each scene waited out every retry of an endpoint that was down (at the defaults, 5 x 600 s a scene); a
    billing 429 (insufficient_quota) was retried like a rate limit."""
    config = project / "director.yaml"
    config.write_text(config.read_text().replace("timeout: 1.5", "timeout: 0.5"), encoding="utf-8")  # (quicker)
    with ScriptedLLM(good_answer(sp)) as llm:
        for scene in ("arrival", "handoff"):
            llm.script("artist", scene, *[{"sleep": 1.0}] * 4)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        # one scene's four tries, then one try for the other (nothing saved: the list stays as it was)
        assert code == 4 and len(llm.calls()) == 5, (code, err, [r["scene"] for r in llm.calls()])
        assert "Plan again once it answers" in err, err
    with ScriptedLLM(good_answer(sp)) as llm:  # one slow scene: the other is still asked, and planned by the LLM
        llm.script("artist", "arrival", *[{"sleep": 1.0}] * 4)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys, "--fresh")
        assert code == 0 and [r["scene"] for r in llm.calls()].count("handoff") == 1, err
        assert any("scene arrival: planned by the rules" in n for n in data["notes"]), data
        assert not any("scene handoff: planned by the rules" in n for n in data["notes"]), data
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"status": 429, "code": "insufficient_quota", "error_type": "insufficient_quota",
                                         "message": "You exceeded your current quota, please check your plan."})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys, "--fresh")
        assert code == 4 and "no quota left" in err and KEY not in err, err
        assert len([r for r in llm.calls() if r["scene"] == "arrival"]) == 1


def test_planner_llm_asked_for_by_name_without_a_key_is_a_usage_error(project, sp, capsys, monkeypatch):
    """`plan --planner llm` with no key planned by the rules and replaced the LLM's shot list and its hand edits."""
    with ScriptedLLM(good_answer(sp)) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        assert plan(project, capsys)[0] == 0
    before = (project / "shots/screenplay.yaml").read_text()
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = plan(project, capsys, "--planner", "llm")
    assert code == 2 and "OPENAI_API_KEY" in err and "Traceback" not in err
    code, data, err = plan(project, capsys)  # from director.yaml: the LLM's list of this screenplay is kept
    assert code == 0 and any("kept the LLM's shot list" in n for n in data["notes"]), data
    assert (project / "shots/screenplay.yaml").read_text() == before


def test_reasoning_without_its_opening_tag_is_read_after_it():
    from director.plan.llm import json_text

    said = 'The shot should be {"size": "CU"} maybe. Let me plan.\n</think>\n{"shots": []}'
    assert json_text(said) == '{"shots": []}'


def test_a_ref_outside_the_scene_is_dropped_not_the_whole_answer(project, sp, capsys, monkeypatch):
    """On a server without a grammar, one `arrival/99` or another scene's ref failed the beat enum and the whole
    answer was thrown away: the scene was planned by the rules."""
    with ScriptedLLM(good_answer(sp)) as llm:
        answer = good_answer(sp)("artist", "arrival")
        answer["shots"][0]["beats"] = answer["shots"][0]["beats"] + ["arrival/99", "handoff/1", " arrival / 1 "]
        llm.script("artist", "arrival", {"json": answer})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0 and not any("planned by the rules" in n for n in data["notes"]), data
        assert len([r for r in llm.calls() if r["scene"] == "arrival"]) == 1  # read, not sent back
    planned = [s for s in shots(project) if s["scene"] == "arrival"]
    assert all(ref.startswith("arrival/") and ref != "arrival/99" for s in planned for ref in s["beats"])


def test_a_refusal_is_said_as_one(project, sp, capsys, monkeypatch):
    """OpenAI's `refusal` field (content null) was reported, and sent back to the model, as "Invalid JSON: EOF"."""
    refused = {"id": "chatcmpl-r", "object": "chat.completion", "created": 0, "model": "test-model",
               "choices": [{"index": 0, "finish_reason": "stop", "message": {
                   "role": "assistant", "content": None, "refusal": "I can't help with that request."}}],
               "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "arrival", {"body": refused})
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, data, err = plan(project, capsys)
        assert code == 0 and data["planner"] == "llm", err
        asked_again = [r for r in llm.calls() if r["scene"] == "arrival"][1]["messages"]
        said = " ".join(str(m.get("content")) for m in asked_again)
        assert "refused to answer: I can't help with that request." in said and "EOF" not in said, said
