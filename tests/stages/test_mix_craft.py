"""The mix as a re-recording mixer hears it (the sound audit): lines levelled and set by their delivery, effects
heard whole between lines, the episode's edges faded, the on-camera end of a call clean."""
from __future__ import annotations

import numpy as np
import pytest

from director.backends.types import Artifact
from director.media.audio import read_wav, write_wav
from director.media.loudness import integrated_loudness
from director.project import MixConfig
from director.stages.mix import DELIVERY_DB, MixRequest, level_db, mix, short_loudness

RATE = 48000


def _artifact(tmp_path, key: str, data: np.ndarray) -> Artifact:
    folder = tmp_path / key
    folder.mkdir(parents=True)
    write_wav(folder / "a.wav", data.astype(np.float32), RATE)
    return Artifact("voice", key, str(folder), {"audio": "a.wav"})


def _speech(seconds: float, level: float, seed: int) -> np.ndarray:
    """Speech-like: a voiced buzz under a syllable-rate envelope, at ``level`` peak."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    buzz = np.sign(np.sin(2 * np.pi * 140 * t)) * 0.5 + 0.3 * rng.standard_normal(len(t))
    return (level * buzz * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def _mixed(tmp_path, req: MixRequest, name: str):
    out = tmp_path / name
    out.mkdir()
    made = mix(req, out)
    return read_wav(out / "mix.wav")[0], made


def test_lines_are_levelled_then_set_by_their_delivery(tmp_path):
    """Lines came in at whatever level the voice made them (Ren 4.8 LU under Mia in the demo, a one-word line 4 LU
    over the rest), and a shout was no louder than a calm line. Each is levelled, then set by its emotion; the
    editor's timelines get the same gain per clip."""
    quiet, loud = _artifact(tmp_path, "quiet", _speech(2.0, 0.12, 1)), _artifact(tmp_path, "loud", _speech(2.0, 0.6, 2))
    whisper, shout = _artifact(tmp_path, "whisper", _speech(2.0, 0.3, 3)), _artifact(tmp_path, "shout", _speech(2.0, 0.3, 4))
    word = _artifact(tmp_path, "word", _speech(0.25, 0.8, 5))  # shorter than BS.1770's 400 ms block
    starts = (0.2, 2.6, 5.0, 7.4, 9.8)
    req = MixRequest(seconds=11.0, voices=tuple(zip((quiet, loud, whisper, shout, word), starts)),
                     music=(), sfx=(), config=MixConfig(room_tone_db=None),
                     deliveries=(0.0, 0.0, DELIVERY_DB["whisper"], DELIVERY_DB["furious"], 0.0))
    mixed, made = _mixed(tmp_path, req, "mix")
    heard = [integrated_loudness(mixed[int((s + 0.05) * RATE):int((s + 1.95) * RATE), 0], RATE) for s in starts[:4]]
    assert abs(heard[0] - heard[1]) < 0.5, heard  # 14 dB apart as made
    assert heard[2] - heard[0] == pytest.approx(DELIVERY_DB["whisper"], abs=0.5)
    assert heard[3] - heard[0] == pytest.approx(DELIVERY_DB["furious"], abs=1.0)  # (the limiter may touch a shout)
    gains = made.meta()["voice_gain_db"]
    assert gains[0] - gains[1] == pytest.approx(20 * np.log10(0.6 / 0.12), abs=0.5)
    assert gains[2] - gains[3] == pytest.approx(DELIVERY_DB["whisper"] - DELIVERY_DB["furious"], abs=0.3)
    gain = level_db(short_loudness(_speech(0.25, 0.8, 5), RATE))  # one block of its own length, not left at -inf
    assert gain < -3 and np.isfinite(gain) and level_db(float("-inf")) == 0.0


