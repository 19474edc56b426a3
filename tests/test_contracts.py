"""The typed contracts between stages and backends (backends/types.py), checked from code and by renders."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
from pathlib import Path

import pytest
import yaml

from director.backends import BUILTIN, Registry
from director.backends.types import (PROTOCOLS, Artifact, ClipRequest, FigureSpec, FrameRequest, SpeechRequest,
                                     VoiceParams, artifact_paths, key_material, keyed, reasons, relocate)
from tests.conftest import director, make_project

ROOT = Path(__file__).resolve().parents[1] / "director"


def _digest(path: Path) -> str:
    import hashlib
    return hashlib.blake2b(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_backend_implements_its_kinds_protocol(name):
    config_cls = Registry.discover().config_class(name)
    protocol = PROTOCOLS.get(config_cls.kind)
    assert protocol is not None, f"{name}: kind {config_cls.kind!r} has no protocol"
    tmod, _, tcls = config_cls.target.partition(":")
    backend_cls = getattr(importlib.import_module(tmod), tcls)
    for method, spec in inspect.getmembers(protocol, inspect.isfunction):
        if method.startswith("_"):
            continue
        impl = getattr(backend_cls, method, None)
        assert callable(impl), f"{name}: {backend_cls.__name__} has no {method}() ({protocol.__name__})"
        want = list(inspect.signature(spec).parameters)
        have = list(inspect.signature(impl).parameters)
        assert have[:len(want)] == want, f"{name}.{method}{have} does not match {protocol.__name__}{want}"


def test_capabilities_are_declared_with_defaults_not_found_with_getattr():
    from director.backends.preview.animatic import AnimaticConfig
    from director.backends.preview.voice import EspeakConfig
    assert EspeakConfig.uses_sample is False and AnimaticConfig().uses_next_keyframe() is False
    sources = "\n".join(p.read_text() for p in (ROOT / "stages").glob("*.py"))
    assert 'getattr(ctx.backends' not in sources and "getattr(video" not in sources


def test_a_field_added_to_a_request_is_in_the_key_by_construction(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Request:
        text: str = keyed("line text changed")
        speed: float = keyed("speed changed", default=1.0)  # "forgotten" nowhere: no material is written by hand

    a, b = key_material(Request("hi"), _digest), key_material(Request("hi", 1.2), _digest)
    assert a != b and set(a) == {"text", "speed"}
    assert reasons(Request) == {"text": "line text changed", "speed": "speed changed"}


def test_content_fields_are_keyed_by_digest_and_artifacts_by_key(tmp_path):
    pic = tmp_path / "a" / "ref.png"
    pic.parent.mkdir()
    pic.write_bytes(b"one")
    moved = tmp_path / "b" / "ref.png"
    moved.parent.mkdir()
    moved.write_bytes(b"one")
    fig = FigureSpec("mia", "Mia", "raincoat", (str(pic),))
    assert key_material(fig, _digest) == key_material(dataclasses.replace(fig, refs=(str(moved),)), _digest)
    moved.write_bytes(b"two")  # same place, new content: a new key
    assert key_material(fig, _digest) != key_material(dataclasses.replace(fig, refs=(str(moved),)), _digest)
    key = Artifact("keyframes", "k" * 64, str(tmp_path / "entry"), {"image": "keyframe.png"})
    clip = ClipRequest("s1", key, "static", 36, 64, 24.0, 12, 1)
    material = key_material(clip, _digest)
    assert material["keyframe"] == "k" * 64 and "shot_id" not in material  # unkeyed: it only names the work


def test_a_request_travels_to_another_machine_with_its_files(tmp_path):
    """What the Ray executor does: list a request's input files, land them elsewhere, and relocate the request."""
    (tmp_path / "entry").mkdir()
    (tmp_path / "entry" / "keyframe.png").write_bytes(b"png")
    (tmp_path / "voice.wav").write_bytes(b"wav")
    key = Artifact("keyframes", "k" * 64, str(tmp_path / "entry"), {"image": "keyframe.png"})
    req = ClipRequest("s1", key, "static", 36, 64, 24.0, 12, 1, next_keyframe=key)
    assert artifact_paths(req) == [tmp_path / "entry" / "keyframe.png"] * 2
    speech = SpeechRequest("hi", "en", VoiceParams("mia", "female", str(tmp_path / "voice.wav")))
    assert artifact_paths(speech) == [tmp_path / "voice.wav"]
    landed = relocate(req, {str(tmp_path / "entry"): "/elsewhere"})
    assert landed.keyframe.file("image") == Path("/elsewhere/keyframe.png") and landed.next_keyframe.folder == "/elsewhere"
    assert relocate(speech, {str(tmp_path / "voice.wav"): "/w/v.wav"}).voice.sample == "/w/v.wav"
    assert key_material(landed, _digest) == key_material(req, _digest)  # the key does not depend on where


