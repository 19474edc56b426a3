"""`director doctor`: what this machine lacks for the profile, and the command that fixes each."""
from __future__ import annotations

import json

from tests.conftest import director, make_project


def test_preview_is_ready_anywhere(tmp_path):
    project = make_project(tmp_path)
    proc = director("-p", str(project), "doctor")
    assert proc.returncode == 0 and "ready" in proc.stdout


def test_final_names_what_is_missing_with_the_fix_and_exits_4(tmp_path):
    project = make_project(tmp_path)
    # no espeak-ng on the PATH: the phoneme voices' program is checked too (one doctor run: each imports the stacks)
    proc = director("-p", str(project), "--json", "doctor", "--profile", "final", env={"PATH": "/nonexistent"})
    assert proc.returncode == 4, proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["espeak-ng"]["ok"] is False and "apt-get install espeak-ng" in checks["espeak-ng"]["fix"]
    assert checks["imports: diffusion"]["ok"] and checks["imports: coqui"]["ok"]  # stacks import in a fresh process
    assert not checks["models"]["ok"] and checks["models"]["fix"] == "director models --profile final pull"  # as typed: the project's own profile is preview
    assert "Qwen/Qwen-Image-Edit-2509" in checks["models"]["detail"]
    import torch
    if not torch.cuda.is_available():
        assert not checks["CUDA"]["ok"] and "make gpu" in checks["CUDA"]["fix"]
    assert "Traceback" not in proc.stderr


def test_validate_warns_when_the_profiles_voice_cannot_speak_the_screenplays_language(tmp_path):
    from tests.conftest import ROOT
    project = make_project(tmp_path, ROOT / "projects/zh-demo", size=None)
    config = project / "director.yaml"
    config.write_text(config.read_text().replace("profile: preview", "profile: final"))
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 0 and "warning:" in proc.stderr and "speaks en only" in proc.stderr
    assert "zh-CN" in proc.stderr
    config.write_text(config.read_text().replace("profile: final", "profile: preview"))
    assert "speaks" not in director("-p", str(project), "validate").stderr  # eSpeak speaks Chinese


def test_doctor_says_the_license_and_the_voices_language_before_any_render(tmp_path):
    """A non-commercial model without license_ack was refused only at render (after the other models had been
    fetched); the zh-CN episode's English-only final voice was said only with `profile: final` in director.yaml."""
    import yaml

    from tests.conftest import ROOT
    project = make_project(tmp_path, ROOT / "projects/zh-demo", size=None)
    config = project / "director.yaml"
    data = yaml.safe_load(config.read_text())
    data["backends"] = {"keyframes": {"backend": "flux-kontext"}}
    config.write_text(yaml.safe_dump(data))
    proc = director("-p", str(project), "--json", "doctor", "--profile", "final")
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert not checks["licenses"]["ok"] and "FLUX.1 [dev] Non-Commercial" in checks["licenses"]["detail"]
    assert "license_ack: noncommercial" in checks["licenses"]["fix"]
    assert "speaks en only" in checks["voice language"]["detail"] and "xtts_v2" in checks["voice language"]["fix"]
    pull = director("-p", str(project), "models", "--profile", "final", "pull")  # refused before any fetch
    assert pull.returncode == 4 and "Non-Commercial" in pull.stderr and "could not fetch" not in pull.stderr
    plain = make_project(tmp_path / "plain")
    assert "needs no models" in director("-p", str(plain), "models", "pull").stdout  # and names the final's command
