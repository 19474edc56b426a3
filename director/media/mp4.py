"""The pictures of the preview's segments as one H.264 stream, for the episode's join.

The concat demuxer opens and probes every segment it joins (it decodes each one's first frame): most of the join's
0.16-0.26 s for a minute's 26 segments, on the critical path of every edit and seed change. The segments x264
writes for the preview are MP4 files of one H.264 track with no B-frames (no composition offsets, no edit list that
skips): their samples, each NAL unit's 4-byte length turned into a start code and the parameter sets put before
each IDR picture that does not carry its own (what FFmpeg's ``h264_mp4toannexb`` does), are one Annex B stream
that ffmpeg reads as one input. The join numbers its frames (``setts``), so the episode's packets are the concat
demuxer's, time stamps included (``tests/stages/test_segments.py``). Anything else -- B-frames, an edit list that
skips or cuts, a fragmented file, a segment that does not start on an IDR picture, another codec, parameter sets
that differ between segments, a file this reader does not follow -- is None, and the join takes the concat demuxer.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

START = b"\x00\x00\x00\x01"
IDR, SPS, PPS = 5, 7, 8  # NAL unit types: an IDR picture's slice, the sequence and picture parameter sets


def _boxes(data: bytes, start: int, end: int):
    """(type, body start, end) of each box in ``data[start:end]``; ValueError for a box that does not fit."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1:
            if at + 16 > end:
                raise ValueError("a box's 64-bit size does not fit")
            size, head = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            raise ValueError("a box does not fit in its parent")
        yield kind, at + head, at + size
        at += size


