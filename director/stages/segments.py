"""Segments: each shot's finished picture, encoded once, so the episode is joined by stream copy.

A segment is a shot's clip with everything the episode draws over it: its look (a flashback's
grade), its fades, and the subtitles and cards visible during its frames, burned in. A dissolve
spans two shots, so it lives in a short segment of its own (``<shot>.in``: the last frames of
the shot before, dissolved into the first frames of this one); the shots' own segments stop and
start around it. ``assemble`` then only joins the segments (the concat demuxer, no re-encode)
and adds the mix, and an edit re-encodes just the segments it touches.

The frames are exactly those of one encode of the whole episode (``assemble.single_encode``, the
reference the tests compare against): the same filters run on the same clip frames, in the same
order. Subtitles are the subtle part. Burned into a segment at the episode's clock, every later
segment would change whenever an earlier shot's length did; so each segment burns a slice of the
episode's ASS in its own clock instead: the events visible in its frames, decided exactly as
libass decides them on the episode (``start <= now < end`` in whole milliseconds), rewritten to
start and end half a frame away from the segment's frames, where rounding to centiseconds cannot
move them across a frame. A shot's segment therefore depends on its own clip, its neighbours'
lengths where a fade needs them, and the text it shows, not on where it sits in the episode.
"""
from __future__ import annotations

import copy
import functools
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, keyed, unkeyed
from director.errors import StageFailed
from director.media.ffmpeg import BT709, filter_threads, run_ffmpeg, run_ffmpeg_side_by_side, usable_cores, yuv
from director.media.source import ClipSource
from director.media.fonts import font_path, subset_font
from director.project import EncodeConfig
from director.shots import in_flashback
from director.stages.base import Stage, Unknown
from director.store import steps

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

# A preview segment's CPU, roughly (a job's cost: the scheduler starts the costliest first, so that the workers
# end together): ffmpeg's start with the layers and libass, then per 1080x1920 frame x264 ultrafast with a still
# graph, and as much again for every layer the clip's graph scales on every frame (a dolly's zoom scales two: its
# frames cost three times a pan's). Measured on the demo's six segments, replayed.
SEGMENT_START, SECONDS_PER_FRAME, SECONDS_PER_SCALE = 0.08, 0.0045, 0.0045


def segment_cost(clips: list[Artifact], frames: int, width: int, height: int) -> float:
    """What a segment of ``frames`` drawn from ``clips`` (a dissolve draws two) costs, roughly, in CPU-seconds."""
    scales = 0
    for clip in clips:
        if clip.has("graph"):
            try:
                scales = max(scales, ClipSource.of(clip).graph.count("eval=frame"))
            except StageFailed:  # a damaged recipe fails its segment's job, with the reason
                pass
    return SEGMENT_START + frames * (SECONDS_PER_FRAME + SECONDS_PER_SCALE * scales) * width * height / (1080 * 1920)


FADE_SECONDS = 0.4
DISSOLVE_SECONDS = 0.5
# A flashback's look, on any profile: most colour gone, warmed a little, corners darkened. All in YUV, each frame
# on its own: colorbalance (the warmth it had) converted every 1080x1920 frame to RGB and back, ~50 ms a frame,
# and the vignette's dither made each frame depend on how many came before; a flashback's segment took 20x an
# ordinary one's. This chain is 7-13x faster (two sittings), near the old one's look, and stays in video range.
GRADES = {"flashback": "hue=s=0.25,vignette=angle=PI/4:dither=0,"
                        "lutyuv=y='clip((val-16)*1.08+16,16,235)':u=val-1:v=val+2"}


def dissolve_half(fps: float) -> int:
    """Frames on each side of a cut that a dissolve blends."""
    return max(1, round(DISSOLVE_SECONDS * fps / 2))


def time_base(fps: float) -> str:
    """The filters' time base: one frame is exactly 1000 ticks."""
    return f"1/{round(fps * 1000)}"


@dataclass(frozen=True)
class Look:
    """What the episode draws on one shot's own frames before any transition: grade and fades."""

    frames: int
    fade_in: float = 0.0  # seconds; 0: none
    fade_out: float = 0.0
    grade: str = ""

    def chain(self, fps: float) -> list[str]:
        out = [f"settb={time_base(fps)}", "setsar=1", yuv()]
        if self.grade:
            out.append(GRADES[self.grade])
        if self.fade_in:
            out.append(f"fade=t=in:st=0:d={self.fade_in:.4f}")
        if self.fade_out:
            out.append(f"fade=t=out:st={self.frames / fps - self.fade_out:.4f}:d={self.fade_out:.4f}")
        return out


