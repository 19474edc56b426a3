"""FFmpeg, run as a separate program (the imageio-ffmpeg build: libx264, AAC, libass)."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from pathlib import Path

from director.errors import BackendUnavailable, StageFailed

# Every H.264 encode is BT.709, limited range, and says so: untagged, a player guesses (HD: 709), and ffmpeg's
# conversion from RGB used BT.601's matrix, so skin and saturated colours shifted on every HD player. The tags
# also choose the matrix: ffmpeg (7.1 and later: the imageio-ffmpeg build is 9.0) negotiates the colour space of
# every RGB -> YUV conversion in the graph back from what the encoder is told. One set everywhere, so that the
# segments a join copies agree with each other. The primaries and transfer go to x264 itself: given as ffmpeg's
# options they were dropped (the frames out of a filter graph carry "unspecified", which wins).
BT709 = ("-colorspace", "bt709", "-color_range", "tv", "-x264-params", "colorprim=bt709:transfer=bt709")


NAMES_COLOUR_SPACES = (7, 1)  # the ffmpeg whose format filter takes color_spaces= (yuv; doctor warns under it)


def yuv(pix_fmt: str = "yuv420p") -> str:
    """A filter graph's conversion to YUV, by BT.709 in limited range whatever the graph's shape (the negotiation back
    from the encoder's tags did not reach every branch of a split and stacked picture: a handheld shot's colours
    were converted by BT.601's matrix and shown by BT.709's). The format filter names a colour space from ffmpeg
    7.1 on; an older ffmpeg (one named by IMAGEIO_FFMPEG_EXE, or found on PATH) gets the scaler's matrix."""
    if ffmpeg_version() >= NAMES_COLOUR_SPACES:
        return f"format=pix_fmts={pix_fmt}:color_spaces=bt709:color_ranges=tv"
    return f"scale=out_color_matrix=bt709:out_range=tv,format={pix_fmt}"


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> tuple[int, int]:
    """(major, minor) of the ffmpeg director runs: from imageio-ffmpeg's file name (``ffmpeg-linux-x86_64-v9.0.2``),
    else from ``ffmpeg -version``; (0, 0) where neither says (an unnumbered build: treated as old)."""
    import re

    exe = ffmpeg_exe()
    found = re.search(r"-v(\d+)\.(\d+)", Path(exe).name)
    if found is None:
        try:
            banner = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return (0, 0)
        found = re.search(r"version n?(\d+)\.(\d+)", banner)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise BackendUnavailable("ffmpeg is missing: pip install imageio-ffmpeg (or install ffmpeg on PATH)")


# The ffmpeg processes running now, so that a stop reaches them: Ctrl-C in a terminal reaches the whole process
# group, but a SIGTERM (docker stop, systemd, a batch scheduler) reaches director alone, whose render then waited
# for every running encode to finish (a final episode's can take minutes) before it could save its state and exit.
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()  # between threads starting and ending encodes; never taken by the signal handler (it
# runs in the main thread, which may hold the lock when the signal arrives: it would wait on itself)
_STOPPED: list[int] = []  # the signal passed on: no ffmpeg starts after it


def _start(cmd: list[str], **kwargs) -> subprocess.Popen:
    if _STOPPED:
        raise StageFailed("stopped: the render was told to stop before this ffmpeg started")
    proc = None
    try:
        proc = subprocess.Popen(cmd, **kwargs)
        with _LIVE_LOCK:
            _LIVE.add(proc)
    except BaseException:  # an interrupt raised in this thread before it was tracked: not left running
        if proc is not None:
            proc.kill()
            proc.wait()
        raise
    if _STOPPED:  # the stop came while it was starting: it gets it too
        _signal(proc, _STOPPED[0])
    return proc


def _finished(proc: subprocess.Popen) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(proc)


def _signal(proc: subprocess.Popen, signum: int) -> None:
    try:
        proc.send_signal(signum)
    except OSError:  # it ended meanwhile
        pass


