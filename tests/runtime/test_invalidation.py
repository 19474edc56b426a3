"""Editing one line re-renders that line's voice, its shot's timing, subtitles, mix and assembly."""
from __future__ import annotations

import json

from tests.conftest import director


def _status(project) -> dict[tuple[str, str], dict]:
    out = director("-p", str(project), "--json", "status", check=True)
    return {(r["stage"], r["id"]): r for r in json.loads(out.stdout)["jobs"]}


def test_one_line_edit_touches_exactly_what_depends_on_it(small_project):
    first = json.loads(director("-p", str(small_project), "--json", "render", check=True).stdout)
    assert first["ran"] > 0
    again = json.loads(director("-p", str(small_project), "--json", "render", check=True).stdout)
    assert again["ran"] == 0 and again["reused"] == first["ran"]  # nothing changed: everything reused

    sp = small_project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since last Tuesday, actually."))
    status = _status(small_project)
    not_cached = {k: v for k, v in status.items() if v["status"] != "cached"}
    assert status[("voice", "one/3")]["reason"] == "line text changed"
    assert {k for k in not_cached if k[0] == "voice"} == {("voice", "one/3")}
    assert not [k for k in not_cached if k[0] == "keyframes"]
    shot = status[("voice", "one/3")]["shot"]
    assert status[("timing", shot)]["status"] == "waits" and "voice one/3" in status[("timing", shot)]["reason"]
    assert {k for k in not_cached if k[0] == "timing"} == {("timing", shot)}
    assert {k[1] for k in not_cached if k[0] == "clips"} <= {shot}
    for stage in ("subtitles", "mix", "assemble"):
        assert any(k[0] == stage for k in not_cached)
    # the counts, the same on the terminal and in --json: what will run apart from what waits on it
    counts = json.loads(director("-p", str(small_project), "--json", "status", check=True).stdout)
    runs = sum(1 for v in status.values() if v["status"] == "runs")
    waits = sum(1 for v in status.values() if v["status"] == "waits")
    assert (counts["to_run"], counts["waiting"], counts["cached"]) == (runs, waits, len(status) - runs - waits)
    assert runs >= 1 and waits >= 1
    said = director("-p", str(small_project), "status", check=True).stdout.strip().splitlines()[-1]
    assert said == f"{len(status) - runs - waits} cached, {runs} to run, {waits} more only if what they wait on " \
                   "changes them", said

    rerun = json.loads(director("-p", str(small_project), "--json", "render", check=True).stdout)
    record = json.loads(open(rerun["record"]).read())
    ran = {name: set(s["ran"]) for name, s in record["stages"].items()}
    # a longer line moves the scenes' room tone: said as that (it said "scenes or locations changed")
    mixed = next(j["reason"] for j in record["jobs"] if j["stage"] == "mix")
    assert "dialogue changed" in mixed and "scene times changed" in mixed and "locations" not in mixed, mixed
    assert ran["voice"] == {"one/3"} and ran["keyframes"] == set() and ran["timing"] == {shot}
    assert ran["clips"] <= {shot}
    assert ran["subtitles"] == ran["mix"] == ran["assemble"] == {"episode"}
    # the picture: the edited shot's segment (and a dissolve out of it) is re-encoded; the others are joined
    # as they were, although every later shot now starts later
    assert shot in ran["segments"] and all(s == shot or s.endswith(".in") for s in ran["segments"])
    assert len(ran["segments"]) <= 2 < len(record["stages"]["segments"]["ran"]) + record["stages"]["segments"]["cached"]
    after = _status(small_project)
    assert after and all(r["status"] == "cached" for r in after.values())
    # what status foresaw is what the render made: the dissolve's own segment included (it said one fewer)
    assert any(k[1].endswith(".in") for k in after if k[0] == "segments")
    assert sorted(k for k in status if k[0] == "segments") == sorted(k for k in after if k[0] == "segments")


