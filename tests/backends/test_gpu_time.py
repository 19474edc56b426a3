"""The GPU-time model against the published measurements it cites (+-30%), and its use before any render."""
from __future__ import annotations

import json

import pytest

from director.backends import configure_backends
from director.backends.gpu_time import ANCHORS, ARCHS, GPUS, MEASURED, anchor_estimate, clip_seconds, estimate_episode
from tests.conftest import director, make_project


@pytest.mark.parametrize("anchor", ANCHORS, ids=[a["arch"] + "-" + str(a["steps"]) for a in ANCHORS])
def test_the_flop_model_reproduces_each_published_anchor(anchor):
    assert anchor_estimate(anchor) == pytest.approx(anchor["seconds"], rel=0.30), anchor["what"]


@pytest.mark.parametrize("measured", MEASURED, ids=[m["arch"] + "-" + str(m["steps"]) for m in MEASURED])
def test_the_flop_model_reproduces_directors_own_h100_measurements(measured):
    """Production-size models through director's backends on a lent H100 (bench/results/gpu.json)."""
    assert anchor_estimate(measured) == pytest.approx(measured["seconds"], rel=0.30), measured["what"]


def test_dual_stream_tokens_pass_through_half_the_weights():
    """Qwen-Image's MMDiT: each token runs through its own stream's half of every block (measured on an H100:
    counting every weight for every token put the model at 2.1x the measured step)."""
    qwen = ARCHS["qwen-image-20b"]
    assert qwen.share == 0.5 and ARCHS["wan2.2-ti2v-5b"].share == 1.0


def test_costs_scale_as_the_physics_says():
    arch, h100 = ARCHS["wan2.2-ti2v-5b"], GPUS["H100"]
    one = clip_seconds(arch, 704, 1280, 121, 50, True, h100, vae=False)["seconds"]
    assert clip_seconds(arch, 704, 1280, 121, 25, True, h100, vae=False)["seconds"] == pytest.approx(one / 2)
    assert clip_seconds(arch, 704, 1280, 121, 50, False, h100, vae=False)["seconds"] == pytest.approx(one / 2)
    assert clip_seconds(arch, 704, 1280, 121, 50, True, GPUS["A100"], vae=False)["seconds"] > 3 * one
    longer = clip_seconds(arch, 704, 1280, 241, 50, True, h100, vae=False)["seconds"]
    assert longer > 2 * one  # attention is quadratic in tokens


def test_the_draft_tier_makes_the_demo_in_under_two_minutes_on_paper():
    shots = [{"frames": 64, "refs": 2}] * 6  # the demo: 6 shots, 16 s at 24 fps
    draft = estimate_episode(configure_backends("final", {}), 1080, 1920, 24, shots, 3, 8.0, [16.0], GPUS["H100"])
    quality = estimate_episode(configure_backends("final", {}, tier="quality"), 1080, 1920, 24, shots, 3, 8.0,
                               [16.0], GPUS["H100"])
    assert draft["total"] < 120 and quality["total"] > 5 * draft["total"]
    assert draft["keyframes_retries_max"] == 0 and quality["keyframes_retries_max"] > 0


def test_dry_run_estimates_gpu_seconds_before_any_clip_exists(tmp_path):
    project = make_project(tmp_path)
    (project / "director.yaml").write_text("episodes: [screenplay.yaml]\nprofile: final\n")
    rows = json.loads(director("-p", str(project), "--json", "render", "--dry-run", check=True).stdout)["shots"]
    assert rows and all(r["gpu_seconds"] > 0 and r["estimate"] == "FLOP model, H100" for r in rows)
