"""One conformance suite for every voice backend: the preview eSpeak voice and Coqui TTS (tiny VITS)."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from director.backends.types import SpeechRequest, VoiceParams
from director.errors import BackendUnavailable, StageFailed


def _coqui(tmp_root: Path):
    pytest.importorskip("TTS")
    from director.backends.coqui import CoquiConfig
    from director.testing.voices import tiny_vits
    folder = tmp_root / "vits"
    if not folder.exists():
        tiny_vits(folder)
    return CoquiConfig(model=str(folder), vc_model=None).build()


def _espeak(_tmp_root: Path):
    from director.backends.preview.voice import EspeakConfig
    return EspeakConfig().build()


@pytest.fixture(scope="module", params=["espeak", "coqui-tts"])
def backend(request, tmp_path_factory):
    return (_espeak if request.param == "espeak" else _coqui)(tmp_path_factory.mktemp("voices"))


def _say(backend, tmp: Path, text: str, seed: int = 0, name: str = "a") -> tuple[np.ndarray, object]:
    out = tmp / name
    out.mkdir()
    req = SpeechRequest(text=text, language="en", voice=VoiceParams(speaker="ana", preset="female_young"),
                        emotion="scared", seed=seed)
    result = backend.synthesize(req, out)
    with wave.open(result.path) as w:
        assert w.getframerate() == result.sample_rate and w.getnchannels() == result.channels == 1
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return audio, result


def test_declared_format_non_silent_plausible_length(backend, tmp_path):
    short, r1 = _say(backend, tmp_path, "Hi.", name="s")
    long, r2 = _say(backend, tmp_path, "Are you following me? I asked you a question, and I want an answer.", name="l")
    assert np.sqrt(np.mean(long ** 2)) > 1e-3  # not silence
    assert abs(r2.duration - len(long) / r2.sample_rate) < 0.01
    assert r2.duration > r1.duration and 0.1 < r1.duration < 5 and r2.duration < 30


def test_same_seed_same_audio(backend, tmp_path):
    a, _ = _say(backend, tmp_path, "Only since Tuesday.", seed=7, name="a")
    b, _ = _say(backend, tmp_path, "Only since Tuesday.", seed=7, name="b")
    assert np.array_equal(a, b)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_rejected_clearly(backend, tmp_path, text):
    with pytest.raises(StageFailed, match="empty line"):
        _say(backend, tmp_path, text)


def test_xtts_needs_the_noncommercial_acknowledgement():
    pytest.importorskip("TTS")
    from director.backends.coqui import CoquiConfig
    config = CoquiConfig(model="tts_models/multilingual/multi-dataset/xtts_v2")
    with pytest.raises(BackendUnavailable, match="Coqui Public Model License"):
        config.check()
    with pytest.raises(BackendUnavailable, match="not on this machine.*xtts_v2"):
        config.check(license_ack="noncommercial")  # allowed, but the weights are not here