def test_an_effect_between_lines_is_heard_whole_and_the_episode_s_edges_are_faded(tmp_path):
    """The thunder 0.45 s after a line was ducked the full 6 dB at its onset (the music's envelope reaches 0.32 s
    ahead); the episode ended on an effect cut dead at the last sample."""
    line = _artifact(tmp_path, "line", _speech(1.5, 0.3, 1))
    t = np.arange(int(2.5 * RATE)) / RATE
    boom = _artifact(tmp_path, "boom", (0.5 * np.sin(2 * np.pi * 90 * t) * np.exp(-t / 1.5)).astype(np.float32))
    cfg = MixConfig(room_tone_db=None)
    alone = MixRequest(seconds=4.5, voices=(), music=(), sfx=((boom, 1.0, 2.2),), config=cfg)
    near = MixRequest(seconds=4.5, voices=((line, 0.2), (line, 2.5)), music=(), sfx=((boom, 1.0, 2.2),),
                      config=cfg)  # between two lines: 0.5 s after one, 0.3 s before the next
    a, made_alone = _mixed(tmp_path, alone, "alone")
    b, made_near = _mixed(tmp_path, near, "near")
    onset = slice(int(2.2 * RATE), int(2.35 * RATE))
    # the same effect, the master's and its own gains' differences aside: not lowered by the lines around it
    ga, gb = (m.meta()["applied_gain_db"] + m.meta()["sfx_gain_db"][0] for m in (made_alone, made_near))
    lowered = 20 * np.log10(np.std(b[onset, 0]) / np.std(a[onset, 0])) - (gb - ga)
    assert abs(lowered) < 0.5, lowered
    assert abs(b[-1, 0]) < 1e-4 and abs(b[0, 0]) < 1e-4  # faded at both edges (the effect still rings at the end)
    assert np.max(np.abs(b[-int(0.6 * RATE):-int(0.5 * RATE), 0])) > 0.01


def test_in_an_intercut_call_only_the_far_end_is_heard_through_the_phone(tmp_path):
    """tests/data/craft's call cuts between the two ends: each speaker's line under their own close-up was
    band-limited like the far end's. A phone line is filtered only where its speaker is not in the shot."""
    from director.project import Project
    from director.runtime.render import explain
    from director.stages.mix import delivery, device_lines
    from tests.conftest import DATA, director, make_project

    project = make_project(tmp_path, DATA / "craft", size=(108, 192))
    director("-p", str(project), "render", "--until", "timing", check=True)
    ctx, _, _ = explain(Project.find(project))
    placed = ctx.placements()
    shot_of = {ref: shot for shot in ctx.shots for ref in shot.beats}
    phone = [i for i, p in enumerate(placed) if ctx.beats[p.ref].line and ctx.beats[p.ref].line.heard_as == "phone"]
    filtered = dict(device_lines(ctx))
    assert len(phone) == 3 and set(filtered) < set(phone) and all(filtered[i] == "phone" for i in filtered)
    for i in phone:
        line = ctx.beats[placed[i].ref].line
        assert (i in filtered) == (line.who not in shot_of[placed[i].ref].characters), (line.text, filtered)
    assert delivery(ctx.beats[placed[phone[0]].ref].line) == "whisper"  # (压低声音)


