"""Open a user's reference image or voice sample the way the backends will, and say what is wrong.

``validate`` runs these so that a corrupt, empty, enormous or mislabelled file is reported
with its file:line before any render, not as a crash in the final profile an hour later.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from director.store.cache import file_stamp

MAX_IMAGE_SIDE = 8192
MIN_IMAGE_SIDE = 16
MAX_SAMPLE_SECONDS = 300.0
MAX_FILE_BYTES = 200_000_000
MIN_SAMPLE_SECONDS = 0.5
_seen: dict[tuple, str | None] = {}  # (path, its stamp, check) -> verdict: validate re-runs cost nothing


def _memo(path: Path, check) -> str | None:
    try:
        st = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if st.st_size == 0:
        return "is an empty file (0 bytes)"
    if st.st_size > MAX_FILE_BYTES:  # a reference or a sample is a few MB; a huge one costs every render its read
        return (f"is {st.st_size / 1e6:.0f} MB; a reference picture or voice sample is at most "
                f"{MAX_FILE_BYTES // 1_000_000} MB (re-save it smaller)")
    # the cache's whole stamp (size, mtime, ctime, inode): a file put back with its old size and mtime (cp -p, rsync -t,
    # tar) is read again; a long-lived process (render --watch, the studio) must judge it as a fresh one would
    key = (str(path), *file_stamp(st), check.__name__)
    if key not in _seen:
        _seen[key] = check(path)
    return _seen[key]


def image_problem(path: Path) -> str | None:
    """Why the image at ``path`` cannot serve as a reference, or None."""
    return _memo(path, _image)


def audio_problem(path: Path) -> str | None:
    """Why the audio at ``path`` cannot serve as a voice sample, or None."""
    return _memo(path, _audio)


def _image(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if max(width, height) > MAX_IMAGE_SIDE:
                    return (f"is {width}x{height} pixels; the largest side may be {MAX_IMAGE_SIDE} "
                            "(scale it down, 1024-2048 is plenty for a reference)")
                if min(width, height) < MIN_IMAGE_SIDE:
                    return f"is only {width}x{height} pixels; use a picture at least {MIN_IMAGE_SIDE} pixels wide"
                img.verify()
    except UnidentifiedImageError:
        return "is not a picture director can read (use PNG, JPEG or WebP)"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"declares an enormous size (a decompression bomb); the largest side may be {MAX_IMAGE_SIDE}"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return f"is damaged and cannot be decoded ({str(exc)[:100]})"
    return None


def _audio(path: Path) -> str | None:
    from director.media.audio import AudioError, read_audio

    try:
        data, rate = read_audio(path, max_seconds=MAX_SAMPLE_SECONDS + 1)
    except AudioError as exc:
        return str(exc)
    seconds = len(data) / rate
    if seconds > MAX_SAMPLE_SECONDS:
        return f"is longer than {MAX_SAMPLE_SECONDS:.0f} s; cut a clean 5-30 s stretch of speech"
    if seconds < MIN_SAMPLE_SECONDS:
        return f"is {seconds:.2f} s long; a voice sample needs at least {MIN_SAMPLE_SECONDS} s (5-30 s is best)"
    if not data.size or float(abs(data).max()) < 1e-4:
        return "is silent"
    return None
