"""Subtitles: SRT and ASS sidecars, one cue per line and narration, inside the span of its voice.

Lines are wrapped by measured width with the font that will draw them (ASS does not wrap
CJK), at most ``max_lines`` lines per cue (longer text becomes consecutive cues), placed
in the vertical safe zone: clear of the bottom ~20% and the top ~10% of the frame.
"""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from director.backends.types import added, Made, keyed
from director.media.fonts import FONT_FAMILY, font, missing_glyphs, wrap_lines
from director.media.linebreak import CJK_CHAR, zh_drama
from director.project import SubtitleConfig
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

SAFE_BOTTOM = 0.22  # share of the frame height kept free below the subtitles
SIDE_MARGIN = 0.08


@dataclass(frozen=True)
class SubtitleCue:
    start: float
    end: float
    lines: tuple[str, ...]
    italic: bool = False


MIN_CUE = 0.8  # seconds a cue stays up at least (a 0.37 s "What?" would flash by)


def layout(text: str, start: float, end: float, width: int, height: int, size: float, max_lines: int,
           names: tuple[str, ...] = (), style: str = "plain") -> list[SubtitleCue]:
    """Wrap ``text`` and split it into cues of at most ``max_lines`` lines, timed by share of characters."""
    fnt = font(max(8, round(height * size)))
    measure = width * (1 - 2 * SIDE_MARGIN)

    def wrapped(piece: str) -> list[str]:
        lines = wrap_lines(piece, fnt, measure, names)
        return [ln for ln in (zh_drama(line) for line in lines) if ln] if style == "zh-drama" else lines

    groups: list[list[str]] = []
    whole = wrapped(text)
    if len(whole) <= max_lines:
        groups = [whole]
    else:  # a cue change falls between clauses (never inside 有|多难), each cue as full as its lines allow
        pending = ""
        for clause in clauses(text):
            if pending and len(wrapped(pending + clause)) > max_lines:
                groups.append(wrapped(pending))
                pending = ""
            pending += clause
            lines = wrapped(pending)
            while len(lines) > max_lines:  # one clause longer than a cue: its lines in cue-sized groups
                groups.append(lines[:max_lines])
                pending = rejoin(lines[max_lines:])
                lines = wrapped(pending)
        if pending.strip():
            groups.append(wrapped(pending))
    groups = [g for g in groups if g] or [[text]]
    total = sum(len("".join(g)) for g in groups) or 1
    cues, t = [], start
    for g in groups:
        share = (end - start) * len("".join(g)) / total
        cues.append(SubtitleCue(round(t, 3), round(min(end, t + share), 3), tuple(g)))
        t += share
    return cues


def clauses(text: str) -> list[str]:
    """``text`` cut after each clause's punctuation (，。！？；: and their Latin forms), punctuation and the
    space after it kept, so the clauses join back into ``text``."""
    import re

    return [c for c in re.findall(r"[^，。！？；：,.!?;:…]*[，。！？；：,.!?;:…]*\s*", text) if c]


def rejoin(lines: list[str]) -> str:
    """Wrapped lines back into text: a space between two words of a spaced script, nothing between CJK."""
    out = ""
    for line in lines:
        if out and not CJK_CHAR.match(out[-1]) and not CJK_CHAR.match(line[0]):
            out += " "
        out += line
    return out


def hold(cues: list[SubtitleCue], minimum: float = MIN_CUE) -> list[SubtitleCue]:
    """Every cue up for at least ``minimum`` seconds: a short one borrows from the gap after it, and pushes the
    next cue's start (never its end) when there is no gap to borrow."""
    out: list[SubtitleCue] = []
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, out[-1].end) if out else cue.start
        end = max(cue.end, start + minimum)
        out.append(SubtitleCue(round(start, 3), round(end, 3), cue.lines, cue.italic))
    return out


