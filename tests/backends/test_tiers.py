"""The final profile's tiers: draft (step-distilled weights, no CFG, one take) and quality (full schedules).
The draft tier's loading path runs on tiny random-weight models: a Lightning-layout LoRA on the tiny Qwen edit
pipeline with its flow-match schedule, and the DMD sigmas on the tiny Wan pipeline."""
from __future__ import annotations

from PIL import Image

from director.backends import TIERS, configure_backends
from director.testing.artifacts import artifact_of

from tests.conftest import needs

pytestmark = needs("diffusers")


def test_draft_is_the_default_and_director_yaml_wins_over_the_tier():
    draft = configure_backends("final", {})
    assert draft["keyframes"].steps == 4 and draft["keyframes"].tries == 1 and draft["keyframes"].guidance == 1.0
    assert draft["video"].model_id() == "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers" and draft["video"].steps == 3
    quality = configure_backends("final", {}, tier="quality")
    assert quality["keyframes"].steps == 40 and quality["keyframes"].tries == 3 and quality["keyframes"].lora is None
    mine = configure_backends("final", {"keyframes": {"backend": "qwen-image-edit", "steps": 6}})
    assert mine["keyframes"].steps == 6 and mine["keyframes"].lora == TIERS["draft"]["keyframes"]["lora"]
    other = configure_backends("final", {"video": {"backend": "ltx-i2v"}})
    assert other["video"].steps == 40 and other["video"].scheduler == "default"  # another backend: its own defaults
    assert configure_backends("preview", {})["keyframes"].name == "preview-panel"  # tiers are final-profile only


def test_every_draft_model_is_commercially_usable():
    needs = [n for c in configure_backends("final", {}).values() for n in c.needs()]
    assert all(n.license.commercial in ("yes", "conditional") for n in needs)
    assert {n.license.name for n in needs if "Lightning" in n.id or "FastWan" in n.id} == {"Apache-2.0"}


def test_lightning_lora_and_schedule_load_and_render_on_the_tiny_edit_model(tiny, tmp_path):
    from director.backends.diffusion import keyframes as kf
    from director.backends.types import FrameRequest

    lora = tiny("qwen_lightning_lora")
    settings = {**TIERS["draft"]["keyframes"], "lora": str(lora), "reference_side": 32, "steps": 2}
    config = kf.QwenEditConfig(model=str(tiny("qwen_image_edit_plus")), scorer=None, resolution=32,
                               condition_side=28, device="cpu", **settings)
    backend = config.build()
    pipe = backend.pipe
    assert pipe.get_active_adapters() == ["director"]
    assert pipe.scheduler.config.time_shift_type == "exponential" and pipe.scheduler.config.use_dynamic_shifting
    out = tmp_path / "k"
    out.mkdir()
    meta = backend.render(FrameRequest(shot_id="s1", size="MS", angle="eye-level", width=36, height=64,
                                       prompt="a room", caption="", location_id="room", location="a small room",
                                       time="day", look="", negative="", seed=1), out)
    assert Image.open(out / "keyframe.png").size == (36, 64) and meta.report["tries"] == 1


def _draft_wan(tiny, tmp_path):
    """The draft tier's Wan (the DMD schedule) on the tiny model, and a keyframe's folder."""
    from director.backends.diffusion.video import WanConfig

    config = WanConfig(model=str(tiny("wan_ti2v")), device="cpu", resolution=64, **{
        k: v for k, v in TIERS["draft"]["video"].items() if k not in ("model", "resolution")})
    folder = tmp_path / "k1"
    folder.mkdir()
    Image.new("RGB", (36, 64), (200, 40, 40)).save(folder / "keyframe.png")
    return config.build(), folder


def test_dmd_schedule_steps_through_fastwans_sigmas(tiny, tmp_path):
    from director.backends.types import ClipRequest

    backend, folder = _draft_wan(tiny, tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    backend.render(ClipRequest(shot_id="c", keyframe=artifact_of(folder), move="static", width=36, height=64, fps=24,
                               frames=9, seed=1), out)
    sigmas = [round(float(s), 3) for s in backend.pipe.scheduler.sigmas]
    assert sigmas[:3] == [1.0, 0.757, 0.522] and len(backend.pipe.scheduler.timesteps) == 3


def test_a_dmd_clip_is_made_again_from_its_seed_whatever_else_used_the_rng(tiny, tmp_path):
    """The DMD schedule draws fresh noise at each step from the generator ``step`` is given, and Wan's pipeline
    gives none: torch's global RNG, moved by other jobs, so a seed's clip differed from render to render (48 levels
    on the tiny model)."""
    import av
    import numpy as np
    import torch

    from director.backends.types import ClipRequest

    backend, folder = _draft_wan(tiny, tmp_path)
    clips = []
    for i in range(2):
        torch.manual_seed(100 + i)  # what another job left the global RNG at
        torch.randn(7)
        out = tmp_path / f"o{i}"
        out.mkdir()
        backend.render(ClipRequest(shot_id="c", keyframe=artifact_of(folder), move="static", width=36, height=64,
                                   fps=24, frames=9, seed=1), out)
        with av.open(str(out / "clip.mp4")) as container:
            clips.append(np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)]).astype(int))
    assert np.abs(clips[0] - clips[1]).max() == 0
