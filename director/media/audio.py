"""Small audio helpers on numpy arrays (float32, shape (samples,) or (samples, channels))."""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    from scipy.io import wavfile

    rate, data = wavfile.read(str(path))
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    return data.astype(np.float32), int(rate)


def write_wav(path: Path, data: np.ndarray, rate: int) -> None:
    from scipy.io import wavfile

    wavfile.write(str(path), rate, np.ascontiguousarray(data, dtype=np.float32))


def resample(data: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return data
    from scipy.signal import resample_poly

    g = gcd(src, dst)
    return resample_poly(data, dst // g, src // g, axis=0).astype(np.float32)


def to_stereo(data: np.ndarray) -> np.ndarray:
    return np.repeat(data[:, None], 2, axis=1) if data.ndim == 1 else data


def fade(data: np.ndarray, rate: int, fade_in: float = 0.01, fade_out: float = 0.01) -> np.ndarray:
    """Raised-cosine fades at both ends, so nothing clicks where pieces join."""
    out = data.copy()
    for seconds, at_start in ((fade_in, True), (fade_out, False)):
        n = min(len(out), int(seconds * rate))
        if n <= 1:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)
        if out.ndim == 2:
            ramp = ramp[:, None]
        if at_start:
            out[:n] *= ramp
        else:
            out[-n:] *= ramp[::-1]
    return out


def rms_db(data: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(data, dtype=np.float64)))) if data.size else 0.0
    return 20 * np.log10(max(rms, 1e-12))
