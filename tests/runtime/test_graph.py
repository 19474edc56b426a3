"""The job graph: stages overlap, a failed job skips exactly its dependents, and the keys are the same as the
stage-by-stage walk's (so nothing cached before the scheduler is rendered again)."""
from __future__ import annotations

import json
import shutil

import pytest

from director.errors import StageFailed
from director.project import Project
from director.runtime.engine import Selection, StateIndex, execute
from director.runtime.render import prepare, render
from tests.conftest import ROOT, make_project


def _records(project):
    return json.loads((project / "out" / "screenplay" / "run.json").read_text())["jobs"]


def test_the_graph_makes_the_same_artifacts_as_the_stage_walk(tmp_path):
    graph = make_project(tmp_path / "g", ROOT / "projects" / "demo", size=(108, 192))
    walk = tmp_path / "w"
    shutil.copytree(graph, walk)
    render(Project.find(graph))
    project = Project.find(walk)
    ctx, _ = prepare(project, None, None, explain=False)
    execute(ctx, StateIndex(project.state_file("state", "screenplay.json")), Selection(), None, 2, graph=False)
    keys = lambda root: sorted(p.parent.name for p in (root / ".director" / "cache").rglob("manifest.json"))  # noqa: E731
    assert keys(graph) == keys(walk) and len(keys(graph)) > 20


def test_stages_overlap_and_each_job_records_its_interval(tmp_path):
    project = make_project(tmp_path, ROOT / "projects" / "demo", size=(108, 192))
    (project / "director.yaml").write_text((project / "director.yaml").read_text() + "workers: 2\n")
    render(Project.find(project))
    jobs = [j for j in _records(project) if j["status"] == "ran"]
    assert all({"start", "end", "resource"} <= set(j["info"]) for j in jobs)
    span = {stage: (min(j["info"]["start"] for j in jobs if j["stage"] == stage),
                    max(j["info"]["end"] for j in jobs if j["stage"] == stage)) for stage in {j["stage"] for j in jobs}}
    # voices do not wait for every keyframe; subtitles (which need only timing) do not wait for every clip
    assert span["voice"][0] < span["keyframes"][1]
    assert span["subtitles"][0] < span["clips"][1]
    by = {(j["stage"], j["id"]): j["info"] for j in jobs}
    for (stage, shot), info in by.items():  # and no clip starts before its own keyframe and timing exist
        if stage == "clips":
            assert info["start"] >= by[("keyframes", shot)]["end"] and info["start"] >= by[("timing", shot)]["end"]


def test_a_failed_job_skips_exactly_its_dependents_and_names_them(tmp_path, monkeypatch):
    from director.backends.preview import voice

    project = make_project(tmp_path)
    real = voice.EspeakBackend.synthesize

    def synthesize(self, req, out):
        if "Tuesday" in req.text:
            raise StageFailed("the voice engine choked on this line")
        return real(self, req, out)
    monkeypatch.setattr(voice.EspeakBackend, "synthesize", synthesize)
    outcome = render(Project.find(project))
    records = outcome.result.records
    failed = [r for r in records if r.status == "failed"]
    assert [(r.stage, r.id) for r in failed] == [("voice", "one/3")]
    shot = failed[0].shot
    skipped = {(r.stage, r.id): r.reason for r in records if r.status == "skipped"}
    assert skipped[("timing", shot)] == "skipped: depends on voice one/3, which failed"
    assert ("clips", shot) in skipped and ("assemble", "episode") in skipped
    ran = {(r.stage, r.id) for r in records if r.status in ("ran", "cached")}
    others = [s.id for s in outcome_shots(project) if s.id != shot]
    assert all(("clips", s) in ran and ("keyframes", s) in ran for s in others)  # the rest finished
    assert ("voice", "one/2") in ran


def outcome_shots(project):
    from director.shots import load_shot_list
    return load_shot_list(project / "shots" / "screenplay.yaml").shots


@pytest.mark.parametrize("until", ["voice", "timing"])
def test_until_stops_the_graph_at_that_stage(tmp_path, until):
    project = make_project(tmp_path)
    outcome = render(Project.find(project), selection=Selection(until=until))
    stages = {r.stage for r in outcome.result.records}
    assert until in stages and "clips" not in stages and "assemble" not in stages


