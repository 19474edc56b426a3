"""The mix's BS.1770 meter (media/loudness.py): the standard's filter, pyloudnorm's readings, and a limited
signal measured by difference exactly as if it were filtered again."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from director.media.loudness import Loudness, integrated_loudness, k_biquads

# ITU-R BS.1770-4, Tables 1 and 2: the K-weighting filters' coefficients at 48 kHz
ITU_SHELF = ((1.53512485958697, -2.69169618940638, 1.19839281085285), (-1.69065929318241, 0.73248077421585))
ITU_HIGHPASS = ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621))


def _programme(rate: int, seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """Speech-like bursts over a quiet bed, stereo, with a near-silent stretch the gates must drop."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    bursts = (np.sin(2 * np.pi * 0.7 * t) > 0).astype(np.float32)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * bursts + 0.02 * rng.standard_normal(len(t))
    x = np.stack([tone, 0.6 * tone + 0.01 * rng.standard_normal(len(t))], axis=1).astype(np.float32)
    x[int(rate * 5):int(rate * 8)] *= 0.001
    return x


def test_the_filter_is_the_standards_at_48_khz():
    for (b, a), (ib, ia) in zip(k_biquads(48000), (ITU_SHELF, ITU_HIGHPASS)):
        assert np.allclose(b, ib, atol=1e-12) and np.allclose(a, ia, atol=1e-12)


