"""One conformance suite for every audio backend.

Voice: the preview eSpeak voice, Coqui TTS (a tiny random-weight VITS), Coqui TTS with OpenVoice
voice conversion (the license-clean cloning path, real architecture with random weights) and
XTTS-v2 cloning (a tiny random-weight XTTS).
Music: the preview procedural score and Stable Audio (a tiny random-weight StableAudioPipeline).
Each is loaded through the same path the backend uses for real models.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from director.backends.types import MusicRequest, SpeechRequest, VoiceParams
from director.errors import BackendUnavailable, StageFailed
from director.media.audio import read_wav, write_wav

VOICES = ["espeak", "coqui-tts", "coqui-tts+openvoice", "coqui-xtts"]
MUSIC = ["procedural-music", "stable-audio"]


def _sample(path: Path, pitch: float) -> str:
    """A 3 s voiced-like sample: a buzzy tone with a syllable rhythm."""
    rate = 16000
    t = np.arange(3 * rate) / rate
    buzz = np.sign(np.sin(2 * np.pi * pitch * t)) * 0.2 + np.sin(2 * np.pi * 2 * pitch * t) * 0.1
    write_wav(path, (buzz * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)).astype(np.float32), rate)
    return str(path)


@pytest.fixture(scope="module", params=VOICES)
def voice(request, tmp_path_factory):
    """(backend, sample or None): the sample is what a screenplay's voice.sample would give."""
    root = tmp_path_factory.mktemp("voices")
    if request.param == "espeak":
        from director.backends.preview.voice import EspeakConfig
        return EspeakConfig().build(), None
    pytest.importorskip("TTS")
    from director.backends.coqui import CoquiConfig
    from director.testing.voices import openvoice_converter, tiny_vits, tiny_xtts
    if request.param == "coqui-tts":
        return CoquiConfig(model=str(tiny_vits(root / "vits")), vc_model=None).build(), None
    if request.param == "coqui-xtts":
        return CoquiConfig(model=str(tiny_xtts(root / "xtts"))).build(), _sample(root / "ana.wav", 190.0)
    config = CoquiConfig(model=str(tiny_vits(root / "vits")), vc_model=str(openvoice_converter(root / "openvoice")))
    return config.build(), _sample(root / "ana.wav", 190.0)


def _say(voice, tmp: Path, text: str, seed: int = 0, name: str = "a", sample: str | None = None):
    backend, default_sample = voice
    out = tmp / name
    out.mkdir()
    req = SpeechRequest(text=text, language="en", emotion="scared", seed=seed,
                        voice=VoiceParams(speaker="ana", preset="female_young", sample=sample or default_sample))
    result = backend.synthesize(req, out)
    with wave.open(result.path) as w:
        assert w.getframerate() == result.sample_rate and w.getnchannels() == result.channels == 1
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return audio, result


def test_voice_declared_format_non_silent_plausible_length(voice, tmp_path):
    short, r1 = _say(voice, tmp_path, "Hi.", name="s")
    long, r2 = _say(voice, tmp_path, "Are you following me? I asked you a question, and I want an answer.", name="l")
    assert np.sqrt(np.mean(long ** 2)) > 1e-3  # not silence
    assert abs(r2.duration - len(long) / r2.sample_rate) < 0.01
    assert 0.1 < r1.duration < 5 and r2.duration < 30
    if not getattr(voice[0], "xtts", False):  # a random-weight XTTS's length is set by its token limit, not the text
        assert r2.duration > r1.duration


def test_voice_same_seed_same_audio(voice, tmp_path):
    a, _ = _say(voice, tmp_path, "Only since Tuesday.", seed=7, name="a")
    b, _ = _say(voice, tmp_path, "Only since Tuesday.", seed=7, name="b")
    assert np.array_equal(a, b)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_voice_empty_text_is_rejected_clearly(voice, tmp_path, text):
    with pytest.raises(StageFailed, match="empty line"):
        _say(voice, tmp_path, text)


def test_voice_conversion_follows_the_sample(voice, tmp_path):
    backend, sample = voice
    if sample is None:
        pytest.skip("this backend does not clone from a sample")
    a, result = _say(voice, tmp_path, "Only since Tuesday.", name="a")
    b, _ = _say(voice, tmp_path, "Only since Tuesday.", name="b", sample=_sample(tmp_path / "other.wav", 95.0))
    assert result.detail["cloned"] is True
    assert len(a) == len(b) and not np.array_equal(a, b)  # same words and timing, another timbre


def test_xtts_computes_speaker_latents_once_per_sample(voice, tmp_path):
    backend, sample = voice
    if not getattr(getattr(backend, "config", None), "is_xtts", lambda: False)():
        pytest.skip("XTTS only")
    model = backend.tts.synthesizer.tts_model
    calls = []
    real = model.get_gpt_cond_latents
    model.get_gpt_cond_latents = lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        backend._latents.clear()
        _say(voice, tmp_path, "One line.", name="a")
        _say(voice, tmp_path, "Another line.", name="b")
        _say(voice, tmp_path, "A third.", name="c", sample=_sample(tmp_path / "bo.wav", 100.0))
    finally:
        del model.get_gpt_cond_latents
    assert len(calls) == 2  # Ana's sample once, Bo's once