def test_a_project_never_rendered_runs_every_job_whatever_it_waits_on(small_project):
    """Nothing of a fresh project is cached, so a job waiting on another's result runs all the same: status said
    "0 cached, 7 to run, 22 more only if what they wait on changes them" for a render that ran all 29."""
    status = _status(small_project)
    assert status and all(r["status"] == "runs" for r in status.values())
    assert status[("clips", next(k[1] for k in status if k[0] == "clips"))]["reason"].startswith("never rendered (after ")
    assert director("-p", str(small_project), "status", check=True).stdout.strip().splitlines()[-1] == \
        f"0 cached, {len(status)} to run"


def test_changing_a_seed_rerenders_that_shot_only(small_project):
    director("-p", str(small_project), "render", check=True)
    import yaml

    path = small_project / "shots/screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["shots"][0]["seed"] += 1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    status = _status(small_project)
    first = data["shots"][0]["id"]
    assert status[("keyframes", first)]["reason"] == "seed changed"
    assert [k for k, v in status.items() if k[0] == "keyframes" and v["status"] != "cached"] == [("keyframes", first)]
    assert {k[1] for k, v in status.items() if k[0] == "segments" and v["status"] != "cached"} <= {first, "*"}
    assert status[("segments", data["shots"][1]["id"])]["status"] == "cached"
    # the shot before a dissolve: the dissolve's segment waits on its clip, the next shot's own segment does not
    into = next(i for i, s in enumerate(data["shots"]) if i > 0 and s["transition"] == "dissolve")
    data["shots"][into - 1]["seed"] += 1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    status = _status(small_project)
    after = data["shots"][into]["id"]
    assert status[("segments", f"{after}.in")]["status"] == "waits" and status[("segments", after)]["status"] == "cached"
    segments = [k[1] for k in status if k[0] == "segments"]
    assert segments.index(f"{after}.in") + 1 == segments.index(after)  # in the episode's order


def test_a_render_with_nothing_to_do_rewrites_nothing_but_puts_back_what_was_removed(small_project):
    director("-p", str(small_project), "render", check=True)
    out = small_project / "out/screenplay"
    files = ["episode.mp4", "episode.srt", "episode.ass", "storyboard.png", "storyboard.html"]
    before = {name: (out / name).stat().st_mtime_ns for name in files}
    director("-p", str(small_project), "render", check=True)
    assert {name: (out / name).stat().st_mtime_ns for name in files} == before  # published already, untouched
    (out / "episode.mp4").unlink()
    (out / "episode.srt").write_text("edited by hand\n")
    (out / "storyboard.png").unlink()
    director("-p", str(small_project), "render", check=True)
    assert (out / "episode.mp4").stat().st_size > 0 and (out / "storyboard.png").exists()
    assert (out / "episode.srt").read_text() != "edited by hand\n"  # out/ is what the cache holds, again


def test_an_emotion_edit_is_the_reason_said_for_its_keyframe(small_project):
    """The panel shows who speaks and how: an emotion edit re-draws it, and status said "action or speaker changed"."""
    director("-p", str(small_project), "render", "--until", "keyframes", check=True)
    director("-p", str(small_project), "line", "one/3", "--emotion", "sad", check=True)
    status = _status(small_project)
    redrawn = [r for (stage, _), r in status.items() if stage == "keyframes" and r["status"] == "runs"]
    assert len(redrawn) == 1 and "emotion changed" in redrawn[0]["reason"], redrawn


def test_an_episode_without_music_is_said_to_need_no_music_job(small_project):
    """The Chinese studio's audit: status said `music * runs: never rendered` for an episode with no music cue (the
    cue list asked for the timing first); the render then made none."""
    path = small_project / "screenplay.yaml"
    text = path.read_text(encoding="utf-8")
    assert "- music:\n      mood: tense\n" in text
    path.write_text(text.replace("  - music:\n      mood: tense\n", ""), encoding="utf-8")
    assert not [k for k in _status(small_project) if k[0] == "music"]
