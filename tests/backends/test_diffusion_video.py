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
from tests.conftest import director, make_project, needs

pytestmark = needs("diffusers")

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


@pytest.mark.slow  # opt-in (make test-slow): 20 s; a seed's re-render is held on the preview path (test_invalidation)
def test_seed_change_rerenders_that_clip_only(tiny, tmp_path):  # and the Wan clip by the conformance test above
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


# ---------------------------------------------------------------------------------------------- talking shots (LTX-2)
def _talking_request(tmp: Path, frames: int = 17, talking=("mia",)):
    """A panel keyframe (it says where Mia's mouth is) and a line of syllables spoken 0.1 s into the clip."""
    import numpy as np

    from director.backends.preview.panel import PanelBackend, PanelConfig
    from director.backends.types import Artifact, FigureSpec, FrameRequest, SpeechSpan
    from director.media.audio import write_wav

    panel = tmp / "panel"
    panel.mkdir()
    made = PanelBackend(PanelConfig(header=False)).render(FrameRequest(
        shot_id="s1", size="CU", angle="eye-level", width=64, height=64, prompt="", caption="", location_id="room",
        location="room", time="day", look="", negative="", seed=1,
        figures=(FigureSpec("mia", "Mia", "yellow raincoat"),)), panel)
    voice = tmp / "voice"
    voice.mkdir()
    rate = 16000
    t = np.arange(int(0.6 * rate)) / rate
    write_wav(voice / "line.wav", (0.5 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 4 * t) > 0)).astype(np.float32),
              rate)
    speech = (SpeechSpan("mia", 0.1, Artifact("voice", "v1", str(voice), {"audio": "line.wav"})),)
    return ClipRequest(shot_id="s1", keyframe=Artifact("keyframes", "k1", str(panel), dict(made.files)),
                       move="static", width=64, height=64, fps=24.0, frames=frames, seed=3, prompt="Mia speaks",
                       talking=talking, speech=speech)


def test_a_talking_shot_is_generated_with_its_dialogue_held_fixed_at_every_step(tiny, tmp_path):
    """LTX-2 through its real loading path: the shot's voices, encoded by the pipeline's own audio VAE, reach the
    transformer unchanged (and un-noised) at every denoising step; the clip has exactly the shot's frames."""
    import numpy as np
    import torch

    from director.backends import Registry
    from director.backends.diffusion.talking import AUDIO_RATE, dialogue, log_mel

    config = Registry.discover().config_class("ltx2-talking").model_validate(
        {"model": str(tiny("ltx2_talking")), "resolution": 32, "device": "cpu", "tries": 1})
    backend = config.build()
    seen = []

    def hook(module, args, kwargs):
        seen.append((kwargs["audio_hidden_states"].detach().clone(), kwargs["audio_timestep"].detach().clone()))

    handle = backend.pipe.transformer.register_forward_pre_hook(hook, with_kwargs=True)
    req = _talking_request(tmp_path, frames=20)
    out = tmp_path / "out"
    out.mkdir()
    try:
        meta = flat(backend.render(req, out))
    finally:
        handle.remove()
    assert probe(out / "clip.mp4")["video"]["frames"] == 20 and meta["talking"] == ["mia"]
    assert len(seen) == config.steps >= 2  # one call per step of the distilled schedule
    first = seen[0][0]
    assert all(torch.equal(audio, first) for audio, _ in seen)  # unchanged at every step
    assert all(float(t.abs().max()) == 0.0 for _, t in seen)  # and never noised (sigma 0)
    # what reached the transformer is the dialogue as the pipeline's own audio VAE encodes it
    pipe, n = backend.pipe, first.shape[1]  # 25 audio latents a second, over the pass's whole canvas
    voice = dialogue(req, AUDIO_RATE)
    window = np.zeros(int(round(n / 25 * AUDIO_RATE)), np.float32)
    window[:len(voice)] = voice[:len(window)]
    with torch.no_grad():
        raw = pipe.audio_vae.encode(log_mel(window, pipe.audio_vae.config.mel_bins)).latent_dist.mode()
    packed = pipe._normalize_audio_latents(pipe._pack_audio_latents(raw[:, :, :n]),
                                           pipe.audio_vae.latents_mean, pipe.audio_vae.latents_std)
    assert torch.allclose(first, packed, atol=1e-5)
    silent = pipe._normalize_audio_latents(pipe._pack_audio_latents(pipe.audio_vae.encode(
        log_mel(np.zeros_like(window), pipe.audio_vae.config.mel_bins)).latent_dist.mode()[:, :, :n]),
        pipe.audio_vae.latents_mean, pipe.audio_vae.latents_std)
    assert not torch.allclose(first, silent, atol=1e-3)  # the voice is in it, not silence
    assert set(meta["sync"]) == {"mia"}  # scored where the panel says Mia's mouth is


def test_a_talking_shot_below_the_sync_threshold_is_made_again(tiny, tmp_path):
    from director.backends import Registry

    config = Registry.discover().config_class("ltx2-talking").model_validate(
        {"model": str(tiny("ltx2_talking")), "resolution": 32, "device": "cpu", "tries": 2, "sync_threshold": 1.0})
    out = tmp_path / "out"
    out.mkdir()
    made = config.build().render(_talking_request(tmp_path), out)
    assert [t["seed"] for t in made.report["tries"]] == [3, 1003]  # random weights never reach a perfect score
    assert any("below 1" in n for n in made.notes) and sorted(p.name for p in out.iterdir()) == ["clip.mp4"]