def style_for(setting: str, language: str) -> str:
    """``auto``: the short-drama style for Chinese, plain otherwise."""
    if setting != "auto":
        return setting
    return "zh-drama" if language.lower().startswith(("zh", "cmn", "yue")) else "plain"


def write_subtitles(cues: list[SubtitleCue], width: int, height: int, size: float, srt_path, ass_path) -> None:
    import pysubs2

    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
                      "ScaledBorderAndShadow": "yes"})
    style = subs.styles["Default"]
    style.fontname = FONT_FAMILY
    style.fontsize = max(8, round(height * size))
    style.bold = False  # the face is already bold; libass would embolden it again
    style.primarycolor = pysubs2.Color(255, 255, 255, 0)
    style.outlinecolor = pysubs2.Color(0, 0, 0, 0)
    style.backcolor = pysubs2.Color(0, 0, 0, 128)
    style.outline = max(1.0, height / 640)
    style.shadow = max(0.5, height / 1280)
    style.alignment = pysubs2.Alignment.BOTTOM_CENTER
    style.marginv = round(height * SAFE_BOTTOM)
    style.marginl = style.marginr = round(width * SIDE_MARGIN)
    for cue in cues:
        text = "\\N".join(line.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}") for line in cue.lines)
        if cue.italic:  # inner monologue (SRT gets <i>, which players honour)
            text = "{\\i1}" + text
        subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=text))
    subs.save(str(ass_path), format_="ass")
    subs.save(str(srt_path), format_="srt")


@dataclass(frozen=True)
class SubtitleRequest:
    items: tuple[tuple[str, str, float, float], ...] = keyed("subtitle text or timing changed")  # ref, text, span
    width: int = keyed("frame size changed")
    height: int = keyed("frame size changed")
    style: SubtitleConfig = keyed("subtitle style changed")
    font: str = keyed("subtitle font changed")
    language: str = keyed("language changed", default="en")
    names: tuple[str, ...] = keyed("character names changed", default=())  # kept whole when lines break
    inner: tuple[str, ...] = added("inner monologue changed", ())  # refs of inner-monologue lines


class SubtitlesStage(Stage):
    name = "subtitles"
    version = "3"
    scope = "episode"

    unit = "episode"
    resource = "io"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        items = tuple((p.ref, ctx.beats[p.ref].spoken.text, round(p.start, 4), round(p.start + p.duration, 4))
                      for p in ctx.placements())
        names = tuple(sorted({c.name for c in ctx.sp.characters.values() if c.name}))
        inner = tuple(ref for ref, *_ in items if ctx.beats[ref].line and ctx.beats[ref].line.heard_as == "inner")
        req = SubtitleRequest(items, fmt.width, fmt.height, ctx.config.subtitles, FONT_FAMILY, ctx.sp.language, names,
                              inner)
        yield self.job(ctx, "episode", req, partial(make_subtitles, req))


def make_subtitles(req: SubtitleRequest, out) -> Made:
    cfg = req.style
    style = style_for(cfg.style, req.language)
    cues = []
    for ref, text, a, b in req.items:
        inner = ref in req.inner
        if inner and cfg.inner in ("parentheses", "both"):
            text = f"（{text}）" if req.language.startswith(("zh", "ja")) else f"({text})"
        made = layout(text, a, b, req.width, req.height, cfg.size, cfg.max_lines, req.names, style)
        cues += [dataclasses.replace(c, italic=True) for c in made] if inner and cfg.inner != "parentheses" else made
    cues = hold(cues)
    write_subtitles(cues, req.width, req.height, cfg.size, out / "episode.srt", out / "episode.ass")
    missing = sorted({ch for _, text, _, _ in req.items for ch in missing_glyphs(text)})
    notes = (f"the subtitle font has no glyph for: {''.join(missing)}",) if missing else ()
    return Made({"srt": "episode.srt", "ass": "episode.ass"}, info={"cues": len(cues)}, notes=notes)
