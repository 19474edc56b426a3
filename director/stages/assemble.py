"""Assemble: clips + transitions + burned-in subtitles + the mix -> one H.264/AAC MP4, one encode.

Shots sit back to back, so the episode lasts exactly the sum of the fitted shots and every
voice stays where timing put it. ``fade`` dips through black inside the two shots' spans;
``dissolve`` cross-fades around the cut, holding the edge frames of each clip for half the
dissolve so neither shot loses time. Everything is one ffmpeg filter graph: decoded once,
encoded once, with ``+faststart`` for players that stream.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, added, keyed
from director.media.ffmpeg import run_ffmpeg
from director.media.fonts import font_path
from director.project import EncodeConfig
from director.shots import in_flashback
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

FADE_SECONDS = 0.4
DISSOLVE_SECONDS = 0.5
# A flashback's look, on any profile: most colour gone, warmed a little, corners darkened
GRADES = {"flashback": "hue=s=0.25,colorbalance=rm=0.06:bm=-0.06,vignette=angle=PI/4"}


def _filter_escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'").replace(",", "\\,")


def filter_graph(frames: list[int], transitions: list[str], fps: float, subtitles: str | None,
                 fontsdir: str | None, looks: list[str] | None = None) -> str:
    """The filter graph joining N clips (inputs 0..N-1) into [vout]; ``looks[i]`` grades shot i (flashback)."""
    n = len(frames)
    half = max(1, round(DISSOLVE_SECONDS * fps / 2))
    parts = []
    for i in range(n):
        chain = [f"[{i}:v]settb=1/{round(fps * 1000)},setsar=1,format=yuv420p"]
        if looks and looks[i]:
            chain.append(GRADES[looks[i]])
        dur = frames[i] / fps
        d_in = min(FADE_SECONDS, dur / 3)
        if transitions[i] == "fade":
            chain.append(f"fade=t=in:st=0:d={d_in:.4f}")
        if i + 1 < n and transitions[i + 1] == "fade":
            d_out = min(FADE_SECONDS, dur / 3, frames[i + 1] / fps / 3)
            chain.append(f"fade=t=out:st={dur - d_out:.4f}:d={d_out:.4f}")
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
                         + f"concat=n={len(members)}:v=1:a=0,settb=1/{round(fps * 1000)}[r{r}]")
    acc, acc_frames = "r0", sum(frames[m] for m in runs[0])
    for r in range(1, len(runs)):
        offset = (acc_frames - half) / fps
        parts.append(f"[{acc}][r{r}]xfade=transition=fade:duration={2 * half / fps:.4f}:offset={offset:.4f}[x{r}]")
        acc, acc_frames = f"x{r}", acc_frames + sum(frames[m] for m in runs[r])
    last = acc
    if subtitles:
        sub = f"subtitles=filename={_filter_escape(subtitles)}"
        if fontsdir:
            sub += f":fontsdir={_filter_escape(fontsdir)}"
        parts.append(f"[{last}]{sub}[vout]")
    else:
        parts.append(f"[{last}]null[vout]")
    return ";".join(parts)


@dataclass(frozen=True)
class AssembleRequest:
    clips: tuple[Artifact, ...] = keyed("clips changed")
    frames: tuple[int, ...] = keyed("duration changed")
    transitions: tuple[str, ...] = keyed("transitions changed")
    mix: Artifact = keyed("mix changed")
    subtitles: Artifact | None = keyed("subtitles changed")  # burned in; None when not
    fps: float = keyed("frame rate changed")
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    encode: EncodeConfig = keyed("encoder settings changed")
    burn: str = added("burned-in text changed", "ass")  # the subtitles' role burned: ass (all), cards (cards only)
    looks: tuple[str, ...] = added("flashback changed", ())  # per shot: "" or "flashback" (a grade)


class AssembleStage(Stage):
    name = "assemble"
    version = "2"
    scope = "episode"

    unit = "episode"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        subtitles = ctx.artifact("subtitles", "episode")
        burn = ctx.config.subtitles.burn
        cards = any(b.card is not None for b in ctx.beats.values())  # cards are picture: burned in either way
        looks = tuple("flashback" if in_flashback(ctx.sp, s) else "" for s in ctx.shots)
        req = AssembleRequest(clips=tuple(ctx.artifact("clips", s.id) for s in ctx.shots),
                              frames=tuple(ctx.frames(s) for s in ctx.shots),
                              transitions=tuple(s.transition for s in ctx.shots), mix=ctx.artifact("mix", "episode"),
                              subtitles=subtitles if burn or cards else None, fps=fmt.fps,
                              width=fmt.width, height=fmt.height, encode=ctx.config.encode,
                              burn="ass" if burn else "cards", looks=looks if any(looks) else ())
        yield self.job(ctx, "episode", req, partial(assemble_episode, req))


def assemble_episode(req: AssembleRequest, out: Path) -> Made:
    ass = req.subtitles.file(req.burn) if req.subtitles else None
    total = assemble([c.file("clip") for c in req.clips], list(req.frames), list(req.transitions), req.fps,
                     req.mix.file("audio"), ass, req.encode, out / "episode.mp4", list(req.looks))
    return Made({"video": "episode.mp4"}, info={"frames": total, "duration": total / req.fps})


def assemble(clips: list[Path], frames: list[int], transitions: list[str], fps: float, audio: Path,
             subtitles: Path | None, enc, out: Path, looks: list[str] | None = None) -> int:
    """Join clips into one H.264/AAC MP4 in a single ffmpeg run; return its frame count."""
    total = sum(frames)
    work = out.parent / f".work-{out.stem}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        ass = None
        if subtitles is not None:
            shutil.copy(subtitles, work / "episode.ass")
            ass = "episode.ass"
        graph = filter_graph(frames, transitions, fps, ass, str(font_path().parent) if ass else None, looks)
        args = []
        for clip in clips:
            args += ["-i", str(Path(clip).resolve())]
        args += ["-i", str(Path(audio).resolve()), "-filter_complex", graph, "-map", "[vout]", "-map",
                 f"{len(clips)}:a", "-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf),
                 "-pix_fmt", "yuv420p", "-r", f"{fps:g}", "-frames:v", str(total), "-c:a", "aac",
                 "-b:a", enc.audio_bitrate, "-ar", "48000", "-t", f"{total / fps:.6f}",
                 "-movflags", "+faststart", str(Path(out).resolve())]
        # the subtitles filter reads a plain relative file name most reliably: run ffmpeg in work/
        run_ffmpeg(args, "assembling the episode", cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return total
