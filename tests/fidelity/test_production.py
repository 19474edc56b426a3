"""Fidelity at production size (opt-in: `make test-fidelity`; not in `make test`).

1. Every default model of each tier, built from its production config on the meta device through
   director's own builders: parameter counts equal the sizes the memory plan and the GPU-time model use,
   and the published headline sizes.
2. The default video transformer (Wan 2.2 TI2V-5B, 5.0B) saved at production size with random weights,
   loaded and called once (tiny resolution, 1 step) through director's backend on the CPU; RAM and seconds
   are printed. The keyframe transformer (Qwen-Image 20.4B) is 41 GB in bf16: it cannot be loaded on a
   24 GB machine, so it is checked on the meta device only.
"""
from __future__ import annotations

import resource
import shutil
import time

import pytest

from director.backends import configure_backends
from director.backends.memory import SIZES
from director.testing.artifacts import artifact_of

from tests.conftest import needs

pytestmark = [pytest.mark.fidelity, needs("diffusers")]

PUBLISHED = {  # headline sizes from the model cards (billions)
    ("Qwen/Qwen-Image-Edit-2509", "transformer"): 20.0, ("Wan-AI/Wan2.2-TI2V-5B-Diffusers", "transformer"): 5.0,
    ("FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers", "transformer"): 5.0,
    ("Qwen/Qwen-Image-Edit-2509", "text_encoder"): 8.29,  # Qwen2.5-VL-7B-Instruct: "8.29B params" on its page
}


def _default_models() -> set[str]:
    ids = set()
    for tier in ("draft", "quality"):
        for config in configure_backends("final", {}, tier=tier).values():
            # the diffusers and CLIP models; the Coqui voices' sizes are measured by `python -m bench voice`
            ids |= {n.id for n in config.needs() if n.role in ("keyframes", "scorer", "video", "music")}
    return ids


def test_every_default_model_of_each_tier_matches_its_sizes_on_the_meta_device():
    from director.testing.production import PRODUCTION, meta_params

    assert _default_models() <= set(PRODUCTION)
    for model in sorted(_default_models()):
        for component, builder in PRODUCTION[model].items():
            billions = meta_params(builder) / 1e9
            assert billions == pytest.approx(SIZES[model][component], rel=0.01), (model, component, billions)
            if (model, component) in PUBLISHED:
                assert billions == pytest.approx(PUBLISHED[(model, component)], rel=0.05), (model, component)


def test_the_video_transformer_at_production_size_loads_and_runs_through_the_backend(tmp_path, capsys):
    from PIL import Image

    from director.backends.diffusion.video import WanConfig
    from director.backends.types import ClipRequest
    from director.media.probe import probe
    from director.testing.production import wan22_at_production_size

    if shutil.disk_usage(tmp_path).free < 30e9:
        pytest.skip("needs ~15 GB of free disk for the production-size checkpoint")
    started = time.perf_counter()
    folder = wan22_at_production_size(tmp_path / "wan22")
    saved = time.perf_counter()
    backend = WanConfig(model=str(folder), device="cpu", dtype="bf16", steps=1, resolution=64).build()
    loaded = time.perf_counter()
    assert sum(p.numel() for p in backend.pipe.transformer.parameters()) == pytest.approx(5.0e9, rel=0.01)
    key = tmp_path / "k"
    key.mkdir()
    Image.new("RGB", (36, 64), (180, 60, 60)).save(key / "keyframe.png")
    out = tmp_path / "o"
    out.mkdir()
    backend.render(ClipRequest(shot_id="p", keyframe=artifact_of(key), move="static", width=36, height=64, fps=24, frames=5,
                               seed=1), out)
    done = time.perf_counter()
    assert probe(out / "clip.mp4")["video"]["frames"] == 5
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    with capsys.disabled():
        print(f"\n[fidelity] Wan2.2-TI2V-5B at production size: build+save {saved - started:.0f}s, load "
              f"{loaded - saved:.0f}s, one 1-step call {done - loaded:.0f}s, peak RSS {rss:.1f} GB")
