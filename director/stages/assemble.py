"""Assemble: the shots' segments + the mix -> one H.264/AAC MP4, joined without re-encoding the picture.

Every shot's finished picture is its own cached segment (``stages/segments.py``: its look, fades,
dissolves and burned-in text already drawn); this stage joins them with the concat demuxer and a
stream copy, adds the mix (AAC) and moves the index to the front (``+faststart``) for players that
stream. An edit re-encodes only the segments it touches and then re-joins in a fraction of a second.

``single_encode`` is the episode in one ffmpeg filter graph (decode every clip, draw, encode once):
the reference the segments must match frame for frame, and the path taken when a shot is too short
to hold its own frames between two dissolves. Shots sit back to back either way, so the episode
lasts exactly the sum of the fitted shots and every voice stays where timing put it.
"""
from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, added, keyed
from director.errors import StageFailed
from director.media.ffmpeg import BT709, filter_threads, run_ffmpeg
from director.media.mp4 import annex_b
from director.media.source import ClipSource, FileSource
from director.project import EncodeConfig
from director.shots import in_flashback
from director.stages.base import Stage
from director.stages.segments import (FADE_SECONDS, GRADES, burn_filter, dissolve_half, looks as shot_looks,
                                      segment_ids, time_base)

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

__all__ = ["FADE_SECONDS", "GRADES", "filter_graph", "single_encode", "join_segments"]


def filter_graph(frames: list[int], transitions: list[str], fps: float, subtitles: str | None,
                 looks: list[str] | None = None, pads: list[str] | None = None) -> str:
    """The filter graph joining N clips (inputs 0..N-1, or the pads ``pads``) into [vout]; ``looks[i]`` grades shot
    i (flashback)."""
    n = len(frames)
    pads = pads or [f"{i}:v" for i in range(n)]
    half = dissolve_half(fps)
    shape = shot_looks(frames, transitions, fps, looks or None)
    parts = []
    for i in range(n):
        chain = [f"[{pads[i]}]" + shape[i].chain(fps)[0], *shape[i].chain(fps)[1:]]
        if i > 0 and transitions[i] == "dissolve":
            chain.append(f"tpad=start_mode=clone:start={half}")
        if i + 1 < n and transitions[i + 1] == "dissolve":
            chain.append(f"tpad=stop_mode=clone:stop={half}")
        parts.append(",".join(chain) + f"[s{i}]")
    runs: list[list[int]] = [[0]]
    for i in range(1, n):
        (runs.append([i]) if transitions[i] == "dissolve" else runs[-1].append(i))
    for r, members in enumerate(runs):
        if len(members) == 1:
            parts.append(f"[s{members[0]}]null[r{r}]")
        else:
            # concat outputs a 1/1000000 time base; xfade needs both inputs on the shots' own
            parts.append("".join(f"[s{m}]" for m in members)
                         + f"concat=n={len(members)}:v=1:a=0,settb={time_base(fps)}[r{r}]")
    acc, acc_frames = "r0", sum(frames[m] for m in runs[0])
    for r in range(1, len(runs)):
        # in whole microseconds rounded down: xfade starts at the first frame at or after the offset, and a
        # rounded-up offset (220 frames = 9.1667 s) started it a frame late, shifting every later frame by one
        offset = math.floor((acc_frames - half) * 1_000_000 / fps) / 1_000_000
        parts.append(f"[{acc}][r{r}]xfade=transition=fade:duration={2 * half / fps:.4f}:offset={offset:.6f}[x{r}]")
        acc, acc_frames = f"x{r}", acc_frames + sum(frames[m] for m in runs[r])
    parts.append(f"[{acc}]{burn_filter(subtitles)}[vout]" if subtitles else f"[{acc}]null[vout]")
    return ";".join(parts)


