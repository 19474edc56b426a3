"""The final profile's first contact with a GPU machine: each defect a new GPU user would hit, proven fixed on
tiny random-weight pipelines through the real loading path (no GPU here: the CUDA-only parts are named)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from director.backends.types import ClipRequest
from director.errors import BackendUnavailable
from director.media.probe import probe
from director.testing.artifacts import artifact_of, flat
from tests.conftest import needs


pytestmark = needs("diffusers")


def _video(name: str, builder: str, tiny, side: int = 32, **extra):
    from director.backends import Registry
    cls = Registry.discover().config_class(name)
    return cls.model_validate({"model": str(tiny(builder)), "steps": 2, "resolution": side, "device": "cpu", **extra})


def _keyframe(tmp: Path) -> Path:
    folder = tmp / "k1"
    folder.mkdir()
    Image.new("RGB", (36, 64), (200, 40, 40)).save(folder / "keyframe.png")
    return folder


def _clip(backend, tmp_path: Path, frames: int, fps: float = 24) -> tuple[dict, int]:
    """Render one static clip from a red keyframe (no next keyframe): (meta, frames in the MP4)."""
    req = ClipRequest(shot_id="s", keyframe=artifact_of(_keyframe(tmp_path)), move="static", width=36, height=64, fps=fps,
                      frames=frames, seed=1)
    out = tmp_path / "o"
    out.mkdir()
    meta = flat(backend.render(req, out))
    return meta, probe(out / "clip.mp4")["video"]["frames"]


def _spy(pipe, seen: dict):
    real = pipe.__class__.__call__

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return real(self, *args, **kwargs)
    pipe.__class__.__call__ = spy
    return real


@pytest.mark.parametrize("frames", [12, 100], ids=["last-shot", "two-passes"])
def test_wan_flf2v_renders_without_a_last_frame(tiny, tmp_path, frames):
    """The episode's last shot and every non-final pass of a long shot have no last frame (was a shape error)."""
    backend = _video("wan-flf2v", "wan_flf2v", tiny).build()
    meta, made = _clip(backend, tmp_path, frames, fps=16)
    assert made == frames and meta["last_image"] is False
    assert len(meta["passes"]) == (1 if frames == 12 else 2)


def test_compile_with_cache_and_fp8_builds_without_fullgraph_and_runs(tiny, tmp_path):
    """compile + first-block cache + FP8 casting crashed in Dynamo with fullgraph=True (hooks after compiling)."""
    config = _video("wan-i2v", "wan_ti2v", tiny, side=64, compile=True, compile_backend="eager",
                    cache="first-block", fp8=True)
    backend = config.build()
    assert backend.pipe.director_compiled == {"fullgraph": False, "backend": "eager"}
    assert _clip(backend, tmp_path, 9)[1] == 9


def test_compile_alone_keeps_fullgraph(tiny):
    backend = _video("wan-i2v", "wan_ti2v", tiny, side=64, compile=True, compile_backend="eager").build()
    assert backend.pipe.director_compiled["fullgraph"] is True


def test_ltx_091_and_later_decode_at_the_timestep_their_vae_was_tuned_for(tiny, tmp_path):
    seen: dict = {}
    backend = _video("ltx-i2v", "ltx_i2v_091", tiny).build()
    real = _spy(backend.pipe, seen)
    try:
        _clip(backend, tmp_path, 9)
    finally:
        backend.pipe.__class__.__call__ = real
    assert seen["decode_timestep"] == 0.05 and seen["decode_noise_scale"] == 0.025
    old = _video("ltx-i2v", "ltx_i2v", tiny).build()  # 0.9.0: no timestep conditioning, nothing passed
    from director.backends.diffusion.video import ltx_decode
    assert ltx_decode(old.pipe) == {}


def test_cogvideox_15_gets_its_own_frame_rules(tiny, tmp_path):
    backend = _video("cogvideox-i2v", "cogvideox15_i2v", tiny).build()
    assert (backend.rules.step, backend.rules.fps) == (16, 16)  # 1.0's 8 fps would play its motion at half speed
    meta, made = _clip(backend, tmp_path, 24)
    assert meta["native"]["fps"] == 16 and (meta["native"]["frames"] - 1) % 16 == 0 and made == 24
    assert _video("cogvideox-i2v", "cogvideox_i2v", tiny).build().rules.fps == 8