@pytest.mark.parametrize("rate", [48000, 44100])
def test_readings_agree_with_pyloudnorm(rate):
    """pyloudnorm designs its shelf from rounder parameters (1500 Hz, 4 dB), a few hundredths of an LU away."""
    for x in (_programme(rate), _programme(rate)[:, 0], _programme(rate, 3.0, seed=1)):
        ours, theirs = integrated_loudness(x, rate), pyloudnorm.Meter(rate).integrated_loudness(x)
        assert abs(ours - theirs) < 0.06, (ours, theirs)
    assert integrated_loudness(np.zeros((rate * 2, 2), np.float32), rate) == float("-inf")
    assert integrated_loudness(np.zeros(rate // 10, np.float32), rate) == float("-inf")  # shorter than a block


def test_a_gain_and_a_limiter_curve_are_measured_as_if_filtered_again():
    rate = 48000
    x = _programme(rate)
    curve = np.ones(len(x))
    curve[rate * 2:rate * 2 + 900] = 0.25  # two limited stretches, one a second long, with ramps
    curve[rate * 11:rate * 12] = np.linspace(1.0, 0.4, rate)
    curve[rate * 13:rate * 17] = 0.6  # a long run (dense limiting): filtered in chunks, not in one transform
    meter = Loudness(x, rate)
    direct = integrated_loudness(x * 1.8 * curve[:, None].astype(np.float32), rate)
    assert meter.lufs(1.8, curve) == pytest.approx(direct, abs=1e-3)
    assert meter.lufs(2.0) == pytest.approx(meter.lufs() + 20 * np.log10(2.0), abs=1e-3)
    assert meter.lufs(1.8, curve) < meter.lufs(1.8)


def test_dense_limiting_is_measured_in_chunks_not_in_one_signal_long_transform():
    """A curve below 1 almost everywhere (loud music held by the limiter throughout) makes one run as long as the
    mix: its correction is filtered a piece of the run at a time, so memory stays a piece long, whatever the run's
    length (one transform of the whole run took 1.5 GB for three minutes of stereo; filtering each channel whole,
    ~0.4 GB)."""
    import tracemalloc

    rate = 48000
    x = _programme(rate, seconds=60.0)
    meter = Loudness(x, rate)
    t = np.arange(len(x)) / rate
    curve = (0.75 + 0.2 * np.sin(2 * np.pi * 3.1 * t)).astype(np.float32)  # below 1 throughout, never constant
    tracemalloc.start()
    try:
        limited = meter.lufs(1.0, curve)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the pieces join exactly: the same as measuring the limited signal itself (a piece misplaced by one sample
    # is off by far more)
    assert limited == pytest.approx(integrated_loudness(x * curve[:, None], rate), abs=1e-6)
    assert peak < 80e6, peak  # the run's indices (23 MB here) and one piece


@pytest.mark.parametrize("stem_db", [0.0, -12.0])
def test_music_alone_plays_music_db_under_the_dialogue_whatever_its_stems_own_level(tmp_path, stem_db):
    """The QC audit: the hook (music alone) sat 7-12.5 LU under the programme, by the stem's own level and the
    voices' (the master's gain): 5.6 dB apart between two projects with the same music. A cue alone now plays
    mix.music_db LU from the dialogue, whatever level its stem was made at."""
    from director.backends.types import Artifact
    from director.media.audio import read_wav, write_wav
    from director.media.loudness import integrated_loudness
    from director.project import MixConfig
    from director.stages.mix import MixRequest, mix

    rng = np.random.default_rng(3)

    def artifact(stage: str, data: np.ndarray, rate: int) -> Artifact:
        folder = tmp_path / stage
        folder.mkdir()
        write_wav(folder / "a.wav", data.astype(np.float32), rate)
        return Artifact(stage, stage, str(folder), {"audio": "a.wav"})

    t = np.arange(24000 * 4) / 24000
    voice = artifact("voice", 0.25 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)), 24000)
    music = artifact("music", 0.1 * 10 ** (stem_db / 20) * rng.standard_normal((48000 * 12, 2)), 48000)
    config = MixConfig(room_tone_db=None)
    mix(MixRequest(seconds=10.0, voices=((voice, 5.0),), music=((music, 0.0, 10.0),), sfx=(), config=config),
        tmp_path)
    out, rate = read_wav(tmp_path / "mix.wav")
    hook = integrated_loudness(out[int(0.5 * rate):int(4.5 * rate)], rate)  # the music alone
    lines = integrated_loudness(out[int(5.5 * rate):int(8.5 * rate)], rate)  # the line, over the ducked music
    assert hook - lines == pytest.approx(config.music_db, abs=1.0), (hook, lines)


def test_a_cues_intensity_still_sets_how_loud_it_plays():
    """The review: levelling each cue to the dialogue cancelled music.intensity (the preview made 0.1 -24.5 LUFS and
    0.9 -18.6, and both played at one level). It is 10 dB a unit from 0.6, within what an editor's volume takes."""
    from director.stages.mix import MUSIC_GAIN_DB, music_gain_db

    assert music_gain_db(-24.5, -14.0, -4.0, 0.9) - music_gain_db(-24.5, -14.0, -4.0, 0.3) == pytest.approx(6.0)
    assert music_gain_db(-24.5, -14.0, -4.0) == pytest.approx(6.5)  # the default intensity: music_db from the lines
    assert music_gain_db(-60.0, -14.0, -4.0, 1.0) == MUSIC_GAIN_DB[1] == 12.0
    assert music_gain_db(float("-inf"), -14.0, -4.0) == 0.0  # silence stays as it is


def test_an_effect_reaches_the_mix_without_dc_or_what_lies_under_30_hz():
    """The QC re-check: the thunder carried a -0.005 offset and 18% of its energy under 20 Hz, which took the
    limiter's headroom under the line after it (5.2 dB of reduction in the thunder's tail)."""
    from director.media.audio import high_pass

    rate = 48000
    t = np.arange(rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 8 * t) + 0.2 * np.sin(2 * np.pi * 400 * t) - 0.005).astype(np.float32)
    y = high_pass(x, rate)

    def level(z, hz):
        spectrum = np.abs(np.fft.rfft(z))
        return spectrum[int(round(hz * len(z) / rate))]

    assert abs(float(y.mean())) < 2e-4 and level(y, 8) < 0.01 * level(x, 8)
    assert level(y, 400) == pytest.approx(level(x, 400), rel=0.02)
    assert y[0] == 0 and y[-1] == 0  # from and to silence: nothing clicks where it is placed
