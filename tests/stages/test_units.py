"""Timing, mixing and transitions in isolation."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from director.stages.assemble import filter_graph
from director.stages.mix import master, true_peak_db
from director.stages.timing import fit


def test_fit_covers_every_line_and_rounds_up_to_frames():
    frames, offsets = fit([1.0, 2.0], 24, lead_in=0.35, gap=0.25, tail=0.5, floor=1.5)
    assert offsets == [0.35, 1.6]
    assert frames == 99  # 0.35 + 1 + 0.25 + 2 + 0.5 = 4.1 s -> 98.4 -> 99 frames
    assert frames / 24 >= offsets[-1] + 2.0


def test_fit_never_under_the_floor():
    assert fit([0.2], 24, 0.1, 0.2, 0.1, 1.5)[0] == 36
    assert fit([], 25, 0.35, 0.25, 0.5, 2.0)[0] == 50
    assert fit([], 23.976, 0.35, 0.25, 0.5, 2.0)[0] == 48


def test_master_hits_loudness_and_true_peak():
    rate = 48000
    t = np.arange(rate * 5) / rate
    loud = (0.9 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2).astype(np.float32)
    spiky = np.stack([loud, loud], axis=1)
    spiky[rate:rate + 10] = 1.0  # a transient that a gain change alone would let through
    out, stats = master(spiky, rate, -14.0, -1.0)
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(out) + 14) < 0.5
    assert true_peak_db(out) <= -1.0


def test_master_never_limits_a_peak_by_more_than_its_depth_to_reach_the_target():
    """The sound audit: an episode of action beats and one knock was raised 34.5 dB (11.8 to normalise, the rest
    won back from the limiter): the room tone under it came out at -15.6 dBFS, flat noise, and the knock was limited
    by 31 dB. The limiter now takes at most MAX_LIMIT_DB off the loudest peak; the episode ends under its target,
    and says so."""
    import director.stages.mix as mix

    rate = 48000
    rng = np.random.default_rng(1)
    room = (rng.standard_normal(rate * 12) * 10 ** (-50 / 20)).astype(np.float32)
    knock = room.copy()
    t = np.arange(int(0.08 * rate)) / rate
    knock[rate * 5:rate * 5 + len(t)] += (0.7 * np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.015)).astype(np.float32)
    out, stats = mix.master(np.stack([knock, knock], 1), rate, -14.0, -1.0)
    raised = 20 * np.log10(np.std(out[:rate * 4, 0]) / np.std(knock[:rate * 4]))  # the room tone, before the knock
    peak_in = 20 * np.log10(np.max(mix.sample_peaks(np.stack([knock, knock], 1))))
    assert raised <= -1.0 - mix.ENCODER_MARGIN_DB - peak_in + mix.MAX_LIMIT_DB + 0.01, raised
    assert stats["lufs"] < -16 and any("missing the -14 LUFS target" in n for n in stats["notes"]), stats
    assert true_peak_db(out) <= -1.0
    # with room tone under it, the master raises the mix by ROOM_RAISE_DB at most, and says why
    out, stats = mix.master(np.stack([knock, knock], 1), rate, -14.0, -1.0, max_gain_db=mix.ROOM_RAISE_DB)
    raised = 20 * np.log10(np.std(out[:rate * 4, 0]) / np.std(knock[:rate * 4]))
    assert raised == pytest.approx(mix.ROOM_RAISE_DB, abs=0.05) and "effects over room tone" in stats["notes"][0], stats


def test_master_applies_the_nearest_try_with_its_own_limiter_curve(monkeypatch):
    """The tries share one curve buffer: when an earlier try was nearer the target than the last, its curve is made
    again, not the last try's left in the buffer."""
    import director.stages.mix as mix
    from director.media.loudness import Loudness

    rate = 48000
    t = np.arange(rate * 3) / rate
    x = (0.9 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    x[rate:rate + 10] = 1.0
    readings = iter([-20.0, -14.6, -30.0])  # the plain reading, then the two tries: the first is the nearer
    real = Loudness.lufs
    monkeypatch.setattr(Loudness, "lufs", lambda self, gain=1.0, curve=None: (real(self, gain, curve), next(readings))[1])
    monkeypatch.setattr(mix, "MASTER_TRIES", 2)
    monkeypatch.setattr(mix, "MAX_LIMIT_DB", 24.0)  # the tries' own logic, not the limiter's depth
    out, stats = mix.master(np.stack([x, x], 1), rate, -14.0, -1.0)
    assert stats["applied_gain_db"] == pytest.approx(6.0) and stats["lufs"] == -14.6
    gain = np.float32(10 ** (6.0 / 20))
    peaks = mix.sample_peaks(np.stack([x, x], 1))
    curve = mix.limiter_gain(peaks * gain, rate, -1.0 - mix.ENCODER_MARGIN_DB - 0.1)
    np.testing.assert_allclose(out, np.stack([x, x], 1) * gain * curve[:, None], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("ceiling", [-30.0, -3.0, -1.0, 5.0])
def test_the_limiter_filtered_only_near_its_peaks_equals_filtering_the_whole_signal(ceiling):
    """The limiter holds and smooths only the stretches around peaks over the ceiling (and at the signal's ends,
    where the filters reflect): the curve is the whole signal's, held 10 ms and smoothed over 10 ms, sample for
    sample -- with nothing over the ceiling (5 dB), everything over it (-30 dB) and clicks at both ends."""
    from director.media.audio import running, sample_peaks
    from director.stages.mix import limiter_gain

    rate = 48000
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4 * rate, 2)) * 0.05).astype(np.float32)
    for at in (0, 700, rate, rate + 1500, 2 * rate + 7, 4 * rate - 3):  # two close enough to share a stretch
        x[at:at + 3] = 0.9
    peaks = sample_peaks(x)
    need = np.minimum(np.float32(10 ** (ceiling / 20)) / np.maximum(peaks, np.float32(1e-9)), np.float32(1.0))
    whole = running("uniform", running("minimum", need, 2 * 480 + 1), 480, dtype=np.float32)
    curve = limiter_gain(peaks.copy(), rate, ceiling)
    np.testing.assert_array_equal(curve, whole)
    assert (curve < 1).any() == (ceiling < 0) and (curve == 1).any() == (ceiling > -30)