def test_effects_are_set_against_the_dialogue_spots_near_it_beds_under_it(tmp_path):
    """Each effect went in at its file's 0.7 peak: the preview's phone ring played 5 LU over the lines, its knock
    10 under, the rain bed 4.6 dB from the dialogue. A spot effect now sits SFX_DB from the dialogue, a bed BED_DB;
    `volume` moves it from there; the timelines get the same gains."""
    from director.stages.mix import BED_DB, SFX_DB, is_bed

    line = _artifact(tmp_path, "line", _speech(2.0, 0.3, 1))
    t = np.arange(int(1.5 * RATE)) / RATE
    ring = _artifact(tmp_path, "ring", (0.7 * np.sign(np.sin(2 * np.pi * 900 * t))).astype(np.float32))
    rng = np.random.default_rng(3)
    rain = _artifact(tmp_path, "rain", (0.7 * rng.standard_normal(len(t)) / 3).astype(np.float32))
    knock = _artifact(tmp_path, "knock", (0.7 * np.sin(2 * np.pi * 180 * t[:4800]) * np.exp(-t[:4800] / 0.02))
                      .astype(np.float32))
    req = MixRequest(seconds=12.0, voices=((line, 0.2),), music=(),
                     sfx=((ring, 1.0, 3.0), (rain, 1.0, 5.0), (knock, 0.5, 7.0)), config=MixConfig(room_tone_db=None),
                     beds=(False, True, False))
    mixed, made = _mixed(tmp_path, req, "mix")
    talk = integrated_loudness(np.stack([mixed[int(0.25 * RATE):int(2.15 * RATE), 0]] * 2, 1), RATE)
    heard = [integrated_loudness(mixed[int(a * RATE):int((a + 1.5) * RATE)], RATE) for a in (3.0, 5.0)]
    assert heard[0] - talk == pytest.approx(SFX_DB, abs=1.0), (heard, talk)
    assert heard[1] - talk == pytest.approx(BED_DB, abs=1.0), (heard, talk)
    gains = made.meta()["sfx_gain_db"]
    assert len(gains) == 3 and gains[0] < -6  # the ring (a square wave at 0.7) comes down a long way
    assert is_bed("暴雨") and is_bed("heavy rain") and not is_bed("knock") and not is_bed("gunshot")
    # whole words: "window shatter" is no wind, "train horn" no rain (the preview played rain for it), 雨伞 no rain
    assert not any(is_bed(n) for n in ("window shatter", "train horn", "drain", "雨伞打开", "风铃"))


def test_a_stopped_cue_fades_out_before_its_stop_with_cues_after_it_too(tmp_path):
    """A music `stop` faded the cue out before it when it was the last cue, but with cues after it the cue played
    0.6 s past the stop (a cross-fade into nothing), under the next line."""
    from director.stages.mix import joins

    rng = np.random.default_rng(5)
    score = (0.2 * rng.standard_normal((RATE * 12, 2))).astype(np.float32)
    folder = tmp_path / "m"
    folder.mkdir()
    write_wav(folder / "a.wav", score, RATE)
    music = Artifact("music", "m", str(folder), {"audio": "a.wav"})
    cues = ((music, 0.0, 3.0), (music, 5.0, 8.0), (music, 8.0, 10.0))  # stopped at 3; 5-8 runs into 8-10
    assert joins([(start, end) for _, start, end in cues]) == [False, True, False]
    mixed, _ = _mixed(tmp_path, MixRequest(seconds=10.0, voices=(), music=cues, sfx=(),
                                           config=MixConfig(room_tone_db=None)), "mix")
    after_stop = mixed[int(3.0 * RATE):int(4.9 * RATE)]
    assert np.max(np.abs(after_stop)) < 1e-4  # silent after the stop, until the next cue
    assert np.std(mixed[int(2.0 * RATE):int(2.1 * RATE)]) > 4 * np.std(mixed[int(2.9 * RATE):int(2.98 * RATE)])


def test_the_ducking_envelope_in_parts_is_the_envelope_whole():
    """Effects are ducked as they are placed, from the envelope's per-millisecond values (no episode-long array)."""
    from director.stages.mix import coarse_envelope, envelope_at, speech_envelope

    rng = np.random.default_rng(2)
    dialogue = np.zeros(RATE * 5, np.float32)
    for a in (0.3, 1.9, 3.2):
        dialogue[int(a * RATE):int(a * RATE) + int(0.7 * RATE)] = rng.standard_normal(int(0.7 * RATE)) * 0.1
    whole = speech_envelope(dialogue, RATE, 0.05, 0.05)
    coarse = coarse_envelope(dialogue, RATE, 0.05, 0.05)
    for first, count in ((0, 1000), (12345, 48000), (RATE * 5 - 700, 700), (RATE * 5 - 100, 5000), (47, 1)):
        part = envelope_at(coarse, RATE, first, count)
        expected = np.pad(whole[first:first + count], (0, max(0, first + count - len(whole))))
        np.testing.assert_allclose(part, expected, atol=1e-6)
