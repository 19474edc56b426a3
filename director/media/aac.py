"""The mix as AAC (what the episode's MP4 carries), encoded in parts side by side and joined frame by frame.

FFmpeg's AAC encoder runs on one core: ~0.45 s for a minute of stereo, the last step of the mix and, after a
one-line edit, on the render's critical path while the other core sits idle. So the mix is cut into parts at
multiples of AAC's 1024-sample frame, each part is encoded by its own ffmpeg with two frames more of the mix
on either side (the encoder's look-ahead and its MDCT's overlap see the same samples the whole encode would),
and the frames each part owns are joined as one ADTS stream. The encoder makes each frame from the samples
around it, so the joined stream decodes like one encode of the whole: the same frames before the first join
(bit for bit), and after it a stream of the same quality (the encoder's bit reservoir and choices differ, as
any two encodes' do). ``tests/stages/test_units.py`` measures it at the joins.

Frame k of an encode (ffmpeg writes a 1024-sample priming frame first) carries the samples
``[(k - 1) * 1024, k * 1024)`` of its input, so a part whose input starts ``ROLL`` samples before its own first
sample owns its frames from ``ROLL / 1024 + 1`` on. The joined stream keeps the first part's priming frame;
``-itsoffset`` tells the MP4 muxer that it comes before time 0, and the MP4's edit list skips it, as ffmpeg's
own encode of the whole file does.
"""
from __future__ import annotations

from pathlib import Path

from director.errors import StageFailed
from director.media.ffmpeg import run_ffmpeg, run_ffmpeg_side_by_side

FRAME = 1024  # samples per AAC frame
ROLL = 2 * FRAME  # samples a part encodes beyond its own on either side
RATE = 48000  # the episode's audio rate (the parts are cut in it: a mix at another rate is encoded whole)
MIN_PART_SECONDS = 5.0  # shorter mixes are encoded whole: a process's start costs more than it saves


def adts_frames(data: bytes) -> list[bytes]:
    """The frames of an ADTS stream (each with its 7- or 9-byte header)."""
    frames, at = [], 0
    while at < len(data):
        if at + 7 > len(data) or data[at] != 0xFF or data[at + 1] & 0xF6 != 0xF0:
            raise StageFailed(f"encoding the mix: the AAC encoder's output is damaged at byte {at}")
        length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        if length < 7 or at + length > len(data):
            raise StageFailed(f"encoding the mix: the AAC encoder's output is damaged at byte {at}")
        frames.append(data[at:at + length])
        at += length
    return frames


def _codec(bitrate: str, rate: int = RATE) -> list[str]:
    """AAC's fast coder (half the time of the default two-loop search, the same loudness and true peak measured on
    the result) at ``bitrate``, at the mix's own rate (a 44.1 kHz mix was delivered resampled to 48 kHz)."""
    return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", bitrate, "-ar", str(rate)]


def _encoder(wav: Path, first: int, end: int, bitrate: str, out: Path) -> list[str]:
    """ffmpeg's arguments encoding samples [first, end) of ``wav`` (at ``RATE``) as ADTS. It seeks to the whole
    second before ``first`` (a time the WAV reader reaches exactly) and trims the rest by sample."""
    skip = first // RATE
    return ["-ss", str(skip), "-i", str(wav.resolve()),
            "-af", f"atrim=start_sample={first - skip * RATE}:end_sample={end - skip * RATE},asetpts=PTS-STARTPTS",
            *_codec(bitrate), "-f", "adts", str(out.resolve())]


def encode_aac(wav: Path, out: Path, bitrate: str, samples: int, rate: int, parts: int) -> int:
    """``wav`` (``samples`` long at ``rate``) as AAC at ``bitrate`` in the MP4 audio file ``out``, encoded in up to
    ``parts`` parts side by side. Returns the number of parts."""
    parts = max(1, min(parts, int(samples / (MIN_PART_SECONDS * RATE)))) if rate == RATE else 1
    if parts == 1:
        run_ffmpeg(["-i", str(wav.resolve()), *_codec(bitrate, rate), str(out.resolve())], "encoding the mix")
        return 1
    bounds = [round(samples * i / parts / FRAME) * FRAME for i in range(parts)] + [samples]
    pieces = [out.with_name(f".{out.stem}-{i}.aac") for i in range(parts)]
    joined = out.with_name(f".{out.stem}.aac")
    try:
        run_ffmpeg_side_by_side([_encoder(wav, max(0, bounds[i] - ROLL), min(samples, bounds[i + 1] + ROLL), bitrate,
                                          pieces[i]) for i in range(parts)], "encoding the mix")
        frames: list[bytes] = []
        for i, piece in enumerate(pieces):
            encoded = adts_frames(piece.read_bytes())
            first = 0 if i == 0 else ROLL // FRAME + 1  # part 0 keeps the priming frame
            count = None if i + 1 == parts else (bounds[i + 1] - bounds[i]) // FRAME + (1 if i == 0 else 0)
            own = encoded[first:None if count is None else first + count]
            if count is not None and len(own) != count:
                raise StageFailed(f"encoding the mix: part {i + 1} of {parts} has {len(own)} AAC frames, not {count}")
            frames += own
        joined.write_bytes(b"".join(frames))
        last = samples - (len(frames) - 2) * FRAME  # the mix's samples in the last frame (the first is priming)
        run_ffmpeg(["-itsoffset", f"-{FRAME / RATE:.9f}", "-f", "aac", "-i", str(joined.resolve()), "-c:a", "copy",
                    "-bsf:a", f"setts=duration=if(eq(N\\,{len(frames) - 1})\\,DURATION*{last}/{FRAME}\\,DURATION)",
                    str(out.resolve())], "encoding the mix")
    finally:
        for path in (*pieces, joined):
            path.unlink(missing_ok=True)
    return parts
