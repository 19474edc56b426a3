"""The memory plan: where each model of the default final profile goes on a 24, 48 and 80 GiB card."""
from __future__ import annotations

import json

import pytest

from director.backends import configure_backends
from director.backends.memory import GIB, SIZES, choose, plan, reserve
from tests.conftest import director, make_project


@pytest.fixture(scope="module")
def final():
    return configure_backends("final", {})


def _by(rows, model):
    return next(r for r in rows if r.model == model)


@pytest.mark.parametrize("tier", ["draft", "quality"])
@pytest.mark.parametrize("vram, qwen, wan", [(24, "group", "group"), (48, "group", "none"), (80, "none", "none")])
def test_default_profile_placements(vram, qwen, wan, tier):
    backends = configure_backends("final", {}, tier=tier)
    rows = plan(backends, vram)
    assert _by(rows, "Qwen/Qwen-Image-Edit-2509").placement == qwen
    assert _by(rows, backends["video"].model_id()).placement == wan  # Wan 2.2 TI2V-5B, or FastWan (same size)
    assert _by(rows, "stabilityai/stable-audio-open-1.0").placement == "none"


@pytest.mark.parametrize("vram", [24, 48, 80])
def test_no_stage_plans_resident_models_beyond_the_budget(final, vram):
    rows = plan(final, vram)
    budget = vram * GIB - reserve(vram * GIB)
    for stage in {r.stage for r in rows}:
        resident = sum(r.weights_gb for r in rows if r.stage == stage and r.placement == "none") * GIB
        assert resident <= budget, (stage, resident / GIB, budget / GIB)
        assert all(r.peak_gb <= vram for r in rows if r.stage == stage), stage


def test_two_big_models_in_one_stage_are_not_both_resident():
    big = {"transformer": 25 * GIB, "text_encoder": 15 * GIB}  # 40 GiB; an 80 GiB card keeps 68 GiB for weights
    placement, _ = choose(big, 80 * GIB)
    assert placement == "none"
    assert choose(big, 80 * GIB, taken=40 * GIB)[0] == "group"  # the second one beside the first: offloaded


def test_group_offload_needs_host_memory_for_its_pinned_copy_else_model_offload():
    """Group offload (measured 5-12x faster than model offload on an H100) pins every weight in host memory;
    a machine without the room gets model offload when the largest component fits the card."""
    wan = {"transformer": 10 * GIB, "text_encoder": 13.5 * GIB, "vae": 1.4 * GIB}
    assert choose(wan, 24 * GIB, host=64 * GIB)[0] == "group"
    assert choose(wan, 24 * GIB, host=24 * GIB)[0] == "model"
    qwen = {"transformer": 38 * GIB, "text_encoder": 15.4 * GIB, "vae": 0.2 * GIB}
    assert choose(qwen, 24 * GIB, host=32 * GIB)[0] == "sequential"  # no room to pin it: streamed unpinned
    assert choose(qwen, 24 * GIB, host=128 * GIB)[0] == "group"


def test_sizes_match_the_published_parameter_counts():
    assert sum(SIZES["Qwen/Qwen-Image-Edit-2509"].values()) == pytest.approx(28.8, abs=0.3)  # 20B MMDiT + 7B VL
    assert SIZES["Wan-AI/Wan2.2-TI2V-5B-Diffusers"]["transformer"] == pytest.approx(5.0, abs=0.1)


def test_models_vram_what_if_from_the_cli(tmp_path):
    project = make_project(tmp_path)
    out = json.loads(director("-p", str(project), "--json", "models", "--profile", "final", "--vram", "24",
                              check=True).stdout)
    plan_rows = out["memory_plan"]["models"]
    assert out["memory_plan"]["vram_gb"] == 24
    assert {r["model"]: r["placement"] for r in plan_rows}["Qwen/Qwen-Image-Edit-2509"] == "group"
    small_host = json.loads(director("-p", str(project), "--json", "models", "--profile", "final", "--vram", "48",
                                     "--ram", "32", check=True).stdout)["memory_plan"]["models"]
    assert {r["model"]: r["placement"] for r in small_host}["Qwen/Qwen-Image-Edit-2509"] == "model"
    text = director("-p", str(project), "models", "--profile", "final", "--vram", "80", check=True).stdout
    assert "memory plan for a 80 GiB GPU" in text and "resident" in text
    text = director("-p", str(project), "models", "--profile", "final", "--vram", "24", check=True).stdout
    assert "group offload needs ~82 GiB of host RAM" in text and "--ram N" in text  # Qwen's 53.7 GiB (and its
    # Lightning LoRA's 0.8), pinned


def test_the_gpu_holds_one_models_kind_at_a_time_and_each_loads_once(tmp_path, monkeypatch):
    """With keyframes, video and music on a GPU, the scheduler batches by model: a kind is released before the
    next one loads (never two on the card), each loads once, and CPU work (voices) overlaps the GPU's."""
    from director.project import Project
    from director.runtime import scheduler
    from director.runtime.render import render

    monkeypatch.setattr(scheduler, "resource_of", lambda ctx, stage, remote=False: getattr(stage, "resource", "") or (
        "gpu" if stage.backend_kind in ("keyframes", "video", "music") else "cpu"))
    project = make_project(tmp_path)
    render(Project.find(project))
    record = json.loads((project / "out" / "screenplay" / "run.json").read_text())
    order = [(e["event"], e["kind"]) for e in record["models"]]
    loaded: set[str] = set()
    for event, kind in order:
        if event == "load":
            assert not (loaded & {"keyframes", "video", "music"}) or kind not in ("keyframes", "video", "music"), order
            loaded.add(kind)
        else:
            loaded.discard(kind)
    loads = [k for e, k in order if e == "load"]
    assert sorted(loads) == sorted(set(loads)) and not loaded  # each kind loaded once, nothing left loaded
    jobs = [j for j in record["jobs"] if j["status"] == "ran"]
    gpu = [(j["info"]["start"], j["info"]["end"]) for j in jobs if j["info"]["resource"] == "gpu"]
    voices = [(j["info"]["start"], j["info"]["end"]) for j in jobs if j["stage"] == "voice"]
    assert any(vs < ge and gs < ve for vs, ve in voices for gs, ge in gpu)  # a voice ran while the GPU worked
    gpu.sort()
    assert all(a[1] <= b[0] + 1e-3 for a, b in zip(gpu, gpu[1:]))  # one GPU: its jobs never overlap


def test_offload_auto_at_load_counts_the_lora_and_the_float32_vae(monkeypatch):
    """`offload: auto` decides on the card's free memory at load time: it left out the LoRA loaded into the
    pipeline and billed Wan's float32 VAE at 2 bytes a weight. CUDA's free-memory query is the part faked here."""
    import torch

    from director.backends import configure_backends
    from director.backends import memory

    asked = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (40 * memory.GIB, 80 * memory.GIB))
    monkeypatch.setattr(memory, "host_available", lambda: 256 * memory.GIB)
    monkeypatch.setattr(memory, "choose", lambda sizes, free, host=None: asked.append(sizes) or ("none", 0.0))
    draft = configure_backends("final", {})
    memory.placement_for(draft["keyframes"], None, "cuda:0")
    memory.placement_for(draft["video"], None, "cuda:0")
    keyframes, video = asked
    assert any(k.startswith("lora:") for k in keyframes), keyframes  # Qwen's Lightning LoRA
    assert video["vae"] == pytest.approx(0.705e9 * 4) and video["transformer"] == pytest.approx(5.0e9 * 2)