def test_every_request_field_has_the_words_a_user_sees():
    for cls in (FrameRequest, ClipRequest, SpeechRequest, VoiceParams, FigureSpec):
        for f in dataclasses.fields(cls):
            if f.metadata.get("key") is not False:
                assert f.metadata.get("why"), f"{cls.__name__}.{f.name} has no reason"


def test_the_engine_holds_no_stage_vocabulary_and_stages_read_no_other_stages_files():
    engine = (ROOT / "runtime" / "engine.py").read_text()
    for word in ("line text changed", "keyframe changed", "duration changed", "INFO_KEYS"):
        assert word not in engine
    names = ("keyframe.png", "bg.png", "fg.png", "sheet.png", "voice.wav", "music.wav", "sfx.wav", "clip.mp4")
    for path in list((ROOT / "stages").glob("*.py")) + list((ROOT / "runtime").glob("*.py")):
        text = path.read_text()
        assert not [n for n in names if f'"{n}"' in text], f"{path.name} opens another stage's file by name"


def test_sound_effects_are_cached_jobs_and_a_volume_edit_remixes_without_remaking_them(tmp_path):
    project = make_project(tmp_path, size=(72, 128))
    first = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert first["stages"]["sfx"]["ran"] >= 1
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    cue = next(b for s in data["scenes"] for b in s["beats"] if "sfx" in b)
    cue["sfx"] = {"name": cue["sfx"], "volume": 0.3}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    status = director("-p", str(project), "status", check=True).stdout
    assert "sound effects changed" in status
    again = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert again["stages"]["sfx"]["ran"] == 0 and again["stages"]["mix"]["ran"] == 1


def test_a_nested_fields_own_words_are_what_status_says(tmp_path):
    from director.runtime.engine import why

    (tmp_path / "a.wav").write_bytes(b"one")
    (tmp_path / "b.wav").write_bytes(b"two")
    before = SpeechRequest("hi", "en", VoiceParams("mia", "female", str(tmp_path / "a.wav")))
    after = dataclasses.replace(before, voice=dataclasses.replace(before.voice, sample=str(tmp_path / "b.wav")))
    assert why(key_material(before, _digest), key_material(after, _digest), reasons(after)) == "voice sample changed"
    pic = tmp_path / "p.png"
    pic.write_bytes(b"x")
    frame = FrameRequest("s", "MS", "eye-level", 9, 16, "", "", "l", "", "day", "", "", 1,
                         figures=(FigureSpec("mia", "Mia", "coat", (str(pic),)),))
    m1 = key_material(frame, _digest)
    pic.write_bytes(b"y")
    assert why(m1, key_material(frame, _digest), reasons(frame)) == "a character's reference changed"


def test_a_result_naming_a_file_it_did_not_write_is_never_cached(tmp_path):
    from director.store.cache import ArtifactCache

    cache = ArtifactCache(tmp_path / "cache")
    with pytest.raises(ValueError, match="did not write"):
        cache.produce("keyframes", "k" * 64, {}, lambda out: {"files": {"image": "keyframe.png"}})
    assert cache.lookup("keyframes", "k" * 64) is None


def test_relocation_finds_paths_however_they_were_spelled(tmp_path):
    key = Artifact("keyframes", "k" * 64, str(tmp_path / "entry") + "/", {"image": "keyframe.png"})
    landed = relocate(ClipRequest("s", key, "static", 9, 16, 24.0, 1, 1), {str(tmp_path / "entry"): "/w/1"})
    assert landed.keyframe.folder == "/w/1"
    fig = FigureSpec("mia", "Mia", "coat", [str(tmp_path / "x.png")])
    assert relocate(fig, {str(tmp_path / "x.png"): "/w/x.png"}).refs == ["/w/x.png"]


@pytest.mark.parametrize("kind,words", [("planner", "planner: {backend: rules}"), ("assembler", "encode:"),
                                        ("keyframs", "did you mean 'keyframes'")])
def test_backends_names_only_plugin_stages_and_points_elsewhere_for_the_rest(tmp_path, kind, words):
    """``backends: {planner: ...}`` said "'rules' is not installed; planner backends: " (an empty list)."""
    from tests.conftest import director, make_project

    project = make_project(tmp_path)
    with (project / "director.yaml").open("a", encoding="utf-8") as f:
        f.write(f"backends: {{{kind}: {{backend: rules}}}}\n")
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 3 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