def test_ip_adapter_joins_the_pipeline_before_it_is_placed(tiny, monkeypatch):
    """Loaded after offload hooks, the image encoder stayed unhooked on the CPU and `pipe.to` undid the offload."""
    from director.backends.diffusion import common
    from director.backends.diffusion import keyframes as kf

    seen = []
    real = common.place

    def place(pipe, offload, device, force=False):
        seen.append((offload, getattr(pipe, "image_encoder", None) is not None))
        return real(pipe, offload, device, force)
    monkeypatch.setattr(common, "place", place)
    model = tiny("sdxl")
    config = kf.SDXLIPAdapterConfig(model=str(model), ip_adapter=str(tiny("ip_adapter_for", model)), scorer=None,
                                    steps=2, resolution=64, device="cpu", offload="model")
    config.build()
    assert seen == [("model", True)]


def test_group_offload_hooks_every_component_text_encoders_included(tiny, tmp_path):
    from diffusers.hooks import HookRegistry

    from director.backends.diffusion import common
    backend = _video("wan-i2v", "wan_ti2v", tiny, side=64).build()
    pipe = backend.pipe
    common.place(pipe, "group", "cpu", force=True)  # on a GPU: use_stream=True; here the same hooks, no streams
    for name in ("transformer", "text_encoder", "vae"):
        hooked = [m for m in getattr(pipe, name).modules() if getattr(m, "_diffusers_hook", None) is not None]
        assert hooked and all(isinstance(m._diffusers_hook, HookRegistry) for m in hooked), name
    assert _clip(backend, tmp_path, 9)[1] == 9


def test_device_auto_never_falls_back_to_the_cpu(tiny):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from director.backends.diffusion.video import WanConfig
    config = WanConfig(model=str(tiny("wan_ti2v")))
    with pytest.raises(BackendUnavailable, match="no usable CUDA GPU.*device: cpu"):
        config.check()
    WanConfig(model=str(tiny("wan_ti2v")), device="cpu").check()  # explicit: allowed


def test_vits_speaks_faster_and_slower_with_the_emotion(tiny):
    from director.backends.coqui import CoquiConfig
    from director.backends.types import SpeechRequest, VoiceParams
    from director.media.audio import read_wav

    backend = CoquiConfig(model=str(tiny("tiny_vits")), vc_model=None).build()
    model = backend.tts.synthesizer.tts_model
    seen = {}
    real = backend.tts.tts

    def tts(text, **kwargs):  # what VITS reads while it speaks: TTS.tts(speed=...) never reached it
        assert "speed" not in kwargs
        seen[text] = model.length_scale
        return real(text=text, **kwargs)
    backend.tts.tts = tts
    # the random tiny duration predictor gives every token one frame, so lengths cannot show it: read the scale
    for emotion, text in (("sad", "Slow."), (None, "Even."), ("scared", "Fast.")):  # rates 0.85, 1.0, 1.15
        out = Path(tiny.root) / f"speed-{text}"
        out.mkdir(exist_ok=True)
        req = SpeechRequest(text=text, language="en", seed=1, emotion=emotion,
                            voice=VoiceParams(speaker="bo", preset="male_deep"))
        data, _ = read_wav(Path(backend.synthesize(req, out).path))
        assert data.size
    assert seen["Slow."] == pytest.approx(1 / 0.85) and seen["Even."] == 1.0 and seen["Fast."] == pytest.approx(1 / 1.15)
    assert model.length_scale == 1.0  # restored after every call


def test_a_phoneme_voice_without_the_espeak_program_is_named_with_the_fix(tmp_path, monkeypatch):
    from director.backends.coqui import CoquiConfig
    folder = tmp_path / "vits"
    folder.mkdir()
    (folder / "model.pth").write_bytes(b"x")
    (folder / "config.json").write_text(json.dumps({"model": "vits", "use_phonemes": True, "phonemizer": "espeak"}))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(BackendUnavailable, match="espeak-ng program.*apt-get install espeak-ng"):
        CoquiConfig(model=str(folder), vc_model=None).check()
    (folder / "config.json").write_text(json.dumps({"model": "vits", "use_phonemes": False}))
    CoquiConfig(model=str(folder), vc_model=None).check()  # characters, not phonemes: no program needed