@dataclass(frozen=True)
class AssembleRequest:
    segments: tuple[Artifact, ...] = keyed("segments changed")  # in order; empty: encode in one pass (below)
    frames: tuple[int, ...] = keyed("duration changed")
    mix: Artifact = keyed("mix changed")
    fps: float = keyed("frame rate changed")
    encode: EncodeConfig = keyed("encoder settings changed")
    # the single pass only (a shot too short for segments):
    clips: tuple[Artifact, ...] = added("clips changed", ())
    transitions: tuple[str, ...] = added("transitions changed", ())
    subtitles: Artifact | None = added("subtitles changed", None)  # burned in; None when not
    burn: str = added("burned-in text changed", "ass")  # the subtitles' role burned: ass (all), cards (cards only)
    looks: tuple[str, ...] = added("flashback changed", ())  # per shot: "" or "flashback" (a grade)
    language: str = added("language changed", "")  # the sound's ISO 639-2 language, tagged (it was "und")


class AssembleStage(Stage):
    name = "assemble"
    version = "7"  # 7: BT.709, tagged; 5, 6: the flashback grade in YUV; 3: joined from segments by stream copy; 4: the preview's segments read as one H.264 stream (the same
    # packets, chunked as ffmpeg interleaves one input)
    scope = "episode"

    unit = "episode"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        frames = tuple(ctx.frames(s) for s in ctx.shots)
        mix = ctx.artifact("mix", "episode")
        order = segment_ids(ctx)
        if order is not None:  # joined from the shots' segments
            req = AssembleRequest(segments=tuple(ctx.artifact("segments", i) for i in order), frames=frames, mix=mix,
                                  fps=fmt.fps, encode=ctx.config.encode, language=iso639(ctx.sp.language))
            yield self.job(ctx, "episode", req, partial(assemble_episode, req))
            return
        subtitles = ctx.artifact("subtitles", "episode")
        burn = ctx.config.subtitles.burn
        looks = tuple("flashback" if in_flashback(ctx.sp, s) else "" for s in ctx.shots)
        req = AssembleRequest(segments=(), frames=frames, mix=mix, fps=fmt.fps, encode=ctx.config.encode,
                              clips=tuple(ctx.artifact("clips", s.id) for s in ctx.shots),
                              transitions=tuple(s.transition for s in ctx.shots),
                              subtitles=subtitles if burn or subtitles.has("cards") else None,
                              burn="ass" if burn else "cards", looks=looks if any(looks) else (),
                              language=iso639(ctx.sp.language))
        yield self.job(ctx, "episode", req, partial(assemble_episode, req))


def assemble_episode(req: AssembleRequest, out: Path) -> Made:
    if req.segments:
        audio = req.mix.file("aac") if req.mix.has("aac") else req.mix.file("audio")
        total = join_segments([s.file("video") for s in req.segments], sum(req.frames), req.fps, audio, req.encode,
                              out / "episode.mp4", req.language)
    else:
        ass = req.subtitles.file(req.burn) if req.subtitles else None
        total = single_encode([ClipSource.of(c) for c in req.clips], list(req.frames), list(req.transitions), req.fps,
                              req.mix.file("audio"), ass, req.encode, out / "episode.mp4", list(req.looks),
                              req.language)
    return Made({"video": "episode.mp4"}, info={"frames": total, "duration": total / req.fps})


def _audio_args(enc: EncodeConfig, total: int, fps: float, out: Path, audio: Path | None = None,
                language: str = "") -> list[str]:
    """The audio's encoder (or a copy of the mix's own AAC), its language, and the MP4's length and layout."""
    codec = ["-c:a", "copy"] if audio is not None and Path(audio).suffix == ".m4a" else \
        ["-c:a", "aac", "-b:a", enc.audio_bitrate]  # at the mix's own rate (mix.sample_rate)
    tag = ["-metadata:s:a:0", f"language={language}"] if language else []
    return [*codec, *tag, "-t", f"{total / fps:.6f}", "-movflags", "+faststart", str(Path(out).resolve())]


# a screenplay's language (BCP-47) as the MP4 tags a stream's (ISO 639-2): players and editors list the track by it
ISO639 = {"zh": "chi", "en": "eng", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger", "es": "spa", "pt": "por",
          "it": "ita", "ru": "rus", "th": "tha", "vi": "vie", "id": "ind", "ar": "ara", "hi": "hin"}


