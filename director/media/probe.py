"""Read a media file's streams the way a user's player would (PyAV)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path


def probe(path: Path) -> dict:
    """Codec, size, fps, duration and frame count of each stream."""
    import av

    out: dict = {"format": None, "duration": None, "video": None, "audio": None}
    with av.open(str(path)) as container:
        out["format"] = container.format.name
        out["duration"] = container.duration / 1_000_000 if container.duration else None
        for stream in container.streams:
            tb = stream.time_base or Fraction(1, 1)
            dur = float(stream.duration * tb) if stream.duration else None
            if stream.type == "video" and out["video"] is None:
                ctx = stream.codec_context
                out["video"] = {"codec": ctx.name, "width": ctx.width, "height": ctx.height,
                                "fps": float(stream.average_rate) if stream.average_rate else None,
                                "frames": stream.frames, "duration": dur, "pix_fmt": ctx.pix_fmt}
            elif stream.type == "audio" and out["audio"] is None:
                ctx = stream.codec_context
                out["audio"] = {"codec": ctx.name, "sample_rate": ctx.sample_rate, "channels": ctx.channels,
                                "duration": dur}
    return out


def decode_audio(path: Path) -> tuple["object", int]:
    """All audio of a file as float32 (samples, channels) and its sample rate."""
    import av
    import numpy as np

    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1, 2))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1, 2))
    return np.concatenate(chunks).astype("float32"), rate


def video_frame(path: Path, seconds: float):
    """The decoded frame at ``seconds`` as a PIL image."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time + 1e-6 >= seconds:
                return frame.to_image()
    raise ValueError(f"{path} has no frame at {seconds}s")