def test_the_voice_stack_imports_in_a_fresh_interpreter():
    """TTS imports torchaudio; with a torchaudio built for another torch its extension must not be needed."""
    code = ("import TTS.api, torchaudio; from TTS.utils.synthesizer import Synthesizer; "
            "import torchaudio.functional as F; print('ok', torchaudio.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-2000:]


def test_gated_repositories_say_how_to_get_in():
    from director.backends.models import ModelNeed
    from director.runtime.modelsinfo import pull_failure

    class GatedRepoError(Exception):
        pass
    message = pull_failure(ModelNeed("stabilityai/stable-audio-open-1.0", "music", "stable-audio"),
                           GatedRepoError("401 Client Error"))
    assert "huggingface-cli login" in message and "https://huggingface.co/stabilityai/stable-audio-open-1.0" in message
    assert "Stability AI Community License" in message


def test_licenses_are_recorded_per_model_version():
    from director.backends.models import ModelNeed
    assert ModelNeed("Lightricks/LTX-Video-0.9.5", "video", "ltx-condition").license.name == "OpenRAIL-M"
    assert "Open Weights" in ModelNeed("Lightricks/LTX-Video-0.9.7-dev", "video", "ltx-i2v").license.name
    assert ModelNeed("Lightricks/LTX-Video-0.9.5", "video", "x").license.commercial == "yes"


@pytest.mark.parametrize("capability, expected", [((7, 5), "float16"), ((7, 0), "float16"), ((8, 0), "bfloat16"),
                                                  ((9, 0), "bfloat16")])
def test_dtype_auto_is_bf16_only_where_the_card_computes_in_it(monkeypatch, capability, expected):
    """torch 2.13's ``is_bf16_supported()`` counts emulation: True on a T4 (7.5) or V100 (7.0), whose bf16 matmuls
    and attention fall back to slow kernels. The capability of the configured device decides."""
    import torch

    from director.backends.diffusion.common import torch_dtype

    asked = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: asked.append(device) or capability)
    assert torch_dtype("auto", "cuda:1") == getattr(torch, expected)
    assert asked == [torch.device("cuda:1")]
    assert torch_dtype("auto", "cpu") == torch.float32 and torch_dtype("fp16", "cuda") == torch.float16


def test_an_out_of_memory_call_tiles_the_vae_before_offloading_more(tiny):
    """Offload does not shrink a decode's activations: a long clip decoded whole ran out of memory at the end of
    a call, and the retry moved to slower placements only. The VAE is tiled first (the pipeline's device is
    pretended CUDA: the placement a second failure would move to is the CUDA-only part)."""
    import torch

    from director.backends.diffusion.common import with_oom_retry

    config = _video("wan-i2v", "wan_ti2v", tiny)
    backend = config.build()
    pipe = backend.pipe
    pipe.director_device, pipe.director_offload = "cuda", "none"
    tries = []

    def call():
        tries.append(getattr(pipe.vae, "use_tiling", None))
        if len(tries) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return "made"

    assert with_oom_retry(pipe, config, call, "clip s1") == "made"
    assert tries == [False, True] and pipe.director_offload == "none"
    # whole again for the next job (tiling changes the pixels: its clip must be the one a fresh process makes)
    assert not pipe.vae.use_tiling and not pipe.director_vae_tiled


def test_a_job_on_a_second_gpu_makes_it_cudas_current_device_in_its_thread(monkeypatch):
    """Group offload makes its streams on CUDA's current device: cuda:1's jobs streamed from a cuda:0 stream (no
    copy/compute overlap), and empty_cache asked cuda:0. CUDA itself is the part faked here."""
    import contextlib

    import torch

    from director.runtime.context import current_device
    from director.runtime.executors import on_device

    entered = []

    @contextlib.contextmanager
    def device(index):
        entered.append(index)
        yield

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device", device)
    with on_device("cuda:1"):
        assert current_device.get() == "cuda:1" and entered == [1]
    with on_device(None), on_device("cpu"):
        assert entered == [1]
    assert current_device.get() is None
