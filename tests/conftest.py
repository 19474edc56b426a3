"""Shared fixtures: real processes, real files, small projects."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.zygote import ZYGOTE

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def needs(*modules: str):
    """A module's skip where a package is missing, found without importing it: ``pytest.importorskip`` at module
    level imported diffusers and TTS in every xdist worker's collection (~5 s each), for files one worker runs."""
    from importlib.util import find_spec

    missing = [m for m in modules if find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


def director(*args: str, cwd: Path | None = None, check: bool = False, timeout: float = 600,
             env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `director` command as a user would (a separate process); ``stdin`` is piped into it. The
    process is forked from a warm one that has done the imports (tests/zygote.py), or started fresh where that
    cannot stand in for a fresh interpreter."""
    full = {**os.environ, **(env or {})}
    proc = ZYGOTE.run(list(args), cwd, full, stdin, timeout)
    if proc is None:
        proc = subprocess.run([sys.executable, "-m", "director", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=full, input=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"director {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_project(tmp: Path, source: Path = DATA / "short", size: tuple[int, int] | None = (216, 384)) -> Path:
    """Copy a project into ``tmp``; shrink its frame size so renders take seconds."""
    dest = tmp / source.name
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    if size is not None:
        path = dest / "screenplay.yaml"
        data = yaml.safe_load(path.read_text())
        data["format"] = {"aspect": "9:16", "width": size[0], "height": size[1], "fps": 24}
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return dest


def planned_with_a_hand_edit(tmp: Path, prompt: str = "MY CAREFUL HAND-WRITTEN PROMPT") -> tuple[Path, Path, dict]:
    """A small project planned, then its first shot's prompt edited by hand (not locked): (project, the shot
    list's path, the shot list as edited)."""
    project = make_project(tmp)
    director("-p", str(project), "plan", check=True)
    shots_file = project / "shots/screenplay.yaml"
    data = yaml.safe_load(shots_file.read_text())
    data["shots"][0]["prompt"] = prompt
    shots_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return project, shots_file, data


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture(scope="session")
def rendered_full(tmp_path_factory) -> Path:
    """The short screenplay rendered once at 1080x1920, shared by the output checks."""
    project = make_project(tmp_path_factory.mktemp("full"), size=None)
    director("-p", str(project), "render", check=True)
    return project


class TinyModels:
    """Tiny random-weight models built once per test session (director.testing.pipelines/voices), by name."""

    def __init__(self, root: Path):
        self.root, self.built = root, {}

    def __call__(self, name: str, *args) -> Path:
        if name not in self.built:
            from director.testing import pipelines, voices
            build = getattr(pipelines, name, None) or getattr(voices, name)
            self.built[name] = build(self.root / name, *args)
        return self.built[name]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyModels:
    pytest.importorskip("diffusers")
    return TinyModels(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    """No test reaches a model hub: an empty Hugging Face cache, offline mode."""
    hf = tmp_path_factory.getbasetemp() / "hf-home"
    monkeypatch.setenv("HF_HOME", str(hf))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TTS_HOME", str(hf / "tts"))
