"""Small audio helpers on numpy arrays (float32, shape (samples,) or (samples, channels))."""
from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np


class AudioError(ValueError):
    """A file that does not decode as audio; the message completes "the sample ..."."""


WAVE_PCM, WAVE_FLOAT, WAVE_EXTENSIBLE = 1, 3, 0xFFFE


class _Unhandled(ValueError):
    """A WAV flavour the small reader leaves to scipy (24-bit PCM, ADPCM, A-law...)."""


def _chunks(raw: bytes):
    """(id, body) of each chunk of a RIFF/WAVE file's bytes, as far as they go; ValueError where they are none."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos = 12
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        yield cid, raw[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)


def _format(fmt: bytes) -> tuple[int, int, int, int, int]:
    """(format tag -- an extensible one's own --, channels, rate, block align, bits) of a fmt chunk's body."""
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == WAVE_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]
    return tag, channels, rate, align, bits


def _riff(path: Path) -> tuple[np.ndarray, int]:
    """(samples as stored, rate) of a PCM (8/16/32-bit) or IEEE-float WAV: the chunks parsed with ``struct``,
    the samples mapped by numpy. ``scipy.io`` costs ~0.28 s to import, on every render that touches audio."""
    fmt, data = None, None
    for cid, body in _chunks(Path(path).read_bytes()):
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
            break
    if fmt is None or data is None or len(fmt) < 16:
        raise ValueError("a WAV without its fmt or data chunk")
    tag, channels, rate, align, bits = _format(fmt)
    kinds = {(WAVE_PCM, 8): np.uint8, (WAVE_PCM, 16): np.int16, (WAVE_PCM, 32): np.int32,
             (WAVE_FLOAT, 32): np.float32, (WAVE_FLOAT, 64): np.float64}
    kind = kinds.get((tag, bits))
    if kind is None or channels < 1 or align != channels * bits // 8:
        raise _Unhandled(f"format {tag}, {bits} bits")
    frames = len(data) // align
    samples = np.frombuffer(data, np.dtype(kind).newbyteorder("<"), count=frames * channels)
    return (samples.reshape(frames, channels) if channels > 1 else samples), int(rate)


def wav_format(path: Path) -> tuple[int, int, int] | None:
    """(channels, sample rate, bits per sample) from a WAV's fmt chunk (PCM or float), or None where it has none:
    the file's head only."""
    with open(path, "rb") as f:
        head = f.read(4096)
    try:
        fmt = next((body for cid, body in _chunks(head) if cid == b"fmt " and len(body) >= 16), None)
    except ValueError:
        return None
    if fmt is None:
        return None
    _, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    return channels, rate, bits


def pad_wav(src: Path, out: Path, seconds: float) -> None:
    """``src`` copied to ``out`` with silence after its samples, to ``seconds`` long at least (never shorter): the
    same format and chunks (a ``fact`` chunk's frame count follows). A WAV this cannot parse is copied as it is."""
    import shutil

    raw = Path(src).read_bytes()
    try:
        chunks = list(_chunks(raw))
        tag, _, rate, align, bits = _format(next(body for cid, body in chunks if cid == b"fmt "))
        data = next(body for cid, body in chunks if cid == b"data")
    except (ValueError, StopIteration, struct.error):
        shutil.copyfile(src, out)
        return
    frames = len(data) // align if align else 0
    more = max(0, int(np.ceil(seconds * rate - 1e-6)) - frames)
    if not align or not more or tag not in (WAVE_PCM, WAVE_FLOAT):  # (silence in A-law or mu-law is no zero byte)
        shutil.copyfile(src, out)
        return
    silence = (b"\x80" if bits == 8 else b"\x00") * (more * align)  # 8-bit PCM is unsigned: 128 is its zero
    body = b""
    for cid, chunk in chunks:
        if cid == b"data":
            chunk = data[:frames * align] + silence
        elif cid == b"fact" and len(chunk) >= 4:
            chunk = struct.pack("<I", frames + more) + chunk[4:]
        body += cid + struct.pack("<I", len(chunk)) + chunk + (b"\x00" if len(chunk) & 1 else b"")
    with open(out, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A WAV director wrote itself (float or PCM), as float32."""
    try:
        data, rate = _riff(path)
    except _Unhandled:
        from scipy.io import wavfile

        rate, data = wavfile.read(str(path))
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    elif data.dtype == np.uint8:
        data = (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype != np.float32 or not data.flags.writeable:  # the file's own bytes are read-only
        data = data.astype(np.float32)
    return data, int(rate)


def read_audio(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Any audio a user hands director (WAV, FLAC, MP3, OGG, M4A...) as float32, via PyAV (FFmpeg's decoders).

    Shape (samples,) for mono, (samples, 2) otherwise (more channels are mixed down to stereo).
    Raises AudioError with a readable reason when the file is not audio.
    """
    if Path(path).suffix.lower() == ".wav":
        try:
            data, rate = read_wav(path)
            if data.ndim <= 2 and rate > 0:
                return data, rate
        except (ValueError, OSError, EOFError, MemoryError):
            pass  # an unusual WAV flavour (24-bit, ADPCM, extensible): FFmpeg reads those
    import av

    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise AudioError("has no audio stream")
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise AudioError("has no sample rate")
            channels = stream.codec_context.channels or 1
            layout = "mono" if channels == 1 else "stereo"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            chunks, total = [], 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()
                    chunks.append(chunk)
                    total += chunk.shape[1]
                if max_seconds is not None and total > max_seconds * rate:
                    break
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises FFmpeg's errors (InvalidDataError, ...) and OSError
        raise AudioError(f"cannot be decoded as audio ({str(exc).splitlines()[0][:100]})") from None
    if not chunks:
        raise AudioError("contains no audio samples")
    data = np.concatenate(chunks, axis=1).astype(np.float32)
    return (data[0] if data.shape[0] == 1 else data.T.copy()), rate


def write_wav(path: Path, data: np.ndarray, rate: int) -> None:
    """A 32-bit IEEE-float WAV, byte for byte what ``scipy.io.wavfile.write`` makes of float32 samples (fmt
    with cbSize, a fact chunk), without importing scipy."""
    data = np.ascontiguousarray(data, dtype="<f4")
    channels = 1 if data.ndim == 1 else data.shape[1]
    frames = len(data)
    size = data.nbytes
    header = b"".join([b"WAVEfmt ", struct.pack("<IHHIIHHH", 18, WAVE_FLOAT, channels, rate, rate * 4 * channels,
                                                 4 * channels, 32, 0),
                       b"fact", struct.pack("<II", 4, frames), b"data", struct.pack("<I", size)])
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(header) + size) + header)
        f.write(memoryview(data.reshape(-1)).cast("B"))  # the samples themselves: no bytes copy (70 MB for
        # 3 minutes); flat, so that an empty stereo signal casts too


