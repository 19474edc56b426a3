"""Screenplay keys that were accepted and then ignored: ``scene.description`` and ``voice.styles``."""
from __future__ import annotations

import shutil

import yaml

from director.project import Project
from director.runtime.render import explain
from tests.conftest import ROOT, director


def _demo(tmp_path, change) -> Project:
    project = tmp_path / "demo"
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return Project.find(project)


def test_a_scenes_description_reaches_its_shots_prompts(tmp_path):
    def change(data):
        data["scenes"][1]["description"] = "papers scattered on the floor after the raid"
    project = _demo(tmp_path, change)
    director("-p", str(project.root), "plan", check=True)
    shots = yaml.safe_load((project.root / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert all(("papers scattered" in s["prompt"]) == (s["scene"] == "handoff") for s in shots), shots


def test_an_emotion_with_a_clip_of_its_own_is_cloned_from_it(tmp_path):
    """``voice.styles: {angry: clip}``: a cloning voice speaks an angry line from that clip, others from the
    sample (it was validated and never read)."""
    from director.stages.voice import _style_clip

    def change(data):
        data["characters"]["mia"]["voice"]["styles"] = {"愤怒": "refs/mia.wav"}  # read through the vocabulary
    project = _demo(tmp_path, change)
    ctx, _, _ = explain(project)
    assert _style_clip(ctx, "mia", "angry") == str((project.root / "refs" / "mia.wav").resolve())
    assert _style_clip(ctx, "mia", "calm") is None and _style_clip(ctx, "ren", "angry") is None