@pytest.mark.parametrize("length", [1, 13, 16384, 3 * 16384 + 5])
def test_the_oversampled_peaks_are_the_four_phases_convolved(length):
    """Tap by tap over cache-sized chunks, the meter is the four polyphase filters convolved with each channel
    ("same" alignment), the largest magnitude per sample: across chunk joins and at both ends."""
    from director.media.audio import PHASES, sample_peaks

    rng = np.random.default_rng(length)
    x = (rng.standard_normal((length, 2)) * 0.3).astype(np.float32)
    x[-1] = 0.95  # a click on the last sample: the filter's reach past the end
    expected = np.zeros(length, np.float32)
    for channel in x.T:
        for phase in PHASES:
            full = np.convolve(channel, phase, mode="full")[(len(phase) - 1) // 2:][:length]
            expected = np.maximum(expected, np.abs(full))
    np.testing.assert_allclose(sample_peaks(x), expected, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(sample_peaks(x[:, 0]), np.max([np.abs(np.convolve(x[:, 0], p, mode="full")
                                                                     [5:5 + length]) for p in PHASES], axis=0),
                               rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("freq", [997.0, 6000.0, 12000.0, 17000.0])
def test_true_peak_reads_a_sine_at_its_amplitude_and_beside_scipys_4x_resampler(freq):
    """Sampled sines whose samples miss their crests: the meter finds the crest (the sample peak does not)."""
    from scipy.signal import resample_poly

    rate = 48000
    n = np.arange(rate)
    x = (0.8 * np.sin(2 * np.pi * freq * n / rate + 0.3)).astype(np.float32)
    ours = true_peak_db(x)
    assert abs(ours - 20 * np.log10(0.8)) < 0.15, ours
    theirs = 20 * np.log10(np.abs(resample_poly(x, 4, 1)).max())
    assert abs(ours - theirs) < 0.4 and true_peak_db(x) > 20 * np.log10(np.abs(x).max()) - 0.01


def test_resampling_matches_scipys_polyphase_resampler_inside_the_clip():
    from scipy.signal import resample_poly

    from director.media.audio import resample

    rng = np.random.default_rng(1)
    t = np.arange(22050 * 2) / 22050
    voice = (0.5 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 3100 * t)
             + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    ours, theirs = resample(voice, 22050, 48000), resample_poly(voice, 320, 147)
    assert len(ours) == len(theirs) == 96000 and ours.dtype == np.float32
    inner = slice(2000, -2000)  # the ends differ (a periodic FFT against zero-padded FIR); the mix fades them
    assert np.abs(ours[inner] - theirs[inner]).max() < 0.01
    stereo = resample(np.stack([voice, -voice], axis=1), 22050, 44100)
    assert stereo.shape == (88200, 2) and np.allclose(stereo[:, 0], -stereo[:, 1])


def test_filter_graph_keeps_total_length_for_dissolves():
    graph = filter_graph([48, 48, 48], ["cut", "dissolve", "fade"], 24, None, None)
    assert "xfade" in graph and "tpad=stop_mode=clone:stop=6" in graph and "fade=t=in" in graph
    assert "offset=1.750000" in graph  # 48 frames - 6 held frames = 42 / 24
    # an offset that is not a whole number of microseconds is rounded down, never into the next frame
    graph = filter_graph([226, 48], ["cut", "dissolve"], 24, None, None)
    assert "offset=9.166666" in graph  # 220 frames; "9.1667" started the dissolve a frame late


def test_music_ducks_while_anyone_speaks():
    from director.stages.mix import speech_envelope

    rate = 8000
    dialogue = np.zeros(rate * 4, np.float32)
    dialogue[rate:2 * rate] = 0.3 * np.sin(np.arange(rate) / 3)  # someone speaks from 1 s to 2 s
    env = speech_envelope(dialogue, rate)
    assert env[int(1.5 * rate)] > 0.99  # fully ducked mid-line
    assert env[int(3.5 * rate)] < 0.01  # back up well after the line
    assert env[int(0.5 * rate)] < 0.01 and 0 < env[int(0.75 * rate)] < 1  # a gentle attack just before


@pytest.mark.parametrize("limited", [False, True])
def test_the_masters_true_peak_from_the_mixs_own_peaks_equals_a_fresh_measurement(limited):
    """Oversampling is linear: where the limiter did nothing, the output's peaks are the gain times the mix's; only
    around the limited stretches (at the signal's ends too) is it measured again -- the same figure either way."""
    from director.media.audio import sample_peaks
    from director.stages.mix import final_peak_db, limiter_gain

    rate = 48000
    rng = np.random.default_rng(3)
    mix = (rng.standard_normal((3 * rate, 2)) * 0.05).astype(np.float32)
    for at in (10, rate, 2 * rate + 7, 3 * rate - 20):  # clicks, two of them at the ends
        mix[at:at + 3] = 0.9
    peaks, gain = sample_peaks(mix), 1.7
    curve = limiter_gain(peaks * gain, rate, -1.0) if limited else None
    out = mix * np.float32(gain)
    if curve is not None:
        assert (curve < 1).any() and (curve == 1).any()
        out *= curve.astype(np.float32)[:, None]
    assert final_peak_db(out, peaks, gain, curve) == pytest.approx(true_peak_db(out), abs=1e-4)


def test_the_mix_encoded_in_parts_decodes_like_one_encode(tmp_path):
    """media/aac: three parts encoded side by side and joined frame by frame give the whole encode's length,
    alignment and quality; at each join the error is no larger than the codec's own anywhere else (a missing,
    repeated or misplaced frame is a click of the signal's size); before the first join, the same samples."""
    import subprocess

    from director.media.aac import encode_aac
    from director.media.audio import write_wav
    from director.media.ffmpeg import ffmpeg_exe

    rate, seconds = 48000, 16.5
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(7)
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t + 1) + 0.05 * rng.standard_normal(len(t))
    right = 0.3 * np.sin(2 * np.pi * 660 * t + 2) + 0.05 * rng.standard_normal(len(t))
    x = np.stack([left, right], axis=1).astype(np.float32)
    write_wav(tmp_path / "mix.wav", x, rate)

    def decoded(name: str) -> np.ndarray:
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / name), "-f", "f32le", "-"],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.float32).reshape(-1, 2)

    assert encode_aac(tmp_path / "mix.wav", tmp_path / "whole.m4a", "128k", len(x), rate, 1) == 1
    assert encode_aac(tmp_path / "mix.wav", tmp_path / "parts.m4a", "128k", len(x), rate, 3) == 3
    whole, parts = decoded("whole.m4a"), decoded("parts.m4a")
    # the priming frame skipped in both, and the last frame as long as the samples in it: the parts' last frame
    # had played to its 1024th sample, past the mix's end (16.5 s is not a whole number of frames)
    assert len(parts) == len(whole) == len(x)
    err_whole, err_parts = (np.abs(d[:len(x)] - x).max(axis=1) for d in (whole, parts))
    joins = [round(len(x) * i / 3 / 1024) * 1024 for i in (1, 2)]
    np.testing.assert_array_equal(parts[:joins[0] - 2048], whole[:joins[0] - 2048])
    window = 2048
    elsewhere = np.sort([err_whole[a:a + window].max() for a in range(window, len(x) - 2 * window, window)])
    for b in joins:
        assert err_parts[b - window // 2:b + window // 2].max() <= 1.5 * elsewhere[-1], b
    snr = [10 * np.log10((x ** 2).sum() / ((d[:len(x)] - x) ** 2).sum()) for d in (whole, parts)]
    assert snr[1] > snr[0] - 0.5 and snr[1] > 12, snr  # white noise above AAC's 16 kHz band: ~16 dB


def test_an_episode_with_nothing_to_hear_keeps_its_room_tone_at_its_own_level(tmp_path):
    """The room tone goes under the master; with no voice, music or effect the master measured the bed alone and
    raised it ~30 dB to the loudness target (a hiss at -17 dBFS)."""
    import glob
    import json

    import yaml

    from director.media.audio import read_wav
    from tests.conftest import director, make_project

    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    for scene in data["scenes"]:
        scene["beats"] = [{"action": "Nobody says a word."}]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", "--until", "mix", check=True)
    [wav] = glob.glob(str(project / ".director" / "cache" / "mix" / "*" / "*" / "mix.wav"))
    audio, _ = read_wav(wav)
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert -56 < rms_db < -40, rms_db  # mix.room_tone_db -50, +3/+5 dB for a street or rain
    manifest = json.loads(open(glob.glob(str(project / ".director/cache/mix/*/*/manifest.json"))[0]).read())
    assert manifest["meta"]["gain_db"] == 0.0 and manifest["meta"].get("applied_gain_db", 0.0) == 0.0


@pytest.mark.parametrize("colour", ["white", "black", "0xF0F0F0"])
def test_the_flashback_grade_stays_in_video_range(colour):
    """Its brightening scaled luma from 0, not 16: highlights went to 254 and clipped, blacks to 0."""
    import subprocess

    from director.media.ffmpeg import ffmpeg_exe
    from director.stages.segments import GRADES

    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=64x64:d=0.1",
                           "-vf", f"format=yuv420p,{GRADES['flashback']}", "-frames:v", "1", "-f", "rawvideo",
                           "-pix_fmt", "yuv420p", "-"], capture_output=True, check=True)
    luma = np.frombuffer(proc.stdout[:64 * 64], np.uint8)
    assert 16 <= luma.min() and luma.max() <= 235, (colour, luma.min(), luma.max())
