"""A fast PNG writer (and reader) for the preview's 1080x1920 layers: rows unfiltered, deflated at level 1.

Pillow chooses a filter per row by trying all five, which is most of its ~32 ms for a 1080x1920 RGB panel at
zlib level 1. Drawn panels (flat colours, gradients down the frame) compress as well with no filter at all: the
rows as they are, the same size as Pillow's and as the "Up" filter this writer used before (3.46 against 3.42 MB
over 36 layers), and nothing to compute. The files are ordinary 8-bit RGB, RGBA or grey PNGs (IHDR, one IDAT,
IEND) that Pillow, ffmpeg and browsers read, and ``unpacked_png`` hands them to ffmpeg as raw pixels: an inflate.

The deflate stream is made by ISA-L (``isal``, Intel's BSD-licensed compression library) where it is installed:
at its level 1 it is ~9x faster than zlib's level 1 on these rows (1.1 ms against 9.7 for a 1080x1920 layer) and
the files are the same size. It writes ordinary zlib streams, so any PNG reader reads them; without it, zlib.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

try:  # a zlib stream, 9x faster to make (the module's docstring); also the animatic's face patches
    from isal.isal_zlib import compress as deflate, crc32 as _crc32, decompress as inflate, error as _InflateError
except ImportError:  # pragma: no cover - isal is a dependency (wheels for Linux, macOS, Windows); zlib otherwise
    from zlib import compress as deflate, crc32 as _crc32, decompress as inflate, error as _InflateError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {"RGB": (3, 2), "RGBA": (4, 6), "L": (1, 0)}  # mode -> (channels, PNG colour type)
RAW_PIX_FMTS = {2: ("rgb24", 3), 6: ("rgba", 4), 0: ("gray", 1)}  # PNG colour type -> (ffmpeg's pixel format, channels)
CHANNELS = dict(RAW_PIX_FMTS.values())  # ffmpeg's pixel format -> channels
NONE, UP = 0, 2  # PNG filter types: the bytes as they are; each byte minus the byte above it


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", _crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(image, level: int = 1) -> bytes:
    """``image`` (a Pillow image in mode RGB, RGBA or L, or a uint8 array of shape (h, w[, 3 or 4])) as PNG;
    ``level``: the deflate level, 0-3 (ISA-L's range; 1 is its fastest real compression)."""
    mode = getattr(image, "mode", None)
    if mode is None and np.asarray(image).dtype != np.uint8:
        raise ValueError(f"png: 8-bit samples only (uint8), not {np.asarray(image).dtype}")
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim < 2 or 0 in pixels.shape:
        raise ValueError(f"png: an image has rows and columns (shape {pixels.shape})")
    if mode is None:
        mode = {2: "L", 3: {3: "RGB", 4: "RGBA"}.get(pixels.shape[-1])}.get(pixels.ndim)
    if mode not in COLOUR_TYPES:
        raise ValueError(f"png: mode {mode!r} (shape {pixels.shape}) is not RGB, RGBA or L")
    channels, colour = COLOUR_TYPES[mode]
    height, width = pixels.shape[:2]
    flat = pixels.reshape(height, width * channels)
    rows = np.empty((height, width * channels + 1), np.uint8)
    rows[:, 0] = NONE
    rows[:, 1:] = flat
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"".join([SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", deflate(rows.data, level)),
                     _chunk(b"IEND", b"")])


def write_png(path: Path, image, level: int = 1) -> None:
    """Write ``image`` as a PNG at ``path`` (into a cache entry's own folder: the cache publishes it atomically)."""
    Path(path).write_bytes(png_bytes(image, level))


def unpacked_png(path: Path) -> tuple[np.ndarray, str] | None:
    """The pixels of a PNG as ffmpeg's raw video reads them -- (rows of bytes, shape (height, width x channels),
    maybe a view; its pixel format: rgb24, rgba or gray) -- for the PNGs ``png_bytes`` writes (and earlier
    versions of it): 8-bit RGB, RGBA or grey, not interlaced, every row unfiltered or "Up"-filtered. None for any
    other PNG (or a damaged one): ffmpeg decodes those itself.

    ffmpeg spends ~21 ms on a 1080x1920 layer (it decodes a PNG twice: once to learn its pixel format, once to
    use it); an unfiltered one is unpacked here by ISA-L's inflate alone (~4 ms), and a segment reads three."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(SIGNATURE):
        return None
    header, parts, at = None, [], len(SIGNATURE)
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        if len(body) != length:
            return None
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            parts.append(body)
        elif kind == b"IEND":
            break
        elif kind[0] & 0x20 == 0 or kind == b"tRNS":  # a critical chunk this reader does not know (a palette),
            return None  # or a transparent colour ffmpeg would decode into alpha: not ours
        at += 12 + length
    if header is None or len(header) != 13 or not parts:
        return None
    width, height, depth, colour, method, filtering, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in RAW_PIX_FMTS or (method, filtering, interlace) != (0, 0, 0) or not width or not height:
        return None
    pix_fmt, channels = RAW_PIX_FMTS[colour]
    stride = width * channels
    try:
        raw = inflate(b"".join(parts))
    except (_InflateError, ValueError, MemoryError):
        return None
    if len(raw) != height * (stride + 1):
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    kinds = rows[:, 0]
    if not kinds.any():  # every row unfiltered (what ``png_bytes`` writes): the rows themselves
        return rows[:, 1:], pix_fmt
    if not ((kinds == NONE) | (kinds == UP)).all():
        return None  # Sub, Average or Paeth rows (another writer's PNG): ffmpeg's own decoder
    pixels = np.empty((height, stride), np.uint8)
    above = np.zeros(stride, np.uint8)  # the row above the first is zeros
    for r, row in enumerate(rows):
        if row[0] == UP:  # each byte plus the one above it, modulo 256
            np.add(row[1:], above, out=pixels[r])
        else:
            pixels[r] = row[1:]
        above = pixels[r]
    return pixels, pix_fmt