def test_a_series_renders_with_all_and_each_model_loads_once(tmp_path):
    import yaml

    from tests.conftest import director

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests" / "data" / "series", project, ignore=shutil.ignore_patterns("shots", ".director"))
    bible = yaml.safe_load((project / "series.yaml").read_text())
    bible["format"] = {"aspect": "9:16", "width": 108, "height": 192, "fps": 24}
    (project / "series.yaml").write_text(yaml.safe_dump(bible, sort_keys=False, allow_unicode=True))
    third = (project / "episodes" / "ep02.yaml").read_text()
    (project / "episodes" / "ep03.yaml").write_text(third.replace("Is that for me?", "Is that one for me?"))
    out = json.loads(director("-p", str(project), "--json", "render", "--all", check=True).stdout)
    assert [e["episode"] for e in out["episodes"]] == ["ep01", "ep02", "ep03"]
    for name in ("ep01", "ep02", "ep03"):
        assert (project / "out" / name / "episode.mp4").exists()
    made: dict = {}  # an artifact two episodes share (the cast's sheets, ep03's unchanged lines) is made once
    for name in ("ep01", "ep02", "ep03"):
        for job in json.loads((project / "out" / name / "run.json").read_text())["jobs"]:
            if job["status"] == "ran":
                made.setdefault((job["stage"], job["key"]), []).append(name)
    assert all(len(names) == 1 for names in made.values()), {k: v for k, v in made.items() if len(v) > 1}
    assert any(s == "refs" for s, _ in made) and sum(1 for s, _ in made if s == "clips") < 3 * 4
    events = json.loads((project / "out" / "ep03" / "run.json").read_text())["models"]
    loads = [e["kind"] for e in events if e["event"] == "load"]
    assert sorted(loads) == sorted(set(loads)), loads  # one load per backend kind for the whole series
    again = json.loads(director("-p", str(project), "--json", "render", "--episode", "ep01,ep03", check=True).stdout)
    assert all(e["ran"] == 0 for e in again["episodes"])


def test_three_simulated_devices_share_the_gpu_work_each_loading_a_model_at_most_once(tmp_path, monkeypatch):
    """devices: [sim:0, sim:1, sim:2] with keyframes, video and music as GPU work (simulated devices run the same
    backends; each builds its own copy of a kind's models, as a CUDA device would)."""
    from director.runtime import scheduler

    monkeypatch.setattr(scheduler, "resource_of", lambda ctx, stage, remote=False: getattr(stage, "resource", "") or (
        "gpu" if stage.backend_kind in ("keyframes", "video", "music") else "cpu"))
    project = make_project(tmp_path, ROOT / "projects" / "demo", size=(108, 192))
    (project / "director.yaml").write_text((project / "director.yaml").read_text() +
                                           "devices: [sim:0, sim:1, sim:2]\nworkers: 2\n")
    render(Project.find(project))
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    loads = [(e["kind"], e["device"]) for e in record["models"] if e["event"] == "load"]
    assert len(loads) == len(set(loads)), loads  # each device loads each kind at most once
    held: dict = {}
    for e in record["models"]:  # and a device never holds two kinds' models at once
        if e["kind"] not in ("keyframes", "video", "music"):
            continue
        if e["event"] == "load":
            assert held.get(e["device"]) is None, (e, held)
            held[e["device"]] = e["kind"]
        elif held.get(e["device"]) == e["kind"]:
            held[e["device"]] = None
    gpu = [j for j in record["jobs"] if j["status"] == "ran" and j["info"].get("resource") == "gpu"]
    assert len({j["info"]["device"] for j in gpu}) >= 2  # spread over the devices
    voices = [(j["info"]["start"], j["info"]["end"]) for j in record["jobs"]
              if j["status"] == "ran" and j["stage"] == "voice"]
    assert any(vs < j["info"]["end"] and j["info"]["start"] < ve for vs, ve in voices for j in gpu)


def test_a_missing_subtitle_font_stops_the_render_before_any_job_runs(tmp_path, monkeypatch):
    """Seen on a GPU machine: the font's absence surfaced at the subtitles, after the keyframes had been made."""
    from director.errors import BackendUnavailable
    from director.media import fonts

    project = make_project(tmp_path, ROOT / "projects" / "demo", size=(108, 192))
    monkeypatch.setattr(fonts, "FONT_PACKAGE", "no_such_font_package")
    fonts.font_path.cache_clear()
    try:
        with pytest.raises(BackendUnavailable, match="font"):
            render(Project.find(project))
    finally:
        fonts.font_path.cache_clear()
    made = Project.find(project).cache_dir
    assert not made.exists() or not any(p.name == "manifest.json" for p in made.rglob("*")), "a job ran"
