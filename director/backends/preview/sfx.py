"""Preview sound effects: a small procedural set (thunder, door, footsteps, phone, glass, ...).

An unknown cue gives silence and a warning naming the known ones.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from director.backends import BackendConfig
from director.backends.types import AudioResult, SfxRequest
from director.media.audio import fade, write_wav
from director.vocab import canonical_sfx

RATE = 48000


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(1, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _noise(rng, n):
    return rng.standard_normal(n).astype(np.float32)


def _shaped(x: np.ndarray, gain) -> np.ndarray:
    """``x`` through a digital Butterworth filter, as ``scipy.signal.sosfilt(butter(...), x)`` gives it, without
    ``scipy.signal`` (~1 s to import) on the render's path. ``gain(w)``: the filter's magnitude at the frequency
    warped as the bilinear transform warps it (``w = tan(pi f / rate)``). A Butterworth filter is minimum phase,
    so its response follows from its magnitude (the folded real cepstrum); applied by FFT over enough zeros after
    the signal for the response to die away, it is the causal filter, the onset's transient included."""
    # a quarter second of tail (every filter here has settled), and bins fine enough for the cepstrum
    size = max(1 << 16, 1 << (len(x) + RATE // 4 - 1).bit_length())
    with np.errstate(over="ignore"):
        w = np.tan(np.pi * np.arange(size // 2 + 1) / size)
    w[-1] = np.inf  # Nyquist
    cepstrum = np.fft.irfft(np.log(np.maximum(gain(w), 1e-12)), size)
    cepstrum[1:size // 2] *= 2
    cepstrum[size // 2 + 1:] = 0
    response = np.exp(np.fft.rfft(cepstrum))
    return np.fft.irfft(np.fft.rfft(x, size) * response, size)[:len(x)].astype(np.float32)


def _warp(f: float) -> float:
    return float(np.tan(np.pi * f / RATE))


def _lowpass(x, cutoff, order: int = 4):
    """A Butterworth low-pass (``butter(order, cutoff)``)'s magnitude."""
    c = _warp(cutoff)
    return _shaped(x, lambda w: 1 / np.sqrt(1 + (w / c) ** (2 * order)))


def _bandpass(x, lo, hi, order: int = 2):
    """A Butterworth band-pass (``butter(order, [lo, hi], btype="band")``)'s magnitude: the low-pass prototype
    moved to the band's centre."""
    a, b = _warp(lo), _warp(hi)
    centre2, width = a * b, b - a

    def gain(w):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (w * w - centre2) / (w * width)
        return np.nan_to_num(1 / np.sqrt(1 + q ** (2 * order)))

    return _shaped(x, gain)


def thunder(rng):
    n = int(3.5 * RATE)
    body = _lowpass(_noise(rng, n), 180) * _env(n, 0.05, 1.1) * 3
    crack = _bandpass(_noise(rng, n), 800, 4000) * _env(n, 0.002, 0.12)
    rumble = _lowpass(_noise(rng, n), 60) * _env(n, 0.4, 1.6) * 4
    return body + crack * 0.6 + rumble


def door(rng):
    n = int(1.2 * RATE)
    t = np.arange(n) / RATE
    creak = np.sin(2 * np.pi * (300 + 80 * np.sin(2 * np.pi * 3 * t)) * t) * np.exp(-t / 0.5) * 0.15
    slam_at = int(0.6 * RATE)
    slam = np.zeros(n, np.float32)
    m = n - slam_at
    slam[slam_at:] = _lowpass(_noise(rng, m), 250) * _env(m, 0.002, 0.15) * 3
    return (creak * (t < 0.6) + slam).astype(np.float32)


def footsteps(rng):
    n = int(2.4 * RATE)
    out = np.zeros(n, np.float32)
    for k in range(5):
        at = int((0.1 + k * 0.45 + rng.uniform(-0.03, 0.03)) * RATE)
        m = min(int(0.12 * RATE), n - at)
        out[at:at + m] += _bandpass(_noise(rng, m), 120, 900) * _env(m, 0.002, 0.03) * 2
    return out


def phone(rng):
    n = int(3.0 * RATE)
    t = np.arange(n) / RATE
    tone = (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)) * 0.3
    gate = ((t % 1.5) < 0.9) * (np.sin(2 * np.pi * 20 * t) > -0.3)
    return (tone * gate).astype(np.float32)


def glass(rng):
    n = int(1.6 * RATE)
    t = np.arange(n) / RATE
    out = _bandpass(_noise(rng, n), 2500, 9000) * _env(n, 0.001, 0.08)
    for f in rng.uniform(2500, 6500, 6):
        out += np.sin(2 * np.pi * f * t) * np.exp(-t / rng.uniform(0.2, 0.6)) * 0.08
    return out.astype(np.float32)


def knock(rng):
    n = int(1.2 * RATE)
    out = np.zeros(n, np.float32)
    for k in range(3):
        at = int((0.05 + k * 0.22) * RATE)
        m = int(0.1 * RATE)
        out[at:at + m] += _lowpass(_noise(rng, m), 500) * _env(m, 0.001, 0.02) * 3
    return out


def heartbeat(rng):
    n = int(2.0 * RATE)
    t = np.arange(n) / RATE
    out = np.zeros(n, np.float32)
    for at in (0.1, 0.35, 1.1, 1.35):
        m = int(0.2 * RATE)
        s = int(at * RATE)
        tt = t[:m]
        out[s:s + m] += np.sin(2 * np.pi * 55 * tt) * np.exp(-tt / 0.06)
    return out


def rain(rng):
    n = int(4.0 * RATE)
    return _bandpass(_noise(rng, n), 1500, 8000) * 0.3


def gunshot(rng):
    n = int(1.5 * RATE)
    return (_noise(rng, n) * _env(n, 0.0005, 0.05) * 2 + _lowpass(_noise(rng, n), 200) * _env(n, 0.001, 0.4) * 2)


SOUNDS = {"thunder": thunder, "door": door, "footsteps": footsteps, "phone": phone, "glass": glass,
          "knock": knock, "heartbeat": heartbeat, "rain": rain, "gunshot": gunshot}


class ProceduralSfxConfig(BackendConfig):
    name: ClassVar[str] = "procedural-sfx"
    kind: ClassVar[str] = "sfx"
    version: ClassVar[str] = "2"  # 2: noise shaped in the frequency domain (no scipy.signal)
    license: ClassVar[str] = "Apache-2.0 (director's own synthesis)"
    target: ClassVar[str] = "director.backends.preview.sfx:ProceduralSfxBackend"


class ProceduralSfxBackend:
    sample_rate: ClassVar[int] = RATE
    channels: ClassVar[int] = 1

    def __init__(self, config: ProceduralSfxConfig):
        self.config = config

    def make(self, req: SfxRequest, out: Path) -> AudioResult:
        name = req.name
        sound = canonical_sfx(name)
        rng = np.random.default_rng(req.seed)
        notes: tuple[str, ...] = ()
        if sound is None:
            data = np.zeros(int(0.5 * RATE), np.float32)
            notes = (f"unknown sound effect {name!r}: silence used (known: {', '.join(SOUNDS)})",)
        else:
            data = SOUNDS[sound](rng).astype(np.float32)
            peak = float(np.max(np.abs(data))) or 1.0
            data = fade(data / peak * 0.7, RATE, 0.003, 0.05)
        path = out / "sfx.wav"
        write_wav(path, data, RATE)
        return AudioResult(str(path), RATE, 1, len(data) / RATE, notes)
