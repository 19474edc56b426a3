"""Lip sync, measured: does a mouth move when (and only when) its voice carries energy?

The score of a talking clip is the Pearson correlation between the *mouth motion* (mean absolute
difference of consecutive frames inside the mouth's box, in grey levels) and the voice's *energy
envelope* (RMS per video frame) -- taken as its change from frame to frame, since a frame difference
measures a change too: a mouth moves where the voice's energy rises or falls --, both lightly
smoothed, at the lag that maximises it within ``max_lag`` frames. A mouth that follows the voice scores near 1 at a lag near 0; a mouth that
does not move, or moves at random, scores near 0; a lag of +k means the mouth trails the voice by
k frames. The same function scores preview clips (the animatic knows where it drew each mouth) and
final clips (a face box from the keyframe's layout).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_LAG = 5  # frames searched either side (about 0.2 s at 24 fps)
NOISE = 1.0  # grey levels of mean change a still mouth shows anyway (encoder noise): counted as no motion
SMOOTH = 3  # frames: both curves are averaged over this many frames before correlating


@dataclass(frozen=True)
class SyncScore:
    correlation: float
    lag: int  # frames the mouth trails the voice (negative: it leads)

    def as_dict(self) -> dict:
        return {"correlation": round(self.correlation, 3), "lag": self.lag}


def energy_envelope(samples: np.ndarray, rate: int, fps: float, frames: int, offset: float = 0.0) -> np.ndarray:
    """RMS of ``samples`` (mono) over each video frame, the audio starting ``offset`` seconds into the clip."""
    samples = np.asarray(samples, np.float32)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    out = np.zeros(frames, np.float32)
    for k in range(frames):
        a = int(round((k / fps - offset) * rate))
        b = int(round(((k + 1) / fps - offset) * rate))
        a, b = max(0, a), min(len(samples), b)
        if b > a:
            out[k] = float(np.sqrt(np.mean(samples[a:b] ** 2)))
    return out


def mouth_motion(frames: Iterable[np.ndarray], box: tuple[int, int, int, int]) -> np.ndarray:
    """Mean absolute grey-level change inside ``box`` (x0, y0, x1, y1) from each frame to the next (0 for the
    first frame). ``frames``: H x W x 3 uint8 arrays."""
    x0, y0, x1, y1 = box
    out, previous = [], None
    for frame in frames:
        patch = np.asarray(frame[y0:y1, x0:x1], np.float32)
        grey = patch.mean(axis=2) if patch.ndim == 3 else patch
        out.append(0.0 if previous is None or grey.size == 0 else float(np.abs(grey - previous).mean()))
        previous = grey
    return np.asarray(out, np.float32)


def _smooth(x: np.ndarray, n: int = SMOOTH) -> np.ndarray:
    if n <= 1 or len(x) < n:
        return x
    return np.convolve(x, np.ones(n) / n, mode="same")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def score(motion: np.ndarray, energy: np.ndarray, max_lag: int = MAX_LAG) -> SyncScore:
    """The best correlation of mouth motion with the voice's energy over lags in [-max_lag, max_lag]."""
    n = min(len(motion), len(energy))
    energy = np.asarray(energy[:n], np.float64)
    flux = np.abs(np.diff(energy, prepend=energy[:1]))  # a mouth moves where the voice's energy changes
    motion = np.asarray(motion[:n], np.float64)
    m, e = _smooth(np.where(motion < NOISE, 0.0, motion)), _smooth(flux)
    best = SyncScore(0.0, 0)
    for lag in range(-max_lag, max_lag + 1):  # motion[t] against energy[t - lag]
        if lag >= 0:
            a, b = m[lag:], e[:n - lag]
        else:
            a, b = m[:n + lag], e[-lag:]
        c = _corr(a, b)
        if c > best.correlation + 1e-9 or (abs(c - best.correlation) <= 1e-9 and abs(lag) < abs(best.lag)):
            best = SyncScore(c, lag)
    return best


def clip_motion(video: Path, box: tuple[int, int, int, int]) -> np.ndarray:
    """Mouth motion of a clip on disk (decoded once with PyAV)."""
    import av

    with av.open(str(video)) as container:
        frames = (f.to_ndarray(format="rgb24") for f in container.decode(video=0))
        return mouth_motion(frames, box)