def _children(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    found: dict[bytes, list[tuple[int, int]]] = {}
    for kind, a, b in _boxes(data, start, end):
        found.setdefault(kind, []).append((a, b))
    return found


def _one(found: dict, kind: bytes) -> tuple[int, int]:
    spans = found.get(kind, [])
    if len(spans) != 1:
        raise ValueError(f"{len(spans)} {kind.decode(errors='replace')} boxes")
    return spans[0]


def _table(data: bytes, span: tuple[int, int], fmt: str) -> list[tuple]:
    """The entries of a full box's table (version and flags, a count, then the entries)."""
    a, b = span
    (count,) = struct.unpack_from(">I", data, a + 4)
    size = struct.calcsize(fmt)
    if a + 8 + count * size > b:
        raise ValueError("a table longer than its box")
    return list(struct.iter_unpack(fmt, data[a + 8:a + 8 + count * size]))


def _timescale(data: bytes, span: tuple[int, int]) -> int:
    """The timescale of an ``mvhd`` or ``mdhd`` box (after its times: 32-bit in version 0, 64-bit in version 1)."""
    a, _ = span
    return struct.unpack_from(">I", data, a + (20 if data[a] == 1 else 12))[0]


def parameter_sets(data: bytes, avcc: tuple[int, int]) -> bytes:
    """The SPS and PPS of an ``avcC`` box as Annex B (each after a start code)."""
    a, b = avcc
    body = data[a:b]
    if len(body) < 7 or body[0] != 1 or body[4] & 3 != 3:  # version 1; NAL lengths of 4 bytes
        raise ValueError("not an avcC with 4-byte NAL lengths")
    out, at = [], 5
    for count_mask in (0x1F, 0xFF):  # the sequence parameter sets, then the picture parameter sets
        count = body[at] & count_mask
        at += 1
        for _ in range(count):
            (size,) = struct.unpack_from(">H", body, at)
            out += [START, body[at + 2:at + 2 + size]]
            at += 2 + size
    if at > len(body):
        raise ValueError("avcC's parameter sets do not fit")
    return b"".join(out)


def h264_track(path: Path) -> tuple[bytearray, list[tuple[int, int]], bytes] | None:
    """(the file's bytes, each sample's (offset, size), the parameter sets as Annex B) of an MP4 of
    one H.264 track that ``annex_b`` can join: 4-byte NAL lengths, every sample as long as the next, no composition
    offsets, no edit list that skips; None for any other file."""
    try:
        with open(path, "rb") as f:  # into a buffer of its own: its samples are turned into Annex B in place
            data = bytearray(os.fstat(f.fileno()).st_size)
            if f.readinto(data) != len(data):
                return None
        top = _children(data, 0, len(data))
        moov = _children(data, *_one(top, b"moov"))
        if b"moof" in top or b"mvex" in moov:
            return None  # fragmented: samples outside the moov's tables
        trak = _children(data, *_one(moov, b"trak"))
        mdia = _children(data, *_one(trak, b"mdia"))
        hdlr = _one(mdia, b"hdlr")
        if data[hdlr[0] + 8:hdlr[0] + 12] != b"vide":
            return None
        stbl = _children(data, *_one(_children(data, *_one(mdia, b"minf")), b"stbl"))
        stts = _table(data, _one(stbl, b"stts"), ">II")
        if b"ctts" in stbl or len(stts) != 1:
            return None  # composition offsets (B-frames), or frames of different lengths
        edts = trak.get(b"edts")
        if edts:  # one edit, from media time 0 at rate 1, as long as the samples (to a tick of the movie's clock)
            elst = _one(_children(data, *edts[0]), b"elst")
            edits = _table(data, elst, ">QqHH" if data[elst[0]] == 1 else ">IiHH")
            movie, media = _timescale(data, _one(moov, b"mvhd")), _timescale(data, _one(mdia, b"mdhd"))
            if len(edits) != 1 or edits[0][1:] != (0, 1, 0) or \
                    abs(edits[0][0] * media - stts[0][0] * stts[0][1] * movie) > media:
                return None
        stsd = _one(stbl, b"stsd")
        entries = list(_boxes(data, stsd[0] + 8, stsd[1]))
        if len(entries) != 1 or entries[0][0] != b"avc1":
            return None
        avc1 = entries[0]
        sets = parameter_sets(data, _one(_children(data, avc1[1] + 78, avc1[2]), b"avcC"))  # 78: the visual entry
        a, b = _one(stbl, b"stsz")
        fixed, count = struct.unpack_from(">II", data, a + 4)
        sizes = [fixed] * count if fixed else [s for (s,) in struct.iter_unpack(">I", data[a + 12:a + 12 + 4 * count])]
        if len(sizes) != count or stts[0][0] != count:
            return None
        chunks = [c for (c,) in (_table(data, _one(stbl, b"stco"), ">I") if b"stco" in stbl
                                 else _table(data, _one(stbl, b"co64"), ">Q"))]
        runs = _table(data, _one(stbl, b"stsc"), ">III")
    except (ValueError, IndexError, struct.error, OSError):
        return None
    samples: list[tuple[int, int]] = []
    for r, (first, per_chunk, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        for chunk in range(first - 1, min(last, len(chunks))):
            at = chunks[chunk]
            for _ in range(per_chunk):
                if len(samples) == count:
                    return None
                size = sizes[len(samples)]
                samples.append((at, size))
                at += size
    if len(samples) != count or not count or any(o + s > len(data) for o, s in samples):
        return None
    return data, samples, sets


def annex_b(segments: list[Path], out: Path) -> int | None:
    """The segments' pictures one after another as one Annex B H.264 stream in ``out``: the number of frames, or
    None (nothing written) when any segment is not a file ``h264_track`` reads, or their parameter sets differ."""
    tracks = [h264_track(path) for path in segments]
    if not tracks or any(t is None for t in tracks) or len({t[2] for t in tracks}) != 1:
        return None
    frames = 0
    try:
        with open(out, "wb") as f:
            for data, samples, sets in tracks:
                view = memoryview(data)
                for n, (offset, size) in enumerate(samples):
                    at, end, slice_at, inband = offset, offset + size, None, set()
                    while at < end:  # each NAL unit's length becomes a start code, in the file's own bytes
                        if at + 4 > end:
                            raise _Unfollowed
                        (length,) = struct.unpack_from(">I", data, at)
                        if length == 0 or at + 4 + length > end:
                            raise _Unfollowed
                        data[at:at + 4] = START
                        kind = data[at + 4] & 0x1F
                        if slice_at is None and kind == IDR:
                            slice_at = at
                        elif slice_at is None and kind in (SPS, PPS):
                            inband.add(kind)
                        at += 4 + length
                    if n == 0 and slice_at is None:
                        raise _Unfollowed  # a segment that does not start on an IDR picture: its frames would move
                    if inband and inband != {SPS, PPS}:
                        raise _Unfollowed  # some of the parameter sets in the sample, not all: not followed
                    if slice_at is not None and not inband:  # before an IDR picture that has none of its own (a
                        # segment joined from halves carries them in its second half's), as h264_mp4toannexb does
                        f.write(view[offset:slice_at])
                        f.write(sets)
                        f.write(view[slice_at:end])
                    else:
                        f.write(view[offset:end])
                    frames += 1
    except _Unfollowed:
        Path(out).unlink(missing_ok=True)
        return None
    return frames


class _Unfollowed(Exception):
    """A sample this joiner does not follow: the join takes the concat demuxer."""