def test_xtts_needs_the_noncommercial_acknowledgement():
    pytest.importorskip("TTS")
    from director.backends.coqui import CoquiConfig
    config = CoquiConfig(model="tts_models/multilingual/multi-dataset/xtts_v2")
    with pytest.raises(BackendUnavailable, match="Coqui Public Model License"):
        config.check()
    with pytest.raises(BackendUnavailable, match="not on this machine.*xtts_v2"):
        config.check(license_ack="noncommercial")  # allowed, but the weights are not here


# --- music ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=MUSIC)
def music(request, tmp_path_factory):
    if request.param == "procedural-music":
        from director.backends.preview.music import ProceduralMusicConfig
        return ProceduralMusicConfig().build()
    pytest.importorskip("diffusers")
    pytest.importorskip("torchsde")
    from director.backends.diffusion.music import StableAudioConfig
    from director.testing.pipelines import stable_audio
    folder = stable_audio(tmp_path_factory.mktemp("music") / "stable-audio")
    return StableAudioConfig(model=str(folder), steps=3).build()


def _compose(backend, tmp: Path, mood="tense", intensity=0.7, seconds=1.2, seed=0, name="m"):
    out = tmp / name
    out.mkdir()
    result = backend.compose(MusicRequest(mood=mood, intensity=intensity, seconds=seconds, seed=seed), out)
    data, rate = read_wav(Path(result.path))
    assert rate == result.sample_rate == backend.sample_rate
    assert (data.shape[1] if data.ndim == 2 else 1) == result.channels == backend.channels
    return data, result


def test_music_declared_format_non_silent_exact_length(music, tmp_path):
    data, result = _compose(music, tmp_path, seconds=1.2)
    assert abs(len(data) / result.sample_rate - 1.2) < 1e-3 and abs(result.duration - 1.2) < 1e-3
    assert np.sqrt(np.mean(data ** 2)) > 1e-3 and np.abs(data).max() <= 1.0


def test_music_same_seed_same_audio_other_seed_other_audio(music, tmp_path):
    a, _ = _compose(music, tmp_path, seed=5, name="a")
    b, _ = _compose(music, tmp_path, seed=5, name="b")
    c, _ = _compose(music, tmp_path, seed=6, mood="romantic", name="c")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_music_long_cue_fills_its_span(music, tmp_path):
    """Longer than one Stable Audio pass (the tiny model writes ~1.5 s): the tail loops to the exact length."""
    data, result = _compose(music, tmp_path, seconds=4.0, mood="suspense in the rain")
    assert abs(len(data) / result.sample_rate - 4.0) < 1e-3
    quarter = len(data) // 4
    assert all(np.sqrt(np.mean(data[i * quarter:(i + 1) * quarter] ** 2)) > 1e-3 for i in range(3))  # no gap
    if hasattr(music, "max_seconds"):
        assert any("looped" in n for n in result.notes) and "suspense in the rain" in result.detail["prompt"]


def test_music_prompt_carries_mood_and_intensity():
    from director.backends.diffusion.music import music_prompt
    soft, _ = music_prompt("grief", 0.1, "cinematic")
    loud, _ = music_prompt("action", 0.95, "cinematic")
    assert "melancholic" in soft and "very soft" in soft and "grief" in soft
    assert "action" in loud and "climactic" in loud and "no vocals" in loud
    _, note = music_prompt("xyzzy", 0.5, "")
    assert note and "unknown music mood" in note


def test_stable_audio_license_is_recorded_as_conditional():
    from director.backends.diffusion.music import StableAudioConfig
    (need,) = StableAudioConfig().needs()
    assert need.id == "stabilityai/stable-audio-open-1.0" and need.license.commercial == "conditional"
    assert "Stability AI Community License" in need.license.name
    with pytest.raises(BackendUnavailable, match="stable-audio-open-1.0"):
        StableAudioConfig().check()


def test_music_reports_each_denoising_step(music, tmp_path):
    from director.store import steps
    if not hasattr(music, "max_seconds"):
        pytest.skip("the procedural score has no steps")
    seen: list[float] = []
    with steps.reporting(seen.append):
        _compose(music, tmp_path, seconds=1.0)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == music.config.steps


def test_xtts_voices_a_long_chinese_line_in_pieces_under_its_limit(voice, tmp_path):
    """XTTS truncates Chinese past 82 characters (its tokenizer spells it in pinyin first): a long line with
    no sentence end inside is voiced in pieces cut at its clauses, each within the limit, none lost."""
    backend, sample = voice
    if not getattr(backend, "xtts", False):
        pytest.skip("XTTS only")
    line = "，".join(["我在这座城市等了你整整三年" + "真的" * i for i in range(8)]) + "。"
    spoken = []
    real = backend._speak
    backend._speak = lambda text, *a: spoken.append(text) or real(text, *a)
    try:
        out = tmp_path / "zh"
        out.mkdir()
        req = SpeechRequest(text=line, language="zh-CN", emotion="sad", seed=1,
                            voice=VoiceParams(speaker="ana", preset="female_young", sample=sample))
        result = backend.synthesize(req, out)
    finally:
        del backend._speak
    assert len(line) > 82 and len(spoken) > 1 and all(len(p) <= 82 for p in spoken)
    assert "".join(spoken) == line and all(p.endswith(("，", "。")) for p in spoken)
    assert result.detail["sentences"] == len(spoken)
