"""Preview music: a procedural score per cue. Mood -> tempo, key, progression and instruments.

Every note has an attack and release envelope and every cue starts and ends on a fade,
so nothing clicks where cues join. Intensity adds layers (arpeggio, then drums).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from director.backends import BackendConfig
from director.backends.types import AudioResult, MusicRequest
from director.media.audio import fade, write_wav

RATE = 48000
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Mood:
    bpm: int
    scale: tuple[int, ...]
    root: int  # MIDI note of the tonic (bass octave)
    progression: tuple[int, ...]  # scale degrees, one chord per bar
    pulse: int  # bass notes per bar
    arp: bool
    drums: bool
    brightness: float  # low-pass cutoff scale


MOODS: dict[str, Mood] = {
    "tense": Mood(96, MINOR, 45, (0, 5, 3, 4), 8, False, False, 0.6),
    "sad": Mood(68, MINOR, 50, (0, 5, 2, 6), 2, True, False, 0.5),
    "romantic": Mood(76, MAJOR, 53, (0, 5, 3, 4), 2, True, False, 0.7),
    "happy": Mood(118, MAJOR, 55, (0, 4, 5, 3), 4, True, True, 1.0),
    "mysterious": Mood(84, PHRYGIAN, 52, (0, 1, 0, 6), 4, True, False, 0.55),
    "action": Mood(140, MINOR, 40, (0, 5, 6, 0), 8, False, True, 0.9),
    "calm": Mood(72, MAJOR, 48, (0, 3, 0, 4), 1, False, False, 0.5),
    "epic": Mood(104, MINOR, 43, (0, 5, 2, 6), 4, True, True, 0.9),
    "hopeful": Mood(90, MAJOR, 50, (3, 4, 0, 5), 2, True, False, 0.8),
}
SYNONYMS = {"suspense": "tense", "suspenseful": "tense", "dark": "tense", "ominous": "tense", "danger": "tense",
            "melancholy": "sad", "grief": "sad", "sorrow": "sad", "love": "romantic", "tender": "romantic",
            "joyful": "happy", "upbeat": "happy", "playful": "happy", "fun": "happy", "chase": "action",
            "fight": "action", "urgent": "action", "peaceful": "calm", "quiet": "calm", "gentle": "calm",
            "eerie": "mysterious", "mystery": "mysterious", "heroic": "epic", "triumphant": "epic",
            "warm": "hopeful", "uplifting": "hopeful", "紧张": "tense", "悲伤": "sad", "浪漫": "romantic",
            "欢快": "happy", "神秘": "mysterious", "激烈": "action", "平静": "calm", "史诗": "epic", "希望": "hopeful"}


def resolve_mood(mood: str) -> tuple[str, str | None]:
    """(known mood, note) for any mood word: synonyms map, unknown words fall back to calm."""
    key = mood.strip().lower()
    if key in MOODS:
        return key, None
    if key in SYNONYMS:
        return SYNONYMS[key], None
    for word in key.replace("-", " ").split():
        if word in MOODS or word in SYNONYMS:
            return (word if word in MOODS else SYNONYMS[word]), None
    return "calm", f"unknown music mood {mood!r}: using calm (known: {', '.join(MOODS)})"


def bar_seconds(mood: str) -> float:
    return 4 * 60 / MOODS[resolve_mood(mood)[0]].bpm


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _synth(freq: float, n: int, attack: float, release: float, harmonics=(1.0, 0.35, 0.15), decay: float | None = None,
           detune: float = 0.0) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / RATE
    wave = np.zeros(n, np.float32)
    for k, amp in enumerate(harmonics, start=1):
        wave += amp * np.sin(2 * np.pi * freq * k * (1 + detune) * t)
    env = np.minimum(1.0, t / attack)
    if decay is not None:
        env *= np.exp(-t / decay)
    rel = int(release * RATE)
    if 0 < rel < n:
        env[-rel:] *= np.linspace(1, 0, rel, dtype=np.float32)
    return (wave * env).astype(np.float32)


def _add(buf: np.ndarray, at: int, sound: np.ndarray, gain: float, pan: float = 0.0) -> None:
    end = min(len(buf), at + len(sound))
    if end <= at:
        return
    piece = sound[: end - at] * gain
    buf[at:end, 0] += piece * math.sqrt(0.5 * (1 - pan))
    buf[at:end, 1] += piece * math.sqrt(0.5 * (1 + pan))


def compose(mood_name: str, intensity: float, seconds: float, seed: int) -> np.ndarray:
    """A stereo cue of exactly ``seconds``, faded in and out."""
    played: dict[tuple, np.ndarray] = {}

    def _note(*args, **kw) -> np.ndarray:  # a chord progression repeats: each distinct note is synthesised once
        key = (args, tuple(sorted(kw.items())))
        if key not in played:
            played[key] = _synth(*args, **kw)
        return played[key]

    mood = MOODS[mood_name]
    rng = np.random.default_rng(seed)
    n = int(round(seconds * RATE))
    buf = np.zeros((n, 2), np.float32)
    bar = int(4 * 60 / mood.bpm * RATE)
    beat = bar // 4
    bars = max(1, math.ceil(n / bar))
    scale = mood.scale
    for b in range(bars):
        degree = mood.progression[b % len(mood.progression)]
        chord = [mood.root + 12 + scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
        start = b * bar
        for i, note in enumerate(chord):  # pad
            pad = _note(_hz(note), bar + beat, 0.35, 0.4, (1.0, 0.25 * mood.brightness, 0.1 * mood.brightness),
                        detune=0.002 * (i - 1))
            _add(buf, start, pad, 0.06, pan=(i - 1) * 0.5)
        bass_len = bar // mood.pulse
        for p in range(mood.pulse):
            bass = _note(_hz(mood.root + scale[degree % 7]), bass_len, 0.01, 0.05, (1.0, 0.5, 0.25), decay=0.5)
            _add(buf, start + p * bass_len, bass, 0.16 if mood.pulse > 2 else 0.2)
        if mood.arp and intensity >= 0.35:
            step = beat // 2
            for k in range(8):
                note = chord[(k * 2 + b) % 3] + 12 + (12 if k % 4 == 3 else 0)
                pluck = _note(_hz(note), step * 2, 0.005, 0.05, (1.0, 0.3 * mood.brightness), decay=0.25)
                _add(buf, start + k * step, pluck, 0.05, pan=0.6 * math.sin(k))
        if mood.drums and intensity >= 0.5:
            for k in range(4):
                at = start + k * beat
                if k % 2 == 0:
                    t = np.arange(int(0.25 * RATE)) / RATE
                    kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.12)
                    _add(buf, at, kick.astype(np.float32), 0.35)
                else:
                    m = int(0.18 * RATE)
                    snare = rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / RATE / 0.05)
                    _add(buf, at, snare.astype(np.float32), 0.08)
                m = int(0.05 * RATE)
                hat = rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / RATE / 0.01)
                _add(buf, at + beat // 2, np.diff(hat, prepend=0).astype(np.float32), 0.05, pan=0.3)
    gain = 0.5 + 0.7 * intensity
    buf *= gain
    peak = float(np.max(np.abs(buf))) or 1.0
    if peak > 0.9:
        buf *= 0.9 / peak
    return fade(buf, RATE, 0.05, 0.6)


class ProceduralMusicConfig(BackendConfig):
    name: ClassVar[str] = "procedural-music"
    kind: ClassVar[str] = "music"
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "Apache-2.0 (director's own synthesis)"
    target: ClassVar[str] = "director.backends.preview.music:ProceduralMusicBackend"

    def quantum(self, mood: str) -> float:
        """Cue lengths are rounded up to two bars, so small timing edits reuse the cue."""
        return 2 * bar_seconds(mood)


class ProceduralMusicBackend:
    sample_rate: ClassVar[int] = RATE
    channels: ClassVar[int] = 2

    def __init__(self, config: ProceduralMusicConfig):
        self.config = config

    def compose(self, req: MusicRequest, out: Path) -> AudioResult:
        mood, note = resolve_mood(req.mood)
        data = compose(mood, req.intensity, req.seconds, req.seed)
        path = out / "music.wav"
        write_wav(path, data, RATE)
        return AudioResult(str(path), RATE, 2, len(data) / RATE, (note,) if note else ())