def stop_all(signum: int) -> None:
    """Pass a stop on to every ffmpeg this process runs (each ends at once, its output unfinished: its job fails
    and nothing of it is cached), and start no more. Called from the signal handlers (cli/fast.py): it takes no
    lock (the copy of the set is one step for the interpreter)."""
    _STOPPED.append(signum)
    for proc in list(_LIVE):
        _signal(proc, signum)


def run_ffmpeg(args: list[str], what: str, cwd: Path | None = None) -> None:
    """Run ffmpeg; on failure raise StageFailed with the end of its error output."""
    proc = _start(_command(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    try:
        _, err = proc.communicate()
    except BaseException:  # an interrupt, any error while waiting: no ffmpeg is left running untracked
        proc.kill()
        proc.wait()
        raise
    finally:
        _finished(proc)
    _check(proc.returncode, err, what)


def run_ffmpeg_side_by_side(runs: list[list[str]], what: str, cwd: Path | None = None) -> None:
    """Run several ffmpeg commands at once and wait for all of them; on a failure raise StageFailed as
    ``run_ffmpeg`` does (the first one that failed). Where one cannot even start, those already started are
    stopped first: none is left writing a file its caller is about to remove."""
    procs: list[subprocess.Popen] = []
    try:
        try:
            for args in runs:
                procs.append(_start(_command(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd))
        except (OSError, StageFailed):
            for proc in procs:
                proc.kill()
                proc.wait()
            raise
        try:
            errors = [proc.communicate()[1] for proc in procs]
        except BaseException:  # an interrupt while waiting: none is left running untracked
            for proc in procs:
                proc.kill()
                proc.wait()
            raise
    finally:
        for proc in procs:
            _finished(proc)
    for proc, err in zip(procs, errors):
        _check(proc.returncode, err, what)


def _command(args: list[str]) -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]


def _check(returncode: int, stderr: bytes, what: str) -> None:
    """StageFailed with the end of ffmpeg's error output, unless it succeeded."""
    if returncode != 0:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-6:]
        raise StageFailed(f"{what}: ffmpeg failed (exit {returncode}): " + " | ".join(tail))


class FrameWriter:
    """Pipe raw RGB frames into an H.264 encoder (an ffmpeg process reading its standard input)."""

    def __init__(self, path: Path, width: int, height: int, fps: float, crf: int = 17, preset: str = "ultrafast",
                 source: tuple[int, int] | None = None):
        """``source``: the size of the frames written, when not ``width`` x ``height``: ffmpeg scales them to
        cover the frame (Lanczos) and crops the centre -- in C, beside the encoder, instead of in Python."""
        self.path = path
        size = source or (width, height)
        scale = []
        if tuple(size) != (width, height):
            scale = ["-vf", f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos,"
                            f"crop={width}:{height},setsar=1"]
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{size[0]}x{size[1]}", "-r", f"{fps:g}", "-i", "-", *scale, "-an", "-c:v", "libx264",
               "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", *BT709, "-r", f"{fps:g}",
               str(path)]
        self.proc = _start(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames = 0

    def write(self, rgb: bytes) -> None:
        try:
            self.proc.stdin.write(rgb)
        except BrokenPipeError:  # ffmpeg gave up: close() says why
            self.close()
            raise StageFailed(f"encoding {self.path.name} failed: ffmpeg stopped reading") from None
        self.frames += 1

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        err = self.proc.stderr.read().decode("utf-8", "replace")
        code = self.proc.wait()
        _finished(self.proc)
        if code != 0:
            raise StageFailed(f"encoding {self.path.name} failed: {err.strip()[-600:]}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.proc.kill()
            self.proc.wait()
            _finished(self.proc)


def rate(fps: float) -> str:
    """``fps`` as the exact rational ffmpeg expects ("24/1", "24000/1001")."""
    from fractions import Fraction

    q = Fraction(fps).limit_denominator(1001)
    return f"{q.numerator}/{q.denominator}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or ``taskset``'s limit), else all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def filter_threads() -> list[str]:
    """A filter graph runs on half the cores (at least one), x264 on what it takes: two jobs side by side share
    two cores without the filters' threads crowding the encoders'."""
    return ["-filter_complex_threads", str(max(1, usable_cores() // 2))]