def test_our_log_mel_is_ltx2s_front_end():
    """The mel spectrogram LTX-2's audio processor computes (torchaudio, Slaney scale and norm), without
    torchaudio (whose PyPI wheels do not match every torch)."""
    import numpy as np
    import torch

    torchaudio = pytest.importorskip("torchaudio")
    from director.backends.diffusion.talking import log_mel

    wave = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.3
    theirs = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=1024, win_length=1024, hop_length=160,
                                                  f_min=0.0, f_max=8000.0, n_mels=64, window_fn=torch.hann_window,
                                                  center=True, pad_mode="reflect", power=1.0, mel_scale="slaney",
                                                  norm="slaney")(torch.as_tensor(wave))
    expected = torch.log(torch.clamp(theirs, min=1e-5)).T
    ours = log_mel(wave, 64)
    assert ours.shape == (1, 2, expected.shape[0], 64)
    assert torch.allclose(ours[0, 0], expected, atol=1e-3)


@pytest.mark.parametrize("source", [(576, 1024), (640, 1024)])  # the same aspect; wider (cropped at the sides)
def test_ffmpeg_fits_native_frames_to_the_frame_as_pil_did(tmp_path, source):
    """Clips are written at the model's size and scaled to cover + centre-cropped by ffmpeg (2.4x faster than
    Pillow's Lanczos per 121-frame clip): the picture matches the Pillow fit it replaced."""
    import numpy as np
    from PIL import ImageDraw

    from director.backends.diffusion import common
    from director.media.ffmpeg import FrameWriter
    from director.media.probe import probe, video_frame

    im = Image.new("RGB", source, (40, 60, 90))
    draw = ImageDraw.Draw(im)
    for i in range(0, source[0], 48):
        draw.ellipse((i, i, i + 200, i + 300), fill=(200 - i // 4, 100 + i // 5, 50))
    with FrameWriter(tmp_path / "pil.mp4", 1080, 1920, 24) as writer:
        for _ in range(3):
            writer.write(common.fit(im, 1080, 1920).tobytes())
    with FrameWriter(tmp_path / "ffmpeg.mp4", 1080, 1920, 24, source=source) as writer:
        for _ in range(3):
            writer.write(im.tobytes())
    assert probe(tmp_path / "ffmpeg.mp4")["video"]["width"] == 1080
    a, b = (np.asarray(video_frame(tmp_path / f"{n}.mp4", 0.05), np.float32) for n in ("pil", "ffmpeg"))
    assert 10 * np.log10(255 ** 2 / ((a - b) ** 2).mean()) > 40


def test_cogvideox_5b_refuses_a_portrait_shot_it_would_crop_to_a_strip(tiny):
    """CogVideoX-5B-I2V learned its position embeddings at 720x480: a 9:16 shot cut out of that is a 270x480
    strip magnified 4x. Refused, naming the 1.5 model that takes any size; a landscape shot is made there."""
    from director.errors import StageFailed

    backend = _config("cogvideox-i2v", tiny).build()
    backend.pipe.transformer.register_to_config(use_learned_positional_embeddings=True, sample_width=90,
                                                sample_height=60)
    scale = backend.pipe.vae_scale_factor_spatial

    def req(width, height):
        return ClipRequest(shot_id="s1", keyframe=None, move="static", width=width, height=height, fps=24, frames=9,
                           seed=1, prompt="", negative="")

    with pytest.raises(StageFailed, match="CogVideoX1.5-5B-I2V"):
        backend.native(req(1080, 1920))
    assert backend.native(req(1920, 1080)) == (90 * scale, 60 * scale)


@pytest.mark.parametrize("name", ["wan-i2v", "wan-flf2v"])
def test_wan_keeps_its_vae_and_image_encoder_in_float32_under_bf16(name, tiny, tmp_path):
    """As Wan's model cards load it: the denoiser in bf16, the VAE (and FLF2V's CLIP image encoder) in float32;
    the pipeline casts between them, and a clip comes out."""
    import torch

    backend = _config(name, tiny, dtype="bf16").build()
    pipe = backend.pipe
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.vae.dtype == torch.float32
    if getattr(pipe, "image_encoder", None) is not None:
        assert pipe.image_encoder.dtype == torch.float32
    first, second = _keyframes(tmp_path)
    req = ClipRequest(shot_id="s1", keyframe=artifact_of(first), move="static", width=36, height=64, fps=24,
                      frames=9, seed=1, prompt="Mia turns", negative="", next_keyframe=artifact_of(second))
    out = tmp_path / "out"
    out.mkdir()
    backend.render(req, out)
    assert probe(out / "clip.mp4")["video"]["frames"] == 9


def test_the_portrait_refusal_is_said_before_any_model_runs(tmp_path, tiny):
    """Said by the dry run and before the keyframes spend GPU time, not at the first clip."""
    project = make_project(tmp_path)
    config = project / "director.yaml"
    config.write_text(config.read_text() + "\nbackends:\n  video: {backend: cogvideox-i2v}\n")
    proc = director("-p", str(project), "render", "--profile", "final", "--dry-run")
    assert proc.returncode == 4 and "CogVideoX1.5-5B-I2V" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    from director.backends.diffusion.video import CogVideoXConfig
    assert CogVideoXConfig(model=str(tiny("cogvideox_i2v"))).format_problem(1080, 1920) is None  # rotary: any size