def looks(frames: list[int], transitions: list[str], fps: float, grades: list[str] | None = None) -> list[Look]:
    """Per shot, its grade and fades (a fade dips through black inside the two shots' spans)."""
    out = []
    for i, n in enumerate(frames):
        dur = n / fps
        fade_in = min(FADE_SECONDS, dur / 3) if transitions[i] == "fade" else 0.0
        fade_out = 0.0
        if i + 1 < len(frames) and transitions[i + 1] == "fade":
            fade_out = min(FADE_SECONDS, dur / 3, frames[i + 1] / fps / 3)
        out.append(Look(n, round(fade_in, 6), round(fade_out, 6), (grades or [""] * len(frames))[i]))
    return out


@dataclass(frozen=True)
class Span:
    """One segment: shot ``shot``'s frames [first, last) -- or, for a dissolve into it, the blend -- placed at
    episode frame ``at``."""

    shot: int
    dissolve: bool  # the dissolve from shot-1 into shot (2 x half frames)
    first: int
    last: int
    at: int

    @property
    def frames(self) -> int:
        return self.last - self.first


def spans(frames: list[int], transitions: list[str], fps: float) -> list[Span] | None:
    """The episode's segments in order; None when a shot is too short to keep its own frames between two
    dissolves (the assembly then encodes the episode in one pass)."""
    half = dissolve_half(fps)
    out, at = [], 0
    for i, n in enumerate(frames):
        into = i > 0 and transitions[i] == "dissolve"
        out_of = i + 1 < len(frames) and transitions[i + 1] == "dissolve"
        first, last = (half if into else 0), (n - half if out_of else n)
        if last - first < 1:
            return None
        if into:
            out.append(Span(i, True, 0, 2 * half, at - half))
        out.append(Span(i, False, first, last, at + first))
        at += n
    return out


# ---------------------------------------------------------------------------------------------------- subtitles
def frame_ms(k: int, fps: float) -> int:
    """The time libass is asked to draw for episode frame ``k``: ffmpeg's subtitles filter computes it in
    doubles from the frame's pts (1000 ticks a frame at this time base) and truncates to milliseconds."""
    return int((k * 1000) * (1 / round(fps * 1000)) * 1000)


def subtitle_slice(ass_text: str, at: int, count: int, fps: float) -> str | None:
    """The events of an episode's ASS visible in frames [at, at+count), in the segment's own clock: frame j
    of the segment is drawn at (j + 1) / fps, each event starts half a frame before the first of its frames
    here and ends half a frame after its last. None when nothing shows."""
    subs = _parsed(ass_text)
    times = [frame_ms(k, fps) for k in range(at, at + count)]
    kept = []
    for event in subs.events:
        if event.is_comment or event.end <= times[0] or event.start > times[-1]:
            continue
        shown = [j for j, now in enumerate(times) if event.start <= now < event.end]
        if shown:
            kept.append(event.copy())
            kept[-1].start = round((shown[0] + 0.5) * 1000 / fps)
            kept[-1].end = round((shown[-1] + 1.5) * 1000 / fps)
    if not kept:
        return None
    piece = copy.copy(subs)  # the episode's header and styles (shared, never changed), these events
    piece.events = kept
    return piece.to_string("ass")


@functools.lru_cache(maxsize=4)
def _parsed(ass_text: str):
    """The episode's ASS parsed once per render (every shot's segment slices it); never modified."""
    import pysubs2

    return pysubs2.SSAFile.from_string(ass_text)


def filter_value(text: str) -> str:
    """``text`` as a filter option's value inside a filtergraph: escaped for the option parser (``\\ ' :``), then
    for the graph (``\\ ' [ ] , ;``), as ffmpeg's "filtergraph escaping" asks. With one level only, a folder named
    ``it's`` or ``take [1]`` lost the font silently (tofu for Chinese) or failed every subtitled segment."""
    option = "".join("\\" + c if c in "\\':" else c for c in text)
    return "".join("\\" + c if c in "\\'[],;" else c for c in option)


def burn_filter(ass_name: str, fonts: Path | str | None = None) -> str:
    """The subtitles filter for a file in ffmpeg's working folder, with director's font (``fonts``: a folder with
    its subset for this file, ``fonts.subset_font``, best named relative to that working folder)."""
    return f"subtitles=filename={filter_value(ass_name)}:fontsdir={filter_value(str(fonts or font_path().parent))}"


# ------------------------------------------------------------------------------------------------------ the job
@dataclass(frozen=True)
class SegmentRequest:
    clip: Artifact = keyed("clip changed")
    look: Look = keyed("fades or look changed")
    first: int = keyed("shot length changed")  # the clip's frames [first, last)
    last: int = keyed("shot length changed")
    subtitles: str | None = keyed("subtitles changed")  # the ASS slice burned in (own clock); None: none
    fps: float = keyed("frame rate changed")
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    encode: EncodeConfig = keyed("encoder settings changed")
    before: Artifact | None = keyed("the shot before changed")  # a dissolve: the shot it comes from
    before_look: Look | None = keyed("the shot before changed")
    # x264's threads (0: its own choice) where the scheduler gives no share of the cores (``steps.cores``): the same
    # picture up to the encoder's rounding, and not keyed, so that a cache made on one machine serves another
    threads: int = unkeyed(0)