def iso639(language: str) -> str:
    """``zh-CN`` -> ``chi``; a language without a code here is not tagged ("")."""
    return ISO639.get(language.split("-")[0].lower(), "")


log = logging.getLogger("director.assemble")
RAW_TICKS = 1_200_000  # the time base of ffmpeg's raw H.264 reader: 1/1,200,000 s


def join_segments(segments: list[Path], total: int, fps: float, audio: Path, enc: EncodeConfig, out: Path,
                  language: str = "") -> int:
    """The segments' pictures one after another (stream copy) with the mix; returns the frame count. The preview's
    segments are read as one H.264 stream (``media/mp4.annex_b``: one input to open, where the concat demuxer probes
    every segment), numbered frame by frame; any others by the concat demuxer. The packets are the same."""
    ticks, scale = round(RAW_TICKS / fps), round(fps * 1000)
    stream = out.parent / f".{out.stem}-pictures.h264"
    try:  # a frame exactly ``ticks`` of the reader's clock and 1000 of the track's (24000/1001 typed in full is not)
        if ticks * fps == RAW_TICKS and scale * ticks == RAW_TICKS * 1000 and annex_b(segments, stream) == total:
            run_ffmpeg(["-f", "h264", "-framerate", f"{fps:g}", "-i", str(stream.resolve()), "-i",
                        str(Path(audio).resolve()), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-bsf:v",
                        f"setts=ts=N*{ticks}", "-video_track_timescale", str(scale),
                        "-movie_timescale", str(max(scale, 48000)),
                        *_audio_args(enc, total, fps, out, audio, language)],
                       "joining the episode's segments")
            return total
    except StageFailed as exc:  # the stream refused (a file the reader passed wrongly): the concat demuxer's join
        log.warning("joining the segments as one stream failed, joining them file by file: %s", exc)
    finally:
        stream.unlink(missing_ok=True)
    listing = out.parent / f".{out.stem}-segments.txt"
    listing.write_text("ffconcat version 1.0\n" + "".join(
        "file '{}'\n".format(str(Path(s).resolve()).replace("'", "'\\''")) for s in segments), encoding="utf-8")
    try:
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing.resolve()), "-i", str(Path(audio).resolve()),
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                    *_audio_args(enc, total, fps, out, audio, language)],
                   "joining the episode's segments")
    finally:
        listing.unlink(missing_ok=True)
    return total


def single_encode(clips: list[Path | ClipSource], frames: list[int], transitions: list[str], fps: float,
                  audio: Path, subtitles: Path | None, enc, out: Path, looks: list[str] | None = None,
                  language: str = "") -> int:
    """Join clips (files, or any ``ClipSource``) into one H.264/AAC MP4 in a single ffmpeg run; return its frame
    count."""
    total = sum(frames)
    work = out.parent / f".work-{out.stem}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        ass = None
        if subtitles is not None:
            shutil.copy(subtitles, work / "episode.ass")
            ass = "episode.ass"
        args, chains, pads, inputs = [], [], [], 0
        for i, clip in enumerate(clips):
            placed = (clip if isinstance(clip, ClipSource) else FileSource(Path(clip))).place(inputs, f"c{i}_", work)
            args += placed.args
            chains += placed.chains
            pads.append(placed.pad)
            inputs += placed.inputs
        graph = ";".join([*chains, filter_graph(frames, transitions, fps, ass, looks, pads)])
        args += ["-i", str(Path(audio).resolve()), *filter_threads(), "-filter_complex", graph, "-map", "[vout]",
                 "-map", f"{inputs}:a", "-c:v", "libx264", "-preset", enc.preset,
                 *enc.rate_args(), "-pix_fmt", "yuv420p", *BT709, "-r", f"{fps:g}", "-frames:v", str(total),
                 *_audio_args(enc, total, fps, out, language=language)]
        # the subtitles filter reads a plain relative file name most reliably: run ffmpeg in work/
        run_ffmpeg(args, "assembling the episode", cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return total


assemble = single_encode  # the name the assembly benchmark pairs with moviepy
