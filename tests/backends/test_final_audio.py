"""Coqui voices and Stable Audio music through the real CLI: the license gate, the cache, the final profile."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from director.media.audio import write_wav
from director.media.probe import probe
from tests.conftest import director, make_project, needs

pytestmark = needs("TTS", "torchsde")


def _sample(path, pitch: float) -> None:
    rate = 16000
    t = np.arange(3 * rate) / rate
    write_wav(path, (0.25 * np.sign(np.sin(2 * np.pi * pitch * t)) * np.sin(2 * np.pi * 3 * t) ** 2)
              .astype(np.float32), rate)


def _audio_project(tmp_path, tiny):
    """The short project with voice samples, two music cues, Coqui (VITS + OpenVoice) and Stable Audio."""
    project = make_project(tmp_path, size=(72, 128))
    (project / "refs").mkdir()
    _sample(project / "refs" / "ana.wav", 210.0)
    _sample(project / "refs" / "bo.wav", 110.0)
    path = project / "screenplay.yaml"
    sp = yaml.safe_load(path.read_text())
    sp["characters"]["ana"]["voice"] = {"sample": "refs/ana.wav"}
    sp["characters"]["bo"]["voice"] = {"preset": "male_deep", "sample": "refs/bo.wav"}
    sp["scenes"][1]["beats"].insert(0, {"music": {"mood": "hopeful", "intensity": 0.4}})
    path.write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"] = {
        "voice": {"backend": "coqui-tts", "model": str(tiny("tiny_vits")), "vc_model": str(tiny("openvoice_converter"))},
        "music": {"backend": "stable-audio", "model": str(tiny("stable_audio")), "steps": 2, "device": "cpu"},
    }
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return project


def _ran(project, stage: str) -> list[str]:
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    return sorted(j["id"] for j in record["jobs"] if j["stage"] == stage and j["status"] == "ran")


def test_cloned_voices_and_music_render_and_edits_redo_only_what_they_touch(tiny, tmp_path):
    project = _audio_project(tmp_path, tiny)
    director("-p", str(project), "render", check=True)
    assert len(_ran(project, "voice")) == 3 and len(_ran(project, "music")) == 2  # 2 lines + narration; 2 cues
    episode = probe(project / "out" / "screenplay" / "episode.mp4")
    assert episode["audio"] and episode["video"]["width"] == 72

    out = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert all(s["ran"] == 0 for s in out["stages"].values()), out["stages"]  # everything cached

    # two edits in one render (each render loads the stacks: ~10 s): a new sample for Ana only, and the second
    # cue's mood; each redoes only its own job (Ana's line, not Bo's one/3; that cue, not the first)
    _sample(project / "refs" / "ana.wav", 260.0)
    path = project / "screenplay.yaml"
    sp = yaml.safe_load(path.read_text())
    sp["scenes"][1]["beats"][0]["music"]["mood"] = "sad"
    path.write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    assert _ran(project, "voice") == ["one/2"] and len(_ran(project, "music")) == 1


def test_xtts_without_license_ack_exits_4_naming_the_license(tmp_path):
    project = make_project(tmp_path)
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"] = {"voice": {"backend": "coqui-tts", "model": "tts_models/multilingual/multi-dataset/xtts_v2"}}
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = director("-p", str(project), "render")
    assert proc.returncode == 4 and "Traceback" not in proc.stderr
    assert "Coqui Public Model License (CPML)" in proc.stderr and "license_ack: noncommercial" in proc.stderr
    sp = project / "screenplay.yaml"  # the screenplay's (or its bible's) acknowledgement counts too: it was ignored
    sp.write_text("license_ack: noncommercial\n" + sp.read_text(encoding="utf-8"), encoding="utf-8")
    acked = director("-p", str(project), "render")
    assert "Coqui Public Model License (CPML)" not in acked.stderr, acked.stderr


@pytest.mark.slow  # opt-in (make test-slow): 13 s; the XTTS gate is also tested above and in test_audio_conformance
def test_local_xtts_weights_are_gated_too_and_render_with_the_acknowledgement(tiny, tmp_path):
    project = _audio_project(tmp_path, tiny)
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"]["voice"] = {"backend": "coqui-tts", "model": str(tiny("tiny_xtts"))}  # a folder, not a name
    cfg["backends"].pop("music")
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = director("-p", str(project), "render")
    assert proc.returncode == 4 and "Coqui Public Model License (CPML)" in proc.stderr
    cfg["license_ack"] = "noncommercial"
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    director("-p", str(project), "render", check=True)
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    voiced = {j["id"]: j for j in record["jobs"] if j["stage"] == "voice" and j["status"] == "ran"}
    assert sorted(voiced) == ["one/2", "one/3", "two/4"]  # Ana, Bo (cloned), the narrator (a studio speaker)


FINAL_MODELS = {"Qwen/Qwen-Image-Edit-2509", "openai/clip-vit-base-patch32", "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
                "tts_models/en/vctk/vits", "myshell-ai/OpenVoiceV2", "stabilityai/stable-audio-open-1.0"}
# the draft tier (the default) swaps in step-distilled weights: the Lightning LoRA and FastWan
DRAFT_MODELS = FINAL_MODELS - {"Wan-AI/Wan2.2-TI2V-5B-Diffusers"} | {
    "lightx2v/Qwen-Image-Lightning", "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers"}


def test_final_profile_without_models_names_exactly_the_missing_ones(tmp_path):
    project = make_project(tmp_path)
    proc = director("-p", str(project), "render", "--profile", "final")
    assert proc.returncode == 4, proc.stderr
    # the fix as typed: the project's own profile is preview, whose `models pull` fetches nothing
    assert "Traceback" not in proc.stderr and "`director models --profile final pull`" in proc.stderr
    assert "`director models pull`" not in proc.stderr
    voice = next(line for line in proc.stderr.splitlines() if line.strip().startswith("voice (coqui-tts):"))
    music = next(line for line in proc.stderr.splitlines() if line.strip().startswith("music (stable-audio):"))
    assert set(re.findall(r"([\w./-]+) \(voice(?: conversion)?\)", voice)) == {"tts_models/en/vctk/vits",
                                                                           "myshell-ai/OpenVoiceV2"}
    assert re.findall(r"([\w./-]+) \(music\)", music) == ["stabilityai/stable-audio-open-1.0"]
    assert "not installed" not in proc.stderr  # every final-profile backend is registered

    rows = json.loads(director("-p", str(project), "--json", "models", "--profile", "final", check=True).stdout)
    rows = rows["models"] if isinstance(rows, dict) else rows
    assert {r["id"] for r in rows} == DRAFT_MODELS and not any(r["local"] for r in rows)
    (project / "director.yaml").write_text((project / "director.yaml").read_text() + "tier: quality\n")
    assert {r["id"]: r["commercial"] for r in rows}["stabilityai/stable-audio-open-1.0"] == "conditional"
    quality = json.loads(director("-p", str(project), "--json", "models", "--profile", "final", check=True).stdout)
    assert {r["id"] for r in quality["models"]} == FINAL_MODELS


def test_status_and_export_of_the_final_profile_need_no_weights_here(tmp_path):
    """An editor's laptop given a GPU-rendered project could not export it: `export --profile final` stopped at
    "model(s) not on this machine" (~86 GiB of weights) although an export only reads the cache by keys, which
    the configuration alone makes. Status says what a render here would need, and goes on."""
    project = make_project(tmp_path)
    status = director("-p", str(project), "--json", "status", "--profile", "final")
    assert status.returncode == 0, status.stderr
    said = json.loads(status.stdout)
    assert any("a render on this machine would stop here" in n and "not on this machine" in n
               for n in said["notes"]), said["notes"]
    export = director("-p", str(project), "export", "-f", "otio", "--profile", "final")
    assert export.returncode != 0 and "not on this machine" not in export.stderr, export.stderr
    assert "render" in export.stderr and "Traceback" not in export.stderr