def resample(data: np.ndarray, src: int, dst: int) -> np.ndarray:
    """``data`` (samples, or samples x channels) from ``src`` Hz to ``dst`` Hz, band-limited by FFT: exact for the
    clips director resamples (a line's voice, an effect, a music cue; their ends are faded where they are placed),
    and 2-5x faster than ``scipy.signal.resample_poly`` at 22.05 -> 48 kHz."""
    if src == dst or not len(data):
        return data.astype(np.float32, copy=False)
    n = len(data)
    m = max(1, int(round(n * dst / src)))
    # zeros after the clip up to a length both sides of the ratio factor well (FFTs of a length with a large prime
    # factor were 2-3x slower: a line of 100,003 samples took 75 ms); the clip's end is silence where it is placed
    g = math.gcd(src, dst)
    step_in, step_out = src // g, dst // g
    padded, size = n, m
    if step_in <= 4096:
        k = _smooth(-(-n // step_in))
        padded, size = k * step_in, k * step_out
    spectrum = np.fft.rfft(data.astype(np.float32, copy=False), padded, axis=0)  # float32, as it is delivered
    keep = min(len(spectrum), size // 2 + 1)
    out = np.zeros((size // 2 + 1,) + data.shape[1:], np.complex64)
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, size, axis=0)[:m] * (size / padded)).astype(np.float32)


def high_pass(data: np.ndarray, rate: int, corner: float = 30.0) -> np.ndarray:
    """``data`` without what lies under ``corner`` Hz (its DC too), by FFT with a raised-cosine edge from half the
    corner up to it: a synthesised thunder carried a -0.005 offset and 18% of its energy under 20 Hz, which nothing
    plays and which took the limiter's headroom under the line after it. For clips (effects): the whole at once."""
    n = len(data)
    if n < 8:
        return data.astype(np.float32, copy=False)
    size = _smooth(n + rate // 5)  # room for the filter's reach (~1/corner either side) so nothing wraps round
    spectrum = np.fft.rfft(data.astype(np.float64), size, axis=0)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    edge = np.clip((freqs - corner / 2) / (corner / 2), 0.0, 1.0)
    gain = 0.5 - 0.5 * np.cos(np.pi * edge)
    spectrum *= gain if data.ndim == 1 else gain[:, None]
    out = np.fft.irfft(spectrum, size, axis=0)[:n].astype(np.float32)
    return fade(out, rate, 0.002, 0.005, copy=False)  # from and to silence, as it was: nothing clicks where it plays


def _smooth(k: int) -> int:
    """The least number >= k whose prime factors are all 2, 3, 5 or 7 (lengths pocketfft transforms fastest)."""
    while True:
        rest = k
        for p in (2, 3, 5, 7):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return k
        k += 1


OVERSAMPLE, TAPS_PER_PHASE = 4, 12
PEAK_CHUNK = 1 << 14  # samples a pass: the chunk, its four phases and a product stay in the core's cache


def _phases() -> np.ndarray:
    """The 4x interpolator of a true-peak meter (BS.1770-4 Annex 2: 48 taps, 4 phases): a Kaiser-windowed sinc,
    shape (phase, tap), each phase passing DC at unit gain."""
    n = OVERSAMPLE * TAPS_PER_PHASE
    t = (np.arange(n) - (n - 1) / 2) / OVERSAMPLE
    taps = np.sinc(t) * np.kaiser(n, 6.0)
    phases = taps.reshape(TAPS_PER_PHASE, OVERSAMPLE).T
    return (phases / phases.sum(axis=1, keepdims=True)).astype(np.float32)


PHASES = _phases()
_BY_TAP = np.ascontiguousarray(PHASES[:, ::-1].T)[:, :, None]  # (tap, phase, 1): what each input sample adds


def sample_peaks(x: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude of the 4x-oversampled signal there, over all channels.

    Each phase is a 12-tap filter: the four phases are summed tap by tap, each tap one array operation over a
    cache-sized chunk (with the filter's reach either side). ``np.convolve`` made one call into its dot product
    per output sample: four times slower. No upsampled copy of the signal is kept (a 3-minute stereo mix
    oversampled in float64 was 550 MB)."""
    x = x[:, None] if x.ndim == 1 else x
    n, taps = len(x), TAPS_PER_PHASE
    before = taps // 2  # output i reads samples i-6 .. i+5 (``np.convolve``'s "same" centre for 12 taps)
    peak = np.zeros(n, np.float32)
    window = np.zeros(PEAK_CHUNK + taps - 1, np.float32)
    acc, term = np.empty((OVERSAMPLE, PEAK_CHUNK), np.float32), np.empty((OVERSAMPLE, PEAK_CHUNK), np.float32)
    for start in range(0, n, PEAK_CHUNK):
        end = min(n, start + PEAK_CHUNK)
        m = end - start
        lo, hi = start - before, end + taps - 1 - before  # the samples this chunk's outputs read
        here, a, t = peak[start:end], acc[:, :m], term[:, :m]
        for c in range(x.shape[1]):
            window[:m + taps - 1] = 0.0
            window[max(0, -lo):min(n, hi) - lo] = x[max(0, lo):min(n, hi), c]
            np.multiply(_BY_TAP[0], window[:m], out=a)
            for k in range(1, taps):
                a += np.multiply(_BY_TAP[k], window[k:k + m], out=t)
            np.abs(a, out=a)
            np.maximum(here, a.max(axis=0), out=here)
    return peak


def true_peak_db(x: np.ndarray) -> float:
    """True peak in dBTP (4x oversampled). Sines read within 0.15 dB of their amplitude up to 17 kHz at 48 kHz."""
    if not x.size:
        return -240.0
    return 20 * float(np.log10(max(float(sample_peaks(x).max()), 1e-12)))


FILTER_CHUNK = 1 << 20


def _extreme(kind: str, x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d`` / ``minimum_filter1d`` (mode "reflect", origin 0) in numpy: van Herk /
    Gil-Werman, a running extreme in three passes whatever the window."""
    fn = np.maximum if kind == "maximum" else np.minimum
    left = size // 2
    y = np.pad(x, (left, size - 1 - left), mode="symmetric")  # numpy's "symmetric" is ndimage's "reflect"
    blocks = -(-len(y) // size)
    info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
    padded = np.full(blocks * size, info.min if kind == "maximum" else info.max, x.dtype)
    padded[:len(y)] = y
    grid = padded.reshape(blocks, size)
    prefix = fn.accumulate(grid, axis=1).ravel()
    suffix = fn.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    n = len(x)
    return fn(suffix[:n], prefix[size - 1:size - 1 + n])


def _mean(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d`` (mode "reflect", origin 0) in numpy: a moving sum from a cumulative sum
    in float64 (equal to scipy's to ~1e-12 on these signals)."""
    left = size // 2
    y = np.pad(x.astype(np.float64), (left, size - 1 - left), mode="symmetric")
    c = np.concatenate(([0.0], np.cumsum(y)))
    return (c[size:] - c[:-size]) / size


def running(kind: str, x: np.ndarray, size: int, out: np.ndarray | None = None, dtype=None) -> np.ndarray:
    """A running ``minimum``/``maximum``/``uniform`` (mean) over ``size`` samples of a long 1-D signal -- scipy.ndimage's
    ``*_filter1d`` in numpy (no scipy import on the render's path), in chunks that overlap by the window, so
    temporaries stay a chunk long (whole-line double buffers were ~100 MB for a 3-minute episode)."""
    n, reach = len(x), size // 2 + 1
    if out is None:
        out = np.empty(n, dtype or x.dtype)
    for start in range(0, n, FILTER_CHUNK):
        lo, hi = max(0, start - reach), min(n, start + FILTER_CHUNK + reach)
        end = min(n, start + FILTER_CHUNK)
        part = _mean(x[lo:hi], size) if kind == "uniform" else _extreme(kind, x[lo:hi], size)
        out[start:end] = part[start - lo:end - lo]
    return out


def to_stereo(data: np.ndarray) -> np.ndarray:
    return np.repeat(data[:, None], 2, axis=1) if data.ndim == 1 else data


def fade(data: np.ndarray, rate: int, fade_in: float = 0.01, fade_out: float = 0.01, copy: bool = True
         ) -> np.ndarray:
    """Raised-cosine fades at both ends, so nothing clicks where pieces join (``copy=False``: in ``data`` itself)."""
    out = data.copy() if copy else data
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
