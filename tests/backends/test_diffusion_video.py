"""Video backends on tiny random-weight diffusers pipelines: exact frames, fps and size after conforming."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from director.backends.types import ClipRequest
from director.media.probe import probe
from director.testing.artifacts import artifact_of, flat
from tests.conftest import director, make_project

pytest.importorskip("diffusers")

BACKENDS = {  # backend name -> (tiny builder, resolution)
    "wan-i2v": ("wan_ti2v", 64), "wan-flf2v": ("wan_flf2v", 32), "ltx-i2v": ("ltx_i2v", 32),
    "ltx-condition": ("ltx_condition", 32), "cogvideox-i2v": ("cogvideox_i2v", 32), "svd": ("svd", 64),
}


def _config(name: str, tiny, **extra):
    from director.backends import Registry
    builder, side = BACKENDS[name]
    cls = Registry.discover().config_class(name)
    return cls.model_validate({"model": str(tiny(builder)), "steps": 2, "resolution": side, "device": "cpu", **extra})


def _keyframes(tmp: Path) -> tuple[Path, Path]:
    a, b = tmp / "k1", tmp / "k2"
    for folder, rgb in ((a, (200, 40, 40)), (b, (40, 40, 200))):
        folder.mkdir()
        Image.new("RGB", (36, 64), rgb).save(folder / "keyframe.png")
    return a, b


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_clip_matches_the_shot_after_conforming(name, tiny, tmp_path):
    first, second = _keyframes(tmp_path)
    backend = _config(name, tiny).build()
    req = ClipRequest(shot_id="s1", keyframe=artifact_of(first), move="dolly-in", width=36, height=64, fps=23.976,
                      frames=31, seed=1, prompt="Mia turns", negative="blurry", next_keyframe=artifact_of(second))
    out = tmp_path / "out"
    out.mkdir()
    meta = flat(backend.render(req, out))
    video = probe(out / "clip.mp4")["video"]
    assert (video["width"], video["height"]) == (36, 64)
    assert video["frames"] == 31 and abs(video["fps"] - 23.976) < 0.01
    assert meta["native"]["fps"] == backend.rules.fps and len(meta["passes"]) == 1
    assert "dolly-in" in meta["prompt"] or name == "svd"
    assert meta["last_image"] == (name in ("wan-flf2v", "ltx-condition"))  # first-last-frame models get the next one


@pytest.mark.slow  # opt-in (make test-slow): 12 s; two passes are tested in test_gpu_first_contact
def test_a_long_shot_is_extended_in_three_passes(tiny, tmp_path):
    first, _ = _keyframes(tmp_path)
    backend = _config("svd", tiny, overlap=2).build()  # 25 frames per pass at 7 fps
    req = ClipRequest(shot_id="s1", keyframe=artifact_of(first), move="static", width=36, height=64, fps=24, frames=225,
                      seed=1)  # 9.4 s: 65 native frames -> 25 + 23 + 23 (+ overlaps)
    out = tmp_path / "o"
    out.mkdir()
    meta = flat(backend.render(req, out))
    assert len(meta["passes"]) == 3 and len(meta["seams"]) == 2
    assert probe(out / "clip.mp4")["video"]["frames"] == 225


def test_first_last_frame_model_receives_the_next_keyframe(tiny, tmp_path):
    first, second = _keyframes(tmp_path)
    backend = _config("wan-flf2v", tiny).build()
    seen = {}
    real = backend.pipe.__class__.__call__

    def spy(pipe, *args, **kwargs):
        seen.update(kwargs)
        return real(pipe, *args, **kwargs)

    backend.pipe.__class__.__call__ = spy
    try:
        req = ClipRequest(shot_id="s1", keyframe=artifact_of(first), move="static", width=36, height=64, fps=24, frames=12,
                          seed=1, next_keyframe=artifact_of(second))
        out = tmp_path / "o"
        out.mkdir()
        backend.render(req, out)
    finally:
        backend.pipe.__class__.__call__ = real
    last = seen["last_image"]
    assert last.getpixel((2, 2))[2] > 150  # the blue next keyframe, fitted to the native size


def test_seed_change_rerenders_that_clip_only(tiny, tmp_path):
    project = make_project(tmp_path, size=(72, 128))
    cfg = yaml.safe_load((project / "director.yaml").read_text())
    cfg["backends"] = {"video": {"backend": "wan-i2v", "model": str(tiny("wan_ti2v")), "steps": 2, "resolution": 64,
                                 "device": "cpu"}}
    (project / "director.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    director("-p", str(project), "render", check=True)
    dry = json.loads(director("-p", str(project), "--json", "render", "--dry-run", check=True).stdout)
    assert all(r["backend"] == "wan-i2v" and r["gpu_seconds"] is not None for r in dry["shots"])
    shots_file = project / "shots" / "screenplay.yaml"
    plan = yaml.safe_load(shots_file.read_text())
    plan["shots"][1]["seed"] += 1
    shots_file.write_text(yaml.safe_dump(plan, sort_keys=False))
    out = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert out["stages"]["clips"]["ran"] == 1 and out["stages"]["keyframes"]["ran"] == 1
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    clip = next(j for j in record["jobs"] if j["stage"] == "clips" and j["status"] == "ran")
    assert clip["id"] == plan["shots"][1]["id"] and clip["info"]["passes"]
    video = probe(project / "out" / "screenplay" / "episode.mp4")["video"]
    assert (video["width"], video["height"]) == (72, 128)
