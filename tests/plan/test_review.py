"""The continuity reviewer (llm.review_keyframes) over the real langchain-openai stack and a local scripted server
that takes images: a rejected keyframe is made again once with the corrected prompt, and every verdict is kept."""
from __future__ import annotations

import json

import pytest
import yaml

from director.cli.main import run
from tests.conftest import ROOT, director, make_project
from tests.llm_server import ScriptedLLM

KEY = "sk-test-REVIEW-5678"
FIXED = "Ren, soaked grey suit, alone in the rain at the shop door, medium close-up at eye level"


def matches(agent: str, shot: str) -> dict:
    return {"matches": True, "characters_present": [], "problems": [], "corrected_prompt": ""}


@pytest.fixture
def project(tmp_path, monkeypatch):
    path = make_project(tmp_path, ROOT / "projects/demo")
    config = yaml.safe_load((path / "director.yaml").read_text())
    config["llm"] = {"review_keyframes": True, "backoff": 0.01, "timeout": 5, "max_retries": 1}
    (path / "director.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DIRECTOR_LLM_MODEL", "test-vision-model")
    return path


def _render(project, capsys) -> tuple[int, dict, str]:
    code = run(["-p", str(project), "--json", "render"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else {}), out.err


def _record(result: dict) -> dict:
    return json.loads(open(result["record"]).read())


def test_a_rejected_keyframe_is_made_again_with_the_corrected_prompt_and_the_verdicts_are_kept(project, capsys,
                                                                                              monkeypatch):
    with ScriptedLLM(matches) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        llm.script("reviewer", "arrival-01",
                   {"json": {"matches": False, "characters_present": [], "problems": ["Ren is not in the frame"],
                             "corrected_prompt": FIXED}},
                   {"json": {"matches": True, "characters_present": ["ren"], "problems": [], "corrected_prompt": ""}})
        code, result, err = _render(project, capsys)
        assert code == 0, err
        calls = llm.calls("reviewer")
        shots = [s["id"] for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]]
        assert sorted({c["scene"] for c in calls}) == sorted(shots)  # every keyframe was looked at
        first = [c for c in calls if c["scene"] == "arrival-01"]
        assert len(first) == 2  # rejected, made again once, reviewed again
        assert FIXED not in first[0]["text"] and FIXED in first[1]["text"]
        assert all(c["images"] and c["images"][0].startswith("data:image/jpeg;base64,") for c in calls)
        assert any(len(c["images"]) > 1 for c in calls)  # the characters' reference sheets go with the keyframe
        assert all(c["auth"] == f"Bearer {KEY}" for c in calls) and KEY not in json.dumps(_record(result))

        jobs = {j["id"]: j for j in _record(result)["jobs"] if j["stage"] == "keyframes"}
        review = jobs["arrival-01"]["info"]["review"]
        assert review["matches"] and review["regenerated"] == 1 and review["prompt"] == FIXED
        assert [v["matches"] for v in review["verdicts"]] == [False, True]
        assert review["verdicts"][0]["problems"] == ["Ren is not in the frame"]
        assert all(j["info"]["review"]["regenerated"] == 0 for i, j in jobs.items() if i != "arrival-01")
        board = (project / "out/screenplay/storyboard.html").read_text()
        assert "review: matches, made again 1x" in board

        before = len(llm.calls("reviewer"))
        code, again, err = _render(project, capsys)  # nothing changed: no keyframe is made or reviewed again
        assert code == 0 and again["ran"] == 0 and len(llm.calls("reviewer")) == before, err
    monkeypatch.delenv("OPENAI_API_KEY")  # status needs no endpoint: the review is part of the keys by config
    assert run(["-p", str(project), "--json", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["to_run"] == 0


@pytest.mark.parametrize("refusal", ["image input is not supported by this model",
                                     "test-model is not a multimodal model None"])  # vLLM's own words
def test_a_server_without_vision_is_noted_and_the_render_goes_on(project, capsys, monkeypatch, refusal):
    """vLLM's refusal names no image: it was read as a refusal of the answer's format, every format was tried for
    every keyframe (28 requests), and the render failed."""
    with ScriptedLLM(matches, blind=True, blind_message=refusal) as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        code, result, err = _render(project, capsys)
        assert code == 0, err
        assert any("keyframe review skipped" in n and "images" in n for n in result["notes"]), result["notes"]
        assert len(llm.calls("reviewer")) <= 2  # found out once per render, not once per shot and retry


def test_review_without_an_endpoint_is_a_usage_error(project, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    assert run(["-p", str(project), "render"]) == 2
    err = capsys.readouterr().err
    assert "llm.review_keyframes is on" in err and "OPENAI_API_KEY" in err


def test_a_server_that_keeps_failing_fails_the_keyframes_cleanly_and_an_unusable_verdict_keeps_the_picture(
        project):
    """A reviewer that kept answering 500 crashed the render ("internal error: RetriesExhausted"); a reply that
    is no verdict failed its keyframe. Now: an outage fails the keyframes (nothing is kept as reviewed) with the
    way out, asking once, not once per shot; an unusable reply keeps the picture, noted."""
    def render(llm, *args):
        env = {"OPENAI_API_KEY": KEY, "DIRECTOR_LLM_MODEL": "test-vision-model", "OPENAI_BASE_URL": llm.url}
        return director("-p", str(project), *args, env=env, timeout=300)

    with ScriptedLLM(matches) as llm:
        assert render(llm, "plan").returncode == 0
        shots = [s["id"] for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]]
        for shot in shots:
            llm.script("reviewer", shot, *[{"status": 500, "message": "boom"}] * 10)
        proc = render(llm, "render")
        assert proc.returncode == 1 and "internal error" not in proc.stderr and "Traceback" not in proc.stderr
        assert "did not answer the keyframe review" in proc.stderr and "review_keyframes: false" in proc.stderr
        assert len(llm.calls("reviewer")) <= 2 * 2  # one shot's tries (max_retries 1), maybe one more in flight
    with ScriptedLLM(matches) as llm:
        llm.script("reviewer", shots[0], *[{"raw": "I'm sorry, I can't help with that.", "status": 200,
                                             "content_type": "text/plain"}] * 6)
        proc = render(llm, "--json", "render")
        assert proc.returncode == 0, proc.stderr
        notes = json.loads(proc.stdout)["notes"]
        assert any("review skipped" in n and "unusable" in n for n in notes), notes
