"""Mix: dialogue over music (ducked while anyone speaks) and sound effects, at broadcast loudness.

Loudness is normalised to the target integrated loudness (-14 LUFS by default, ITU-R BS.1770,
``media/loudness.py``) and a look-ahead limiter on the 4x-oversampled signal holds the true peak
under the ceiling (with a margin for the AAC encoder), re-measured after every pass. The true
peak and the resampling are numpy (``media/audio.py``); ``true_peak_db`` is re-exported here.
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from director.backends.types import Artifact, Made, added, keyed, unkeyed
from director.media.aac import encode_aac
from director.media.ffmpeg import usable_cores
from director.media.audio import (TAPS_PER_PHASE, fade, high_pass, read_wav, resample, running, sample_peaks, to_stereo,
                                  true_peak_db, write_wav)
from director.project import MixConfig
from director.shots import shot_location
from director.stages.base import Stage
from director.vocab import OUTDOOR_WORDS, delivered_emotion
from director.stages.music import CROSSFADE, music_cues
from director.store import steps
from director.store.cache import file_stamp
from director.store.files import read_own, write_json

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

ENCODER_MARGIN_DB = 0.6  # AAC adds a little overshoot; limit this much below the ceiling
MASTER_TRIES = 8
MIX_SECONDS_PER_SECOND = 0.03  # CPU per second of episode, roughly (the scheduler's cost of the job)
MAX_PUSH_DB = 6.0  # never push more than this above plain normalisation to win back what limiting took
MAX_LIMIT_DB = 12.0  # the most the limiter takes off the loudest peak: an episode whose loudness is all in a few
# peaks (a knock over room tone) ends under its target, said so, instead of being raised 34.5 dB (22.7 of them won
# back from the limiter, MAX_PUSH_DB was 24) into flat noise. A shouted line's peaks take 6-12 dB: allowed
DIALOGUE_LUFS = -20.0  # each line is levelled to this (mono, before the master) and then by its delivery
LEVEL_DB = 12.0  # the most a line is raised or lowered to sit at the dialogue's level
DELIVERY_DB = {"whisper": -6.0, "tender": -1.5, "sad": -1.5, "tired": -2.0, "mysterious": -2.0, "crying": -1.0,
               "nervous": -1.0, "cold": -0.5, "angry": 2.0, "furious": 3.0, "terrified": 2.0, "desperate": 1.5,
               "excited": 1.5, "shocked": 1.0, "pleading": 0.5}  # LU from the dialogue's level, by emotion
ROOM_RAISE_DB = 12.0  # the most the master raises effects over room tone, with no dialogue or music (-50: -38)
EDGE_FADE = (0.01, 0.5)  # seconds: the episode's first sound fades in, its last fades out (it ended mid-effect)


def _need(peaks: np.ndarray, ceiling: np.float32) -> np.ndarray:
    """The gain each sample may have, at most 1: the ceiling over its peak."""
    need = np.divide(ceiling, np.maximum(peaks, np.float32(1e-9)))
    return np.minimum(need, np.float32(1.0), out=need)


def limiter_gain(peaks: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """A look-ahead limiter's gain per sample, from the signal's oversampled peaks (``sample_peaks``; the array is
    used up, the gain is made in it): never above what keeps a peak under the ceiling, held 10 ms either side and
    smoothed over 10 ms.

    The gain is below 1 only within 20 ms of a sample whose peak is over the ceiling, and a mix at its loudness has
    few of them (7% of a 60 s episode's samples, in ~70 stretches): the hold and the smoothing run only on those
    stretches with the reach of both filters either side, where the whole signal's filters would see the same
    samples, and everything else is 1. The same curve as filtering the whole signal (to float32 rounding), at a
    tenth of its cost: it was ~0.2 s of every try of a minute's master."""
    ceiling = np.float32(10 ** (ceiling_db / 20))
    smooth = max(1, int(0.01 * rate))
    reach = 2 * smooth  # the hold's reach plus the smoothing's, rounded up
    over = np.flatnonzero(peaks > ceiling)
    n = len(peaks)
    if len(over):
        over = over[_need(peaks[over], ceiling) < 1]  # a peak a rounding over the ceiling may still need 1
    if not len(over):
        peaks.fill(1.0)
        return peaks
    # stretches far enough apart that no filter reaches from one into the next; each with 2 reaches either side,
    # where the gain is 1 on the whole signal and, reflected at the stretch's edge, 1 here too
    breaks = np.flatnonzero(np.diff(over) > 4 * reach) + 1
    stretches = [(max(0, int(r[0]) - 2 * reach), min(n, int(r[-1]) + 1 + 2 * reach)) for r in np.split(over, breaks)]
    gains = []
    for lo, hi in stretches:
        held = running("minimum", _need(peaks[lo:hi], ceiling), 2 * smooth + 1)
        gains.append(running("uniform", held, smooth, dtype=np.float32))
    peaks.fill(1.0)
    for (lo, hi), gain in zip(stretches, gains):
        peaks[lo:hi] = gain
    return peaks


def limiter_curve(peaks: np.ndarray, gain: float, rate: int, ceiling_db: float, out: np.ndarray) -> np.ndarray | None:
    """The limiter's gain per sample for the mix at ``gain`` (made in ``out``, which a master's tries share), or
    None when no oversampled peak reaches ``ceiling_db`` (the limiter holds 0.1 dB under it)."""
    if 20 * np.log10(max(float(peaks.max()) * gain, 1e-12)) <= ceiling_db:
        return None
    return limiter_gain(np.multiply(peaks, np.float32(gain), out=out), rate, ceiling_db - 0.1)


def final_peak_db(out: np.ndarray, peaks: np.ndarray, gain: float, curve: np.ndarray | None) -> float:
    """The true peak (dBTP) of ``out`` = the mix x ``gain`` x the limiter's ``curve``, from the mix's own oversampled
    ``peaks``: oversampling is linear, so wherever the curve is 1 within the interpolation filter's reach, out's
    peaks are the mix's times the gain; only the stretches around limiting are measured again. Equal to
    ``true_peak_db(out)`` (to float32 rounding) at a fraction of its cost."""
    top = 0.0
    if curve is None:
        top = float(peaks.max(initial=0.0)) * gain
    else:
        reach = TAPS_PER_PHASE
        near = running("maximum", (curve < 1.0).view(np.uint8), 2 * reach + 1).astype(bool)
        if not near.all():
            top = float(peaks[~near].max()) * gain
        idx = np.flatnonzero(near)
        if len(idx):
            breaks = np.flatnonzero(np.diff(idx) > 1) + 1
            for run in np.split(idx, breaks):
                a, b = int(run[0]), int(run[-1]) + 1
                lo, hi = max(0, a - reach), min(len(out), b + reach)
                top = max(top, float(sample_peaks(out[lo:hi])[a - lo:b - lo].max()))
    return 20 * float(np.log10(max(top, 1e-12))) if out.size else -240.0


def limit(x: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """Look-ahead limiter: gain never above what keeps the oversampled peak under the ceiling."""
    return (x * limiter_gain(sample_peaks(x), rate, ceiling_db)[:, None]).astype(np.float32)


ENVELOPE_STEP = 0.001  # seconds: the ducking envelope's resolution


def speech_envelope(dialogue: np.ndarray, rate: int, reach: float = 0.25, ramp: float = 0.15) -> np.ndarray:
    """0..1 per sample: how much anyone is speaking, with a gentle attack before and release after (anyone speaking
    within ``reach`` s, ramped over ``ramp`` s). Worked out per millisecond and interpolated back to the samples: a curve
    this slow changes by under 1% of its travel in a millisecond, and per sample it was 0.1-0.3 s of every mix, on
    a one-line edit's path."""
    return envelope_at(coarse_envelope(dialogue, rate, reach, ramp), rate, 0, len(dialogue))


def coarse_envelope(dialogue: np.ndarray, rate: int, reach: float = 0.25, ramp: float = 0.15) -> np.ndarray:
    """``speech_envelope`` per millisecond (a 3-minute episode's is 180,000 values, not 8.6 million)."""
    step = max(1, int(round(rate * ENVELOPE_STEP)))
    n = len(dialogue)
    steps = -(-n // step)
    heard = np.zeros(steps * step, bool)
    np.greater(np.abs(dialogue), 1e-3, out=heard[:n])
    active = heard.reshape(steps, step).any(axis=1).view(np.uint8)  # anyone heard in this millisecond
    del heard
    held = running("maximum", active, int(2 * reach * rate / step) | 1)
    coarse = running("uniform", held, max(1, int(ramp * rate / step)), dtype=np.float32)
    return np.clip(coarse, 0, 1, out=coarse)


def envelope_at(coarse: np.ndarray, rate: int, first: int, count: int) -> np.ndarray:
    """Samples [first, first + count) of the envelope whose per-millisecond values are ``coarse``: within each
    millisecond, from the one before's value to its own (0 past its end)."""
    step = max(1, int(round(rate * ENVELOPE_STEP)))
    if count <= 0 or not len(coarse):
        return np.zeros(max(0, count), np.float32)
    j0, j1 = first // step, min(len(coarse), -(-(first + count) // step))
    if j1 <= j0:
        return np.zeros(count, np.float32)
    part = coarse[j0:j1]
    before = np.concatenate((coarse[j0 - 1:j0] if j0 else part[:1], part[:-1]))
    within = ((np.arange(step, dtype=np.float32) + 1) / step)[None, :]
    out = (before[:, None] + (part - before)[:, None] * within).reshape(-1)[first - j0 * step:]
    return np.pad(out[:count], (0, max(0, count - len(out))))


ROOM_WORDS = {"rain": ("rain", "storm", "雨", "暴雨"),
              "street": OUTDOOR_WORDS}  # as the planner reads a place (an outdoor playground had a room's tone)
ROOM_SHAPE = {"room": (1.6, 40.0, 2500.0, 0.0), "street": (1.0, 30.0, 6000.0, 4.0), "rain": (0.4, 200.0, 12000.0, 0.0)}
ROOM_LEVEL = {"room": 0.0, "street": 3.0, "rain": 5.0}  # dB over mix.room_tone_db
ROOM_LOOP = 8.0  # seconds of room tone, repeated (under the mix at -50 dB: no one hears it loop)


def room_kind(location_id: str, description: str) -> str:
    """The ambience a place has: rain, street, or a room."""
    text = f"{location_id} {description}".lower()
    for kind, words in ROOM_WORDS.items():
        if any(w in text for w in words):
            return kind
    return "room"


def scene_rooms(ctx) -> tuple[tuple[float, float, str, str], ...]:
    """(start, end, location, kind) of each scene in the episode, from its shots' places in time."""
    starts = ctx.starts()
    spans: list[list] = []
    for shot in ctx.shots:
        where = shot_location(ctx.sp, shot)
        if not spans or spans[-1][4] != (shot.scene, where):  # an intercut changes the room within a scene
            place = ctx.sp.locations.get(where)
            spans.append([starts[shot.id], None, where, room_kind(where, place.description if place else ""),
                          (shot.scene, where)])
        spans[-1][1] = starts[shot.id] + ctx.frames(shot) / ctx.sp.format.fps
    return tuple((round(a, 4), round(b, 4), loc, kind) for a, b, loc, kind, _ in spans)


KEPT_BYTES = 128 << 20  # what ``keep_stems`` keeps at most: a 3-minute episode's pieces are ~100 MB (its music 69)
_kept: OrderedDict[tuple, Any] = OrderedDict()
_kept_lock = threading.Lock()
_keeping = False


def keep_stems(on: bool = True) -> None:
    """Keep the mix's prepared pieces (each voice, effect and music cue read and resampled, each room's noise) in
    this process between mixes, up to ``KEPT_BYTES``, the least recently used dropped first: ``render --watch`` mixes
    again after every edit, and an edit changes one line. A plain render keeps nothing: the mix is its peak memory,
    and it mixes once."""
    global _keeping
    with _kept_lock:
        _keeping = on
        if not on:
            _kept.clear()


def _prepared(key: tuple, make: Callable[[], Any]) -> tuple[Any, bool]:
    """(``make()``, or what it made for ``key`` before where kept: an array or a tuple of arrays and numbers,
    read-only; whether it is kept). A piece read from a file names the file's stamp in its key (``_heard``)."""
    if not _keeping:
        return make(), False
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key], True
    value = make()
    if _nbytes(value) > KEPT_BYTES:  # (a music cue of many minutes) never kept: the bound is a bound
        return value, False
    for part in value if isinstance(value, tuple) else (value,):
        if isinstance(part, np.ndarray):
            part.flags.writeable = False  # shared by later mixes: whoever changes it copies it
    with _kept_lock:
        _kept[key] = value
        total = sum(_nbytes(v) for v in _kept.values())
        while total > KEPT_BYTES:
            total -= _nbytes(_kept.popitem(last=False)[1])
    return value, key in _kept


def _nbytes(value: Any) -> int:
    return sum(getattr(part, "nbytes", 0) for part in (value if isinstance(value, tuple) else (value,)))


def _room_loop(loop: int, rate: int, kind: str, seed: str) -> tuple[np.ndarray, float]:
    """``loop`` samples of a place's noise, shaped by FFT (so periodic: it tiles without a seam), and the phase of a
    street's swell."""
    import zlib

    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    slope, low, high, _ = ROOM_SHAPE[kind]
    spectrum = np.fft.rfft(rng.standard_normal(loop))
    freqs = np.fft.rfftfreq(loop, 1 / rate)
    shape = np.where((freqs >= low) & (freqs <= high), 1.0 / np.maximum(freqs, 1.0) ** (slope / 2), 0.0)
    return np.fft.irfft(spectrum * shape, loop), rng.random() * 6.28


def room_tone(seconds: float, rate: int, kind: str, seed: str) -> np.ndarray:
    """Seamless noise shaped like a place (spectral slope and band; a street's traffic swells), RMS 1."""
    n = max(1, int(seconds * rate))
    loop = min(n, int(ROOM_LOOP * rate))
    (shaped, phase), _ = _prepared(("room", loop, rate, kind, seed), lambda: _room_loop(loop, rate, kind, seed))
    noise = np.resize(shaped, n)
    if ROOM_SHAPE[kind][3]:  # a street's swell
        t = np.arange(n) / rate
        noise *= 1.0 + 0.5 * np.sin(2 * np.pi * t / (seconds / max(1, round(seconds / 7))) + phase)
    rms = float(np.sqrt(np.mean(noise ** 2))) or 1.0
    return (noise / rms).astype(np.float32)


def room_bed(rooms, n: int, rate: int, level_db: float) -> np.ndarray:
    """Each scene's room tone at ``level_db`` dBFS RMS, cross-faded over 0.3 s at scene changes."""
    bed = np.zeros(n, np.float32)
    for start, end, place, kind in rooms:
        a, b = int(start * rate), min(n, int(end * rate))
        edge = int(0.15 * rate)
        lo, hi = max(0, a - edge), min(n, b + edge)
        if hi <= lo:
            continue
        tone = room_tone((hi - lo) / rate, rate, kind, place) * 10 ** ((level_db + ROOM_LEVEL[kind]) / 20)
        _place(bed, fade(tone[:hi - lo], rate, 0.3 if lo > 0 else 0.0, 0.3 if hi < n else 0.0), lo)
    return bed


DEVICE_BANDS = {"phone": (300.0, 3400.0, 2.0), "radio": (450.0, 3000.0, 4.0)}  # pass band (Hz), drive


def device_voice(data: np.ndarray, rate: int, kind: str) -> np.ndarray:
    """A voice heard through a phone (the 300-3400 Hz telephone band) or a radio (narrower, driven harder):
    band-limited with a 4th-order Butterworth and softly saturated, at the loudness it had."""
    from scipy.signal import butter, sosfiltfilt

    low, high, drive = DEVICE_BANDS[kind]
    sos = butter(4, [low, min(high, rate / 2 * 0.95)], btype="bandpass", fs=rate, output="sos")
    out = sosfiltfilt(sos, data.astype(np.float64))
    out = np.tanh(out * drive) / np.tanh(drive)  # the small speaker's grit
    before, after = float(np.sqrt(np.mean(data ** 2)) or 0.0), float(np.sqrt(np.mean(out ** 2)) or 0.0)
    return (out * (before / after if after > 1e-9 else 1.0)).astype(np.float32)


def master(mixed: np.ndarray, rate: int, target_lufs: float, ceiling_db: float, in_place: bool = False,
           max_gain_db: float = np.inf) -> tuple[np.ndarray, dict]:
    """The mix at the target loudness with its true peak under the ceiling, raised by ``max_gain_db`` at most;
    ``in_place``: ``mixed`` becomes the result (a long episode's mix is not copied once more)."""
    from director.media.loudness import Loudness

    # the oversampled peaks (they scale with the gain, so they are measured once) beside the K-weighting (once;
    # every try below is measured by difference): both are numpy loops that release the GIL
    with ThreadPoolExecutor(max_workers=1) as pool:
        measuring = pool.submit(sample_peaks, mixed)
        meter = Loudness(mixed, rate)
        peaks = measuring.result()
    loudness = meter.lufs()
    if not np.isfinite(loudness):  # silence: nothing to normalise
        return mixed, {"lufs": None, "true_peak": round(float(true_peak_db(mixed)), 2), "gain_db": 0.0, "notes": []}
    # Gain and limiting are always applied to the original mix (never to an already limited one), and the
    # gain is searched: limiting costs loudness, so gain g_{k+1} = g_k + (target - L_k) until L hits the target.
    gain_db = target_lufs - loudness
    ceiling = ceiling_db - ENCODER_MARGIN_DB
    loudest = float(peaks.max()) if len(peaks) else 0.0
    most = min(ceiling - 20 * np.log10(loudest) + MAX_LIMIT_DB if loudest > 0 else np.inf, max_gain_db)  # gain dB
    gain_db = min(gain_db, most)
    buffer = np.empty_like(peaks)  # every try's curve in one signal-length array (35 MB for 3 minutes)
    best: tuple[float, float] | None = None  # (loudness, gain dB) of the try nearest the target
    for _ in range(MASTER_TRIES):
        gain = 10 ** (gain_db / 20)
        curve = limiter_curve(peaks, gain, rate, ceiling, buffer)
        measured = meter.lufs(gain, curve)
        last = gain_db
        if best is None or abs(measured - target_lufs) < abs(best[0] - target_lufs):
            best = (measured, gain_db)
        if abs(measured - target_lufs) < 0.2 or gain_db - (target_lufs - loudness) > MAX_PUSH_DB:
            break
        gain_db = min(gain_db + target_lufs - measured, most)
        if gain_db == last:  # at the most the limiter may take: no louder
            break
    measured, applied = best
    if applied != last:  # an earlier try was nearer: its curve again (the buffer holds the last one's)
        curve = limiter_curve(peaks, 10 ** (applied / 20), rate, ceiling, buffer)
    del meter
    out = mixed if in_place else mixed.copy()
    out *= np.float32(10 ** (applied / 20))
    if curve is not None:
        out *= curve.astype(np.float32, copy=False)[:, None]  # float32 already: no copy of a signal-length array
    peak = final_peak_db(out, peaks, 10 ** (applied / 20), curve)
    del peaks
    notes = []
    if abs(measured - target_lufs) > 1.0 and applied >= max_gain_db - 0.01:
        notes.append(f"mix: the episode measures {measured:.1f} LUFS, missing the {target_lufs:g} LUFS target: it is "
                     "effects over room tone (no dialogue or music to carry its loudness), which the master raises "
                     f"{max_gain_db:g} dB at most; raise sfx volume, add music, or lower mix.loudness")
    elif abs(measured - target_lufs) > 1.0:
        notes.append(f"mix: the episode measures {measured:.1f} LUFS, missing the {target_lufs:g} LUFS target: its "
                     "loudness is in short peaks (sound effects, music hits) that the limiter would have to take more "
                     f"than {MAX_LIMIT_DB:g} dB off to hold under {ceiling_db:g} dBTP; lower sfx volume or "
                     "mix.music_db, or lower mix.loudness")
    if peak > ceiling_db:
        notes.append(f"mix: true peak {peak:.1f} dBTP is over the {ceiling_db:g} dBTP ceiling")
    # gain_db: what plain loudness normalisation applies; applied_gain_db: the gain in front of the limiter (more
    # than gain_db where limiting cost loudness): an editor's master gain, with a limiter at the ceiling after it
    return out, {"lufs": round(float(measured), 2), "true_peak": round(peak, 2),
                 "gain_db": round(float(target_lufs - loudness), 3), "applied_gain_db": round(float(applied), 3),
                 "notes": notes}


@dataclass(frozen=True)
class MixRequest:
    seconds: float = keyed("episode length changed")
    voices: tuple[tuple[Artifact, float], ...] = keyed("dialogue changed")  # (voice, start)
    music: tuple[tuple[Artifact, float, float], ...] = keyed("music changed")  # (score, start, end)
    sfx: tuple[tuple[Artifact, float, float], ...] = keyed("sound effects changed")  # (effect, volume, time)
    config: MixConfig = keyed("mix settings changed")
    filters: tuple[tuple[int, str], ...] = added("phone or radio voice changed", ())  # (index in voices, kind)
    rooms: tuple[tuple[float, float, str, str], ...] = added("scenes or locations changed", (),  # start, end, place,
                                                             moved="scene times changed")  # kind
    aac: str | None = added("audio bitrate changed", None)  # also encoded as AAC at this bitrate (what the MP4 carries)
    intensities: tuple[float, ...] = added("music intensity changed", ())  # each cue's (music.intensity, 0-1)
    deliveries: tuple[float, ...] = added("line delivery changed", ())  # each voice's LU from the dialogue level
    beds: tuple[bool, ...] = added("sound effects changed", ())  # each effect: an ambience bed (rain), not a spot
    # where each cue's loudness is remembered across processes (by its artifact's key and file stamp): an edit's
    # mix, from a fresh `director render`, measured every unchanged cue again (~0.1 s a minute of music)
    memo: str = unkeyed("")


class MixStage(Stage):
    name = "mix"
    # 5: BS.1770 meter and true peak in numpy, looped room tone; 6: running filters in numpy; 7: the ducking envelope
    # worked out per millisecond; 8: the limiter filtered near its peaks only, the true-peak meter tap by tap (the
    # same curve and peaks, to float32 rounding), the AAC encoded in parts side by side; 9: the room tone under the
    # master (the episode measured ~0.9 LU under its target); 10: each music cue at mix.music_db LU from the
    # dialogue (not from its stem's own level), the last one faded over END_FADE, the voices without DC, the effects
    # without what lies under 30 Hz
    version = "12"  # 12: lines levelled and set by their delivery, effects set against the dialogue (spots, beds),
    # the limiter's depth held, effects ducked under speech only, the episode's edges faded, on-camera ends of a call clean, the AAC at the mix's rate
    scope = "episode"

    unit = "episode"

    def jobs(self, ctx: RenderContext):
        total = ctx.total_frames() / ctx.sp.format.fps
        req = MixRequest(
            seconds=total,
            voices=tuple((ctx.artifact("voice", p.ref), round(p.start, 4)) for p in ctx.placements()),
            music=tuple((ctx.artifact("music", c.ref), round(c.start, 4), round(c.end, 4)) for c in music_cues(ctx)),
            sfx=tuple((ctx.artifact("sfx", ref), ctx.beats[ref].sfx.volume, round(t, 4))
                      for ref, t in ctx.cue_times() if ctx.beats[ref].sfx),
            config=ctx.config.mix,
            filters=device_lines(ctx),
            rooms=scene_rooms(ctx) if ctx.config.mix.room_tone_db is not None else (),
            aac=ctx.config.encode.audio_bitrate,
            intensities=tuple(round(c.intensity, 3) for c in music_cues(ctx)),
            deliveries=tuple(DELIVERY_DB.get(delivery(ctx.beats[p.ref].spoken) or "", 0.0)
                             for p in ctx.placements()),
            beds=tuple(is_bed(ctx.beats[ref].sfx.name) for ref, _ in ctx.cue_times() if ctx.beats[ref].sfx),
            memo=str(ctx.project.state_file("state", "loudness.json")))
        job = self.job(ctx, "episode", req, partial(mix, req))
        job.cost = MIX_SECONDS_PER_SECOND * total  # a long job: started before the shorter segments
        yield job


def delivery(spoken) -> str | None:
    """A line's emotion as the mix hears it (as it is voiced: ``vocab.delivered_emotion``)."""
    return None if spoken is None else delivered_emotion(spoken.emotion, getattr(spoken, "parenthetical", None))


def device_lines(ctx) -> tuple[tuple[int, str], ...]:
    """(index among the placed voices, phone or radio) of each line heard through a device: not where its speaker is
    in the shot it plays under (an intercut: the end we see speaks in the room, only the far end is on the line)."""
    seen = {ref: set(shot.characters) for shot in ctx.shots for ref in shot.beats}
    out = []
    for i, p in enumerate(ctx.placements()):
        line = ctx.beats[p.ref].line
        if line and line.heard_as in ("phone", "radio") and line.who not in seen.get(p.ref, ()):
            out.append((i, line.heard_as))
    return tuple(out)


REFERENCE_LUFS = -23.0  # the dialogue's loudness where there is none to measure (EBU R128's programme level)
MUSIC_GAIN_DB = (-24.0, 12.0)  # the most a cue is lowered or raised to sit at its level (+12 dB: the most an
# editor's clip volume takes, so the timelines play it as the mix does)
INTENSITY_DB = 10.0  # a cue's level per unit of music.intensity, from 0.6 (the default): low 0.3 is 3 dB under
MUSIC_FADE_IN = 0.3  # the first cue's fade-in (the later ones cross-fade over CROSSFADE)
END_FADE = 1.0  # the last cue's fade-out, under the last shot's hold after the last line (timing.END_HOLD)


def joins(spans: list[tuple[float, float]]) -> list[bool]:
    """For each music cue's (start, end): whether it runs into the next one (cross-faded), rather than being stopped
    before it (with later cues, a stopped cue played 0.6 s past its `stop`, under the next line, where a last cue
    faded out before it)."""
    return [i + 1 < len(spans) and spans[i + 1][0] - spans[i][1] < 0.01 for i in range(len(spans))]


def music_gain_db(cue_lufs: float, dialogue_lufs: float, music_db: float, intensity: float = 0.6) -> float:
    """A cue's gain, so that alone it plays ``music_db`` LU from the dialogue (and louder or softer by its
    intensity): a stem's own level (the preview's -21 to -27 LUFS, a model's anything) set how loud the music was,
    and the master's gain (set by the voices) set how loud the hook was: 5.6 dB apart between two projects with
    the same music."""
    return against_dialogue(cue_lufs, dialogue_lufs, music_db + INTENSITY_DB * (intensity - 0.6), MUSIC_GAIN_DB)


def against_dialogue(own_lufs: float, dialogue_lufs: float, offset: float, bounds: tuple[float, float]) -> float:
    """The gain (dB, within ``bounds``) that puts a piece measured at ``own_lufs`` ``offset`` LU from the dialogue
    (from EBU R128's programme level where there is none); 0 for a silent piece."""
    if not np.isfinite(own_lufs):
        return 0.0
    talk = dialogue_lufs if np.isfinite(dialogue_lufs) else REFERENCE_LUFS
    return float(np.clip(talk + offset - own_lufs, *bounds))


def mix(req: MixRequest, out) -> Made:
    from director.media.loudness import integrated_loudness

    cfg = req.config
    rate = cfg.sample_rate
    n = int(round(req.seconds * rate))
    dialogue = np.zeros(n, np.float32)
    filters = dict(req.filters)
    voice_gains: list[float] = []  # each line's level and delivery (dB): what an editor's clip volume is set to
    memo = LoudnessMemo(req.memo)  # each line's loudness too: an edit from a fresh `render` measures its own line
    for i, (voice, start) in enumerate(req.voices):
        data, _ = _prepared(("voice", *_heard(voice), rate, filters.get(i)), lambda: _voice(voice, rate, filters.get(i)))
        own = memo.get(voice, rate, f"{len(data)}:{filters.get(i) or ''}", lambda: short_loudness(data, rate))
        level = level_db(own)
        by = req.deliveries[i] if i < len(req.deliveries) else 0.0
        by = min(by, LEVEL_DB - level)  # levelled and delivered: +12 dB at most, what an editor's clip volume takes
        line = fade(data, rate, 0.005, 0.01)
        if level + by:
            line *= np.float32(10 ** ((level + by) / 20))
        voice_gains.append(round(level + by, 2))
        _place(dialogue, line, int(start * rate))
    # as heard: the mono dialogue plays on both channels, which BS.1770 sums (+3.01 dB against the stereo music)
    talk = integrated_loudness(dialogue, rate) + 10 * np.log10(2) if req.voices else float("-inf")
    # each cue read while only the bed and the dialogue exist (a cue is as long as the episode)
    bed = np.zeros((n, 2), np.float32)
    gains = []
    joined = joins([(start, end) for _, start, end in req.music])  # a cue a `stop` ended fades out before it
    for i, (score, start, end) in enumerate(req.music):
        data, kept = _prepared(("music", *_heard(score), rate), lambda: _stem(score, rate, stereo=True))
        more = joined[i]
        length = int((end - start + (CROSSFADE if more else 0)) * rate)
        own, _ = _prepared(("music-lufs", *_heard(score), rate, length),
                           lambda: memo.get(score, rate, length, lambda: integrated_loudness(data[:length], rate)))
        level = req.intensities[i] if i < len(req.intensities) else 0.6
        gains.append(round(music_gain_db(own, talk, cfg.music_db, level), 2))
        data = fade(data[:length], rate, CROSSFADE if i and joined[i - 1] else MUSIC_FADE_IN,
                    CROSSFADE if more else END_FADE, copy=kept)
        data *= np.float32(10 ** (gains[-1] / 20))  # a copy of the kept stem, or its own (fade's copy=kept)
        _place(bed, data, int(start * rate))
        data = None
    effects = np.zeros(n, np.float32)
    sfx_gains: list[float] = []
    # the effects step back under speech too, each as it is placed (no episode-long array): a spot effect by a
    # tighter envelope than the music's, so that one in a gap between lines is heard whole (the music's, 0.32 s
    # ahead of a line, lowered a thunder 0.45 s from any word by the full 6 dB); a bed by the music's slow one (at
    # the tight one's 50 ms ramps a rain bed pumped at every line's edge)
    ducked = req.sfx and cfg.sfx_duck_db
    envelopes = {True: coarse_envelope(dialogue, rate), False: coarse_envelope(dialogue, rate, 0.05, 0.05)} \
        if ducked else {}
    for i, (effect, volume, t) in enumerate(req.sfx):
        (data, own), _ = _prepared(("sfx", *_heard(effect), rate), lambda: _effect(effect, rate))
        ambience = bool(i < len(req.beds) and req.beds[i])
        sfx_gains.append(round(sfx_gain_db(own, talk, ambience) + 20 * np.log10(max(volume, 1e-6)), 2))
        at = int(t * rate)
        placed = data * np.float32(10 ** (sfx_gains[-1] / 20))
        if ducked:
            placed *= np.power(np.float32(10.0), envelope_at(envelopes[ambience], rate, at, len(placed))
                               * np.float32(cfg.sfx_duck_db / 20))
        _place(effects, placed, at)
    data = placed = None
    envelopes = {}
    # in place, in float32: a 3-minute stereo episode is 69 MB a copy, and the mix was the render's peak memory
    duck = speech_envelope(dialogue, rate)  # -> the music's gain per sample, in place
    duck *= np.float32(cfg.duck_db / 20)
    np.power(np.float32(10.0), duck, out=duck)
    mixed = bed
    mixed *= duck[:, None]
    del duck
    effects += dialogue
    del dialogue
    mixed += effects[:, None]
    del effects
    heard = bool(req.voices or req.music or req.sfx)  # an episode of action beats alone has only its room tone
    bedded = req.rooms and cfg.room_tone_db is not None
    if bedded and heard:  # under everything: never digital silence. Before the master, which measures what is
        # delivered: added after it, the bed lifted the pauses over the loudness gate's -70 LUFS, and the episode
        # measured ~0.9 LU under its target
        mixed += room_bed(req.rooms, n, rate, cfg.room_tone_db)[:, None]
    memo.save()
    fade(mixed, rate, *EDGE_FADE, copy=False)  # the last effect or the rain bed stopped dead at the last frame
    # a mix of effects alone over room tone is raised ROOM_RAISE_DB at most: an episode of action beats and a
    # knock, normalised to the target, raised its room tone 24 dB into a hiss
    mastered, stats = master(mixed, rate, cfg.loudness, cfg.true_peak, in_place=True,
                             max_gain_db=ROOM_RAISE_DB if bedded and not (req.voices or req.music) else np.inf)
    del mixed, bed
    if bedded and not heard:  # nothing to normalise: the room tone stays at its own level, not raised to the target
        mastered += fade(room_bed(req.rooms, n, rate, cfg.room_tone_db), rate, *EDGE_FADE, copy=False)[:, None]
    write_wav(out / "mix.wav", mastered, rate)
    files = {"audio": "mix.wav"}
    if req.aac:  # encoded here, beside the mix, so that joining the episode copies it. After an edit the mix is the
        # render's longest job, so its encode runs in parts (media/aac.py), one per core of the job's share
        # (steps.cores), two at least where there are two: an edit's mix shares them with the shot's encode, and a
        # 16-core machine's other jobs keep theirs
        encode_aac(out / "mix.wav", out / "mix.m4a", req.aac, n, rate,
                   max(min(2, usable_cores()), steps.cores() or usable_cores()))
        files["aac"] = "mix.m4a"
    notes = tuple(stats.pop("notes"))
    return Made(files, report={"lufs": stats["lufs"], "true_peak": stats["true_peak"]},
                info={**stats, "seconds": n / rate, "music_gain_db": gains, "voice_gain_db": voice_gains,
                      "sfx_gain_db": sfx_gains,
                      "dialogue_lufs": round(float(talk), 2) if np.isfinite(talk) else None}, notes=notes)


class LoudnessMemo:
    """Each music cue's loudness over the part that plays, remembered in a small JSON file by the cue's artifact key,
    its file's stamp, the rate and the length (a cue made again, or cut shorter, is measured again). A value lost to
    a torn or concurrent write is only measured again."""

    LIMIT = 512  # entries kept (the newest)

    def __init__(self, path: str):
        self.path, self.new = (Path(path) if path else None), False
        self.values: dict = {}
        if self.path is not None:
            try:
                self.values = dict(json.loads(read_own(self.path)).get("lufs", {}))
            except (OSError, ValueError, AttributeError, TypeError):
                self.values = {}

    def get(self, artifact: Artifact, rate: int, length: int | str, measure: Callable[[], float]) -> float:
        try:
            key = ":".join(map(str, (artifact.key, *file_stamp(os.stat(artifact.file("audio"))), rate, length)))
        except OSError:
            return measure()
        known = self.values.get(key, "")
        if known is None or isinstance(known, (int, float)):  # None: silence, measured before
            return float("-inf") if known is None else float(known)
        value = measure()
        self.values[key] = float(value) if np.isfinite(value) else None  # exact: a mix from the memo is the mix made fresh
        self.new = True
        return value

    def save(self) -> None:
        if self.path is None or not self.new:
            return
        try:
            write_json(self.path, {"lufs": dict(list(self.values.items())[-self.LIMIT:])})
        except OSError:  # a read-only project: measured again next time
            pass


def _heard(artifact: Artifact) -> tuple:
    """What names an artifact's audio for ``_prepared``: its key and its file's stamp (an entry found torn is made
    again under the same key, and a backend that is not deterministic makes another take)."""
    if not _keeping:
        return (artifact.key,)
    try:
        return (artifact.key, *file_stamp(os.stat(artifact.file("audio"))))
    except OSError:  # read below, where a missing file is reported as it always was
        return (artifact.key, None)


def _stem(artifact: Artifact, rate: int, stereo: bool) -> np.ndarray:
    """An artifact's audio at ``rate``: stereo (music), or mono (a voice, an effect: channels averaged)."""
    data, sr = read_wav(artifact.file("audio"))
    if stereo:
        return to_stereo(resample(data, sr, rate))
    return resample(data if data.ndim == 1 else data.mean(axis=1), sr, rate)


def short_loudness(data: np.ndarray, rate: int) -> float:
    """BS.1770 loudness of a piece (a line, an effect); one shorter than the 400 ms block as one block of its own
    length (-inf: silence)."""
    from director.media.loudness import Loudness

    meter = Loudness(data, rate)
    return meter.lufs() if len(data) >= int(0.4 * rate) else meter.momentary_max()


SFX_DB = -3.0  # a spot effect (a knock, a gunshot) alone: this many LU from the dialogue as heard
BED_DB = -12.0  # an ambience bed (rain, wind, a crowd): under the lines
SFX_GAIN_DB = (-24.0, 12.0)  # the most an effect is lowered or raised to sit at its level
BED_WORDS = re.compile(r"(?i)\b(rain|rainfall|downpour|drizzle|wind|breeze|crowd|traffic|city|street noise|ocean|sea|"
                       r"waves|surf|forest|birds|crickets|ambience|ambient|atmos|room tone|hum)\b|雨声|下雨|暴雨|大雨|"
                       r"小雨|雨点|风声|刮风|大风|人群|人声嘈杂|街道|车流|海浪|海边|森林|鸟鸣|虫鸣|环境音")


def is_bed(name: str) -> bool:
    """Whether a sound effect is an ambience bed (heard under the scene) rather than a spot effect: by whole words
    ("window shatter" is no wind, "train horn" no rain, 雨伞 no 雨声), or the preview's rain."""
    from director.vocab import canonical_sfx

    return canonical_sfx(str(name)) == "rain" or BED_WORDS.search(str(name)) is not None


def sfx_gain_db(own_lufs: float, dialogue_lufs: float, bed: bool) -> float:
    """An effect's gain, so that alone it plays ``SFX_DB`` (a bed: ``BED_DB``) LU from the dialogue: each effect
    came in at a 0.7 peak, whatever its loudness (the preview's phone ring 5 LU over the lines, its knock 10 under)."""
    return against_dialogue(own_lufs, dialogue_lufs, BED_DB if bed else SFX_DB, SFX_GAIN_DB)


def _effect(effect: Artifact, rate: int) -> tuple[np.ndarray, float]:
    """An effect at ``rate`` without what lies under 30 Hz, and its loudness as heard (mono on both channels): its
    loudest 400 ms, the moment a listener sets it by (integrated over its decay, a gunshot measured ~8 LU under
    its bang, was raised by that much, and the limiter then held the whole episode under its target)."""
    from director.media.loudness import Loudness

    data = high_pass(_stem(effect, rate, stereo=False), rate)
    return data, Loudness(data, rate).momentary_max() + 10 * np.log10(2)


def level_db(lufs: float) -> float:
    """The gain that brings a line measured at ``lufs`` to the dialogue's level (0 for silence)."""
    return float(np.clip(DIALOGUE_LUFS - lufs, -LEVEL_DB, LEVEL_DB)) if np.isfinite(lufs) else 0.0


def _voice(voice: Artifact, rate: int, heard_as: str | None) -> np.ndarray:
    """A line's voice at ``rate``, through a phone or a radio where it is heard so, without a DC offset (eSpeak's
    lines carry 0.0015-0.0036: the programme measured 0.0017, -42 dBFS in a second's window)."""
    data = _stem(voice, rate, stereo=False)
    data -= np.float32(data.mean()) if len(data) else np.float32(0)
    return device_voice(data, rate, heard_as) if heard_as else data


def _place(buf: np.ndarray, data: np.ndarray, at: int) -> None:
    end = min(len(buf), at + len(data))
    if end > at >= 0:
        buf[at:end] += data[: end - at]