def encoder_threads(workers: int) -> int:
    """x264's threads for one of ``workers`` jobs that encode side by side: the cores shared out. On two cores
    two single-threaded encodes spend ~10% less CPU per frame than two that each start threads for both."""
    return max(1, usable_cores() // max(1, workers))


def encode_args(enc: EncodeConfig, fps: float, frames: int, threads: int = 0) -> list[str]:
    """One encoder for every segment (the same settings: the concat demuxer copies their streams as one)."""
    return ["-an", "-c:v", "libx264", *(["-threads", str(threads)] if threads else []), "-preset", enc.preset,
            *enc.rate_args(), "-pix_fmt", "yuv420p", *BT709,
            "-r", f"{fps:g}", "-frames:v", str(frames), "-video_track_timescale", str(round(fps * 1000))]


SPLIT_COST = 0.3  # a segment encoded alone that costs at least this (CPU-seconds) is encoded in halves side by side:
# a second ffmpeg's start and the join cost ~0.1 s


def make_segment(req: SegmentRequest, out: Path) -> Made:
    count = req.last - req.first
    work = out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        fonts = None
        if req.subtitles:  # drawn at the segment's own clock: frame j at (j + 1) / fps (subtitle_slice)
            (work / "slice.ass").write_text(req.subtitles, encoding="utf-8")
            fonts = subset_font(req.subtitles, work / "fonts")  # the slice's characters: libass starts in a third
        cores = steps.cores() or req.threads
        source = ClipSource.of(req.clip)
        if req.before is None and _skips(req, source) and cores >= 2 and \
                segment_cost([req.clip], count, req.width, req.height) >= SPLIT_COST:
            # alone on the machine (a seed change's segment, a render's last): each half drawn and encoded on a
            # core of its own from the clip's frame where it starts, then joined by stream copy. ffmpeg gave a
            # lone segment's graph no second core (its filters run one after another, and x264's second thread
            # waits on them).
            mid = req.first + count // 2
            halves = [(req.first, mid, work / "first.mp4"), (mid, req.last, work / "second.mp4")]
            run_ffmpeg_side_by_side([_encode(req, source, work, lo, hi, fonts, 1, path, f"h{i}")
                                     for i, (lo, hi, path) in enumerate(halves)], "encoding a segment", cwd=work)
            listing = work / "halves.txt"
            listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{path.name}'\n" for *_, path in halves),
                               encoding="utf-8")
            run_ffmpeg(["-f", "concat", "-safe", "0", "-i", listing.name, "-c", "copy", "-video_track_timescale",
                        str(round(req.fps * 1000)), str((out / "segment.mp4").resolve())], "joining a segment's halves",
                       cwd=work)
        else:
            run_ffmpeg(_encode(req, source, work, req.first, req.last, fonts, cores, out / "segment.mp4"),
                       "encoding a segment", cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Made({"video": "segment.mp4"}, info={"frames": count})


def _skips(req: SegmentRequest, source: ClipSource) -> bool:
    """Whether the segment's frames may be drawn from the first it shows on (a half from its own first): a source
    that skips frames cheaply (every look draws each frame from that frame alone: the grade's vignette does not
    dither)."""
    return source.skips


def _encode(req: SegmentRequest, source: ClipSource, work: Path, lo: int, hi: int, fonts: Path | None,
            threads: int, dest: Path, prefix: str = "c") -> list[str]:
    """ffmpeg's arguments for the segment's frames [lo, hi) of its shot (all of them, or a half) into ``dest``."""
    fps = req.fps
    tb = time_base(fps)
    # the clip's frames: decoded from its file, or drawn by its graph inside this encode (media.source), from
    # the first this encode needs where the source skips the others cheaply
    start = lo if _skips(req, source) else 0
    clip = source.place(0, prefix, work, start=start)
    args, chains = [*clip.args], [*clip.chains]
    if req.before is None:
        graph = f"[{clip.pad}]" + ",".join([*req.look.chain(fps), f"trim=start_frame={lo - start}"
                                            f":end_frame={hi - start}", "setpts=PTS-STARTPTS"])
    else:  # the dissolve: the shot before's last half frames (then held) into this one's first (held before)
        half = (hi - lo) // 2
        before = req.before_look
        prior = ClipSource.of(req.before).place(clip.inputs, "b", work)
        args += prior.args
        chains += prior.chains
        a = ",".join([*before.chain(fps), f"trim=start_frame={before.frames - half}", "setpts=PTS-STARTPTS",
                      f"tpad=stop_mode=clone:stop={half}"])
        b = ",".join([*req.look.chain(fps), f"trim=end_frame={half}", "setpts=PTS-STARTPTS",
                      f"tpad=start_mode=clone:start={half}"])
        graph = (f"[{prior.pad}]{a}[a];[{clip.pad}]{b}[b];"
                 f"[a][b]xfade=transition=fade:duration={2 * half / fps:.4f}:offset=0,settb={tb}")
    if req.subtitles:  # the segment's frame j at (j + 1) / fps, a half's frames where they sit in it; the whole
        # font where no subset was made (``subset_font`` gives None without uharfbuzz)
        graph += f",setpts=PTS+{1000 * (lo - req.first + 1)},{burn_filter('slice.ass', fonts and fonts.name)},setpts=PTS-STARTPTS"
    graph += "[v]"
    return [*args, *filter_threads(), "-filter_complex", ";".join([*chains, graph]), "-map", "[v]",
            *encode_args(req.encode, fps, hi - lo, threads), str(dest.resolve())]


class SegmentsStage(Stage):
    name = "segments"
    version = "5"  # 5: BT.709, tagged (media/ffmpeg.BT709); 2: the flashback grade in YUV, undithered; 3: in video range; 4: a fonts folder escaped twice
    # --shots: every shot's segment is (re)made from the cache like an episode stage (a named shot's neighbours
    # may dissolve into it), so the episode can be joined again
    scope = "joined"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        shots = ctx.all_shots
        if ctx.config.encode.join != "segments":
            return
        frames = [ctx.frames(s) for s in shots]
        transitions = [s.transition for s in shots]
        plan = spans(frames, transitions, fmt.fps)
        if plan is None:
            self.notes.append("a shot is too short to keep frames of its own between two dissolves: the episode is "
                              "encoded in one pass")
            return
        grades = ["flashback" if in_flashback(ctx.sp, s) else "" for s in shots]
        shape = looks(frames, transitions, fmt.fps, grades)
        wanted = {s.id for s in ctx.shots}
        ass = burned_text(ctx)
        missing = None  # a span whose clip is not made yet: raised after the spans that can be made now
        for span in plan:
            shot = shots[span.shot]
            if shot.id not in wanted:
                continue
            before = shots[span.shot - 1] if span.dissolve else None
            try:  # (``status`` said a shot's own segment waited when only the dissolve into it did)
                clip, before_clip = ctx.artifact("clips", shot.id), ctx.artifact("clips", before.id) if before else None
            except Unknown as gone:
                missing = missing or gone
                continue
            subtitles = subtitle_slice(ass, span.at, span.frames, fmt.fps) if ass else None
            req = SegmentRequest(clip=clip, look=shape[span.shot], first=span.first,
                                 last=span.last, subtitles=subtitles, fps=fmt.fps, width=fmt.width,
                                 height=fmt.height, encode=ctx.config.encode, before=before_clip,
                                 before_look=shape[span.shot - 1] if before else None,
                                 threads=encoder_threads(ctx.config.workers))
            job = self.job(ctx, span_id(shots, span), req, partial(make_segment, req), shot=shot.id,
                           label=f"dissolve into {shot.id}" if span.dissolve else shot.id)
            job.cost = segment_cost([c for c in (req.clip, req.before) if c is not None], span.frames, fmt.width,
                                    fmt.height)
            yield job
        if missing is not None:
            raise missing

    def item_ids(self, ctx: RenderContext, shot) -> list[str]:
        """A shot's segment, after the dissolve into it where there is one (``status`` had said a segment fewer
        than the render made)."""
        if ctx.config.encode.join != "segments":
            return []
        into = shot.transition == "dissolve" and ctx.all_shots.index(shot) > 0
        return [f"{shot.id}.in", shot.id] if into else [shot.id]


def span_id(shots, span: Span) -> str:
    """A segment's id: the shot's, or ``<shot>.in`` for the dissolve into it."""
    return f"{shots[span.shot].id}.in" if span.dissolve else shots[span.shot].id


def segment_ids(ctx: RenderContext) -> list[str] | None:
    """The episode's segments in order (None: it is encoded in one pass)."""
    shots = ctx.shots
    if ctx.config.encode.join != "segments":
        return None
    plan = spans([ctx.frames(s) for s in shots], [s.transition for s in shots], ctx.sp.format.fps)
    return None if plan is None else [span_id(shots, span) for span in plan]


def burned_text(ctx: RenderContext) -> str | None:
    """The ASS the episode burns in: every subtitle (subtitles.burn), else the cards alone, else none."""
    entry = ctx.artifact("subtitles", "episode")
    if ctx.config.subtitles.burn:
        return entry.file("ass").read_text(encoding="utf-8")
    if entry.has("cards"):
        return entry.file("cards").read_text(encoding="utf-8")
    return None
