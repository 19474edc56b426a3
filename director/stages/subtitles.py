"""Subtitles: SRT and ASS sidecars, one cue per line and narration, inside the span of its voice.

Lines are wrapped by measured width with the font that will draw them (ASS does not wrap
CJK), at most ``max_lines`` lines per cue (longer text becomes consecutive cues), placed
in the vertical safe zone: clear of the bottom ~20% and the top ~10% of the frame.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import Artifact, Made, added, keyed
from director.media.fonts import FONT_FAMILY, ass_size, font, glyph_language, libass_scale, missing_glyphs, wrap_lines
from director.media.linebreak import CJK_CHAR, CLAUSE_END, SENTENCE_END, clauses, full_width, words, zh_drama
from director.project import SubtitleConfig
from director.stages.base import Stage

if TYPE_CHECKING:  # the engine (above this layer) hands stages their context
    from director.runtime.context import RenderContext

SAFE_BOTTOM = 0.22  # share of the frame height kept free below the subtitles
SIDE_MARGIN = 0.078  # 14 Chinese characters at the default size fit a 1080-wide line (at 0.08 they missed by 3 px)


@dataclass(frozen=True)
class SubtitleCue:
    start: float
    end: float
    lines: tuple[str, ...]
    italic: bool = False


MIN_CUE = 0.8  # seconds a cue stays up at least (a 0.37 s "What?" would flash by)
CLOSERS = "」』”’）)\"'"  # what may follow a clause's punctuation and still end it (我回来了。」)


def layout(text: str, start: float, end: float, width: int, height: int, size: float, max_lines: int,
           names: tuple[str, ...] = (), style: str = "plain") -> list[SubtitleCue]:
    """Wrap ``text`` and split it into cues of at most ``max_lines`` lines, timed by share of characters."""
    fnt = font(max(8, round(height * size)))
    measure = width * (1 - 2 * SIDE_MARGIN)

    wrapped: dict[tuple[str, float], list[str]] = {}  # the loop below asks for the same text's lines again

    def raw(piece: str, width: float = measure) -> list[str]:
        """The lines as written (their ，。 kept: the text carried from one cue to the next must keep its pauses)."""
        if (piece, width) not in wrapped:
            wrapped[piece, width] = wrap_lines(piece, fnt, width, names)
        return wrapped[piece, width]

    def styled(lines: list[str]) -> list[str]:
        return [ln for ln in (zh_drama(line) for line in lines) if ln] if style == "zh-drama" else lines

    def even(piece: str) -> list[str]:
        """A clause longer than a cue in lines of about equal length, filling whole cues (not a full cue and an
        orphaned word: 有什么区别吗 | ？)."""
        lines = raw(piece)
        need = -(-len(lines) // max_lines) * max_lines
        width = max([fnt.getlength(piece) / need] + [fnt.getlength(w.strip()) for w in words(piece, names)])
        while width < measure:
            trial = raw(piece, width)
            if len(trial) <= need:
                return trial
            width *= 1.05
        return lines

    def at_clauses(lines: list[str]) -> bool:
        """Every break between ``lines`` is after a clause's punctuation."""
        return all(line.rstrip().rstrip(CLOSERS)[-1:] in CLAUSE_END for line in lines[:-1])

    def clause_cues() -> list[list[str]] | None:
        """Two cues changing between clauses, each broken only at clauses, the most even such pair; None where
        there is none. A line that fits one cue only by breaking mid-phrase (今天你|不把话说清楚) reads better as
        two cues at its clauses (苏晴！你给我站住！ then 今天你不把话说清楚 / 哪儿也别想去！)."""
        pieces = clauses(text)
        bare = "".join(CLAUSE_END) + CLOSERS + " "
        best = None
        for k in range(1, len(pieces)):
            a, b = "".join(pieces[:k]).strip(), "".join(pieces[k:]).strip()
            wa, wb = fnt.getlength(a.rstrip(bare)), fnt.getlength(b.rstrip(bare))
            if min(wa, wb) < measure / 4:  # a cue of a word alone (老公) up for its 0.8 s: not worth the change
                continue
            la, lb = raw(a), raw(b)
            if len(la) <= max_lines and len(lb) <= max_lines and at_clauses(la) and at_clauses(lb):
                # at a sentence's end before a clause's (吗？| 苏晴 rather than 名字，| 我就), then the most even
                score = (a.rstrip(CLOSERS)[-1:] not in SENTENCE_END, max(wa, wb))
                if best is None or score < best[0]:
                    best = (score, [la, lb])
        return best[1] if best else None

    groups: list[list[str]] = []
    whole = raw(text)
    # Chinese drama subtitles change at clauses; an English line that fits one two-line cue stays one (a reader
    # takes a two-line subtitle broken mid-phrase in at a glance, and a cue change costs a re-read: "Mother always
    # said this / house would be mine," then "not yours." up for 0.75 s)
    split = clause_cues() if CJK_CHAR.search(text) and 2 <= len(whole) <= max_lines and not at_clauses(whole) \
        and end - start >= 2 * MIN_CUE else None
    if split:
        groups = [styled(g) for g in split]
    elif len(whole) <= max_lines:
        groups = [styled(whole)]
    else:  # a cue change falls between clauses (never inside 有|多难), each cue as full as its lines allow
        pending = ""
        for clause in clauses(text):
            together = len(raw(pending + clause)) if pending else 0
            lead = fnt.getlength(pending.strip()) if pending else 0.0
            # a short lead (董事长，) rides with a clause longer than a cue, shared evenly, not up alone for 0.8 s
            overflow = together > max_lines and not (lead < measure * 0.4 and len(raw(clause)) > max_lines)
            # a cue ends at a sentence's end where the next sentence would start inside a full cue
            sentence = together >= max_lines and lead >= measure * 0.5 and \
                pending.rstrip().rstrip(CLOSERS)[-1:] in SENTENCE_END
            if pending and (overflow or sentence):
                groups.append(styled(raw(pending)))
                pending = ""
            pending += clause
            lines = raw(pending)
            if len(lines) > max_lines:  # one clause longer than a cue: its lines in cue-sized groups
                lines = even(pending)
                cut = (len(lines) - 1) // max_lines * max_lines  # the last group waits: a next clause may join it
                groups += [styled(lines[i:i + max_lines]) for i in range(0, cut, max_lines)]
                pending = rejoin(lines[cut:]) + pending[len(pending.rstrip()):]  # its space before the next clause
        if pending.strip():
            groups.append(styled(raw(pending)))
    groups = [g for g in groups if g] or [[text]]
    total = sum(len("".join(g)) for g in groups) or 1
    cues, t = [], start
    for g in groups:
        share = (end - start) * len("".join(g)) / total
        cues.append(SubtitleCue(round(t, 3), round(min(end, t + share), 3), tuple(g)))
        t += share
    return cues


PAUSE_DB = -35.0  # a 10 ms frame this far under the line's loudest frame is a pause in it
MIN_PAUSE = 0.06  # seconds: shorter dips are inside words
SNAP = 0.6  # seconds a cue change moves at most to meet a pause


def pauses(voice: Artifact) -> list[float]:
    """The middles of the pauses inside a voice (seconds from its start): where a reader expects the cue to
    change. A cue timed by its share of the characters changed 0.2 s before the pause it split at, the last
    words of the first cue still being spoken."""
    import numpy as np

    from director.media.audio import read_wav

    try:
        data, rate = read_wav(voice.file("audio"))
    except (OSError, ValueError, KeyError):
        return []
    mono = data.mean(axis=1) if data.ndim > 1 else data
    step = max(1, rate // 100)
    frames = len(mono) // step
    if frames < 3:
        return []
    energy = np.sqrt(np.mean(mono[:frames * step].reshape(frames, step).astype(np.float64) ** 2, axis=1)) + 1e-9
    quiet = 20 * np.log10(energy / energy.max()) < PAUSE_DB
    out, run = [], None
    for i, q in enumerate(quiet):
        if q and run is None:
            run = i
        elif not q and run is not None:
            if run > 0 and (i - run) * step / rate >= MIN_PAUSE:  # inside the voice (not its lead or tail)
                out.append((run + i) / 2 * step / rate)
            run = None
    return out


def at_pauses(cues: list[SubtitleCue], heard: list[float], window: float = SNAP) -> list[SubtitleCue]:
    """Each change between consecutive cues of one line moved to the nearest pause within ``window``, where one
    is, keeping every cue at least ``MIN_CUE / 2`` long and in order."""
    out = list(cues)
    for k in range(1, len(out)):
        t = out[k].start
        low, high = out[k - 1].start + MIN_CUE / 2, out[k].end - MIN_CUE / 2
        near = [p for p in heard if abs(p - t) <= window and low <= p <= high]
        if near:
            p = round(min(near, key=lambda x: abs(x - t)), 3)
            out[k - 1] = replace(out[k - 1], end=p)
            out[k] = replace(out[k], start=p)
    return out


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


def on_frames(cues: list[SubtitleCue], cards: tuple[CardCue, ...], fps: float
              ) -> tuple[list[SubtitleCue], tuple[CardCue, ...]]:
    """Every cue and card from a frame's start to a frame's start (the nearest), so the SRT, the ASS and the burned
    picture agree on which frames show it (``write_subtitles`` floors each to its file's unit); a gap of one frame
    between two cues is closed (a blank frame between "Who?" and "Me." read as a flicker: a gap is none, or at
    least two frames)."""
    def frame(t: float) -> int:
        return round(t * fps)

    spans = [[frame(c.start), max(frame(c.end), frame(c.start) + 1)] for c in cues]
    for a, b in zip(spans, spans[1:]):
        if b[0] - a[1] == 1:
            a[1] = b[0]
    snapped = [replace(c, start=f / fps, end=g / fps) for c, (f, g) in zip(cues, spans)]
    return snapped, tuple(replace(c, start=frame(c.start) / fps, end=max(frame(c.end), frame(c.start) + 1) / fps)
                          for c in cards)


def _ms(t: float, unit: int = 1) -> int:
    """``t`` seconds in whole ``unit`` ms, floored (a frame's start rounded up to 0.21 s lost the frame at 0.2083 s
    from the ASS's centiseconds while the SRT's milliseconds showed it)."""
    return int(t * 1000 / unit + 1e-6) * unit


def style_for(setting: str, language: str) -> str:
    """``auto``: the short-drama style for Chinese, plain otherwise."""
    if setting != "auto":
        return setting
    return "zh-drama" if language.lower().startswith(("zh", "cmn", "yue")) else "plain"


@dataclass(frozen=True)
class CardCue:
    """On-screen text: ``kind`` title | intro | insert | caption; an intro's ``title`` is the character's name."""

    kind: str
    title: str
    text: str
    start: float
    end: float


WORD_JOINER = "\u2060"  # invisible, and no glyph: HarfBuzz (libass's shaper) draws default-ignorables as nothing


def drawable(text: str) -> str:
    """``text`` as burned: without the characters the subtitle font has no glyph for (an emoji burned as a box, or as
    whatever outline a machine's fonts happened to have); the SRT keeps them, for players that draw them."""
    missing = set(missing_glyphs(text))
    if not missing:
        return text
    return " ".join("".join(ch for ch in text if ch not in missing).split())


def _escape(text: str) -> str:
    """Words as ASS event text that libass draws as written. libass has no escape for a backslash: one before n, N
    or h is a line break or a hard space (``C:\\new`` broke the line), so a word joiner goes between; braces are
    escaped (``\\{``), so no text opens an override block (``{\\p1}`` would be a drawing)."""
    text = re.sub(r"\\(?=[nNh{}])", "\\\\" + WORD_JOINER, text)
    return text.replace("{", "\\{").replace("}", "\\}")


_OVERRIDE = re.compile(r"(?<!\\)\{[^}]*\}")


def plain_text(event_text: str) -> str:
    """What an event written by ``_escape`` says, in plain text (its lines joined by newlines): pysubs2's plaintext
    dropped escaped braces and took ``{\\p1}`` for a drawing."""
    text = _OVERRIDE.sub("", event_text).replace("\\N", "\n").replace("\\h", "\u00a0")
    return text.replace("\\{", "{").replace("\\}", "}").replace("\\" + WORD_JOINER, "\\")


def srt_time(seconds_ms: int) -> str:
    ms = max(0, int(seconds_ms))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


_TIMESTAMP = re.compile(r"\d+:\d\d:\d\d[,.]\d")


def _not_timing(line: str) -> str:
    """A line of words that no SRT reader takes for a timing line: words reading "0:00:00,000 --> 9:00:00,000" were
    dropped by ffmpeg's reader (and taken for timing by others). A word joiner breaks the arrow and the stamps."""
    line = line.replace("-->", "--" + WORD_JOINER + ">")
    return re.sub(r"(\d):(\d\d)", "\\1:" + WORD_JOINER + "\\2", line) if _TIMESTAMP.search(line) else line


def write_srt(path, cues: list[tuple[int, int, list[str], bool]]) -> None:
    """An SRT from plain text, cue by cue (start and end in ms, lines, italic): what is said, as written (from the ASS,
    braces and backslashes were read as its escapes: "Wait. {That} one" became "Wait. \\ one")."""
    blocks = []
    for number, (start, end, lines, italic) in enumerate(sorted(cues, key=lambda c: (c[0], c[1])), start=1):
        text = "\n".join(_not_timing(ln) for ln in lines if ln.strip())
        blocks.append(f"{number}\n{srt_time(start)} --> {srt_time(end)}\n" + (f"<i>{text}</i>" if italic else text))
    Path(path).write_text("".join(b + "\n\n" for b in blocks), encoding="utf-8")


def card_styles(subs, width: int, height: int, size: float) -> None:
    """A style per card kind, as short dramas lay them out: a centred title, a character intro at the left
    of the lower third (name large, role below), an insert on a paper-white box, a time/place caption at the
    top left on a dark box. All inside the title-safe area."""
    import pysubs2

    base = subs.styles["Default"]
    unit = max(8, round(height * size))

    def style(name: str, **kw) -> None:
        made = base.copy()
        for key, value in kw.items():
            setattr(made, key, value)
        subs.styles[name] = made
    style("Title", fontsize=ass_size(unit * 1.9), alignment=pysubs2.Alignment.MIDDLE_CENTER, outline=max(2.0, height / 400),
          marginl=round(width * 0.1), marginr=round(width * 0.1))
    # the intro stands clear of two lines of subtitles under it (at 0.34 of the height it sat on the first line's
    # top once the subtitles were drawn at their full size): their margin, two lines as libass spaces them, an em
    above = round(height * SAFE_BOTTOM + 2 * ass_size(unit) + unit)
    style("Intro", fontsize=ass_size(unit * 1.5), alignment=pysubs2.Alignment.BOTTOM_LEFT, marginl=round(width * 0.08),
          marginv=max(round(height * 0.34), above), primarycolor=pysubs2.Color(255, 214, 64, 0),
          outline=max(2.0, height / 480))
    style("Insert", fontsize=ass_size(unit * 1.1), alignment=pysubs2.Alignment.MIDDLE_CENTER, borderstyle=3,
          primarycolor=pysubs2.Color(30, 30, 30, 0), outlinecolor=pysubs2.Color(246, 240, 226, 0),
          backcolor=pysubs2.Color(0, 0, 0, 160), outline=max(6.0, height / 80), shadow=0,
          marginl=round(width * 0.15), marginr=round(width * 0.15))
    style("Caption", fontsize=ass_size(unit * 0.9), alignment=pysubs2.Alignment.TOP_LEFT, borderstyle=3,
          outlinecolor=pysubs2.Color(0, 0, 0, 90), outline=max(4.0, height / 160), shadow=0,
          marginl=round(width * 0.08), marginv=round(height * 0.12))


def card_event(card: CardCue, style, width: int, unit: float):
    """The card's ASS event, its text broken by measured width (ASS does not wrap CJK) and at its own newlines."""
    import pysubs2

    room = width - style.marginl - style.marginr - 2 * style.outline

    def lines(text: str, size: float) -> str:
        fnt = font(max(8, round(size)))
        return "\\N".join(_escape(ln) for piece in text.splitlines() if piece.strip()
                           for ln in wrap_lines(piece.strip(), fnt, room))
    if card.kind == "intro":
        text = lines(card.title, style.fontsize / libass_scale()) + (
            f"\\N{{\\fs{ass_size(unit)}\\c&HFFFFFF&}}" + lines(card.text, unit) if card.text.strip() else "")
    else:
        text = lines(card.text, style.fontsize / libass_scale())  # measured at the em it draws
    return pysubs2.SSAEvent(start=_ms(card.start, 10), end=_ms(card.end, 10), text=text,
                            style=card.kind.capitalize())


def write_subtitles(cues: list[SubtitleCue], width: int, height: int, size: float, srt_path, ass_path,
                    cards: tuple[CardCue, ...] = (), cards_path=None, language: str = "en") -> None:
    import pysubs2

    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(width), "PlayResY": str(height), "WrapStyle": "2",
                      "ScaledBorderAndShadow": "yes"})
    region = glyph_language(language)
    if region:  # zh-CN draws Simplified forms, ja Japanese, ko Korean (fonts.glyph_language)
        subs.info["Language"] = region
    style = subs.styles["Default"]
    style.fontname = FONT_FAMILY
    style.fontsize = ass_size(max(8, round(height * size)))  # drawn as tall as ``layout`` measured
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
        text = "\\N".join(_escape(drawable(line)) for line in cue.lines)
        if cue.italic:  # inner monologue (SRT gets <i>, which players honour)
            text = "{\\i1}" + text
        subs.append(pysubs2.SSAEvent(start=_ms(cue.start, 10), end=_ms(cue.end, 10), text=text))  # ASS: in cs
    # the SRT holds what is said: a card on screen while someone speaks made two cues at once, which platforms'
    # uploaders and editors refuse or merge (the cards have an SRT of their own, for translators)
    write_srt(srt_path, [(_ms(c.start), _ms(c.end), list(c.lines), c.italic) for c in cues])
    card_styles(subs, width, height, size)
    unit = max(8, round(height * size))
    events = [card_event(card, subs.styles[card.kind.capitalize()], width, unit) for card in cards]
    subs.events.extend(events)
    subs.sort()
    subs.save(str(ass_path), format_="ass")
    if cards_path is not None:  # the cards alone: burned in even when the subtitles are not
        only = pysubs2.SSAFile()
        only.info.update(subs.info)
        only.styles = dict(subs.styles)
        only.events = list(events)
        only.save(str(cards_path), format_="ass")
        write_srt(cards_path.with_suffix(".srt"), [(e.start, e.end, plain_text(e.text).split("\n"), False)
                                                   for e in events])  # an intro as "name\nrole", as read


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
    cards: tuple[CardCue, ...] = added("cards changed", ())
    voices: tuple[tuple[str, Artifact], ...] = added("dialogue changed", ())  # ref -> its voice: cues change at its pauses
    fps: float = added("frame rate changed", 0.0)  # cues start and end on frames (0: as timed)


class SubtitlesStage(Stage):
    name = "subtitles"
    # 4: the Language header (Simplified forms for zh-CN), cards; 5: numbers kept whole, even cues;
    # 6: the SRT without the cards (they overlapped the lines), the cards in an SRT of their own; 7: the SRT written
    # from the words (braces and backslashes were read as ASS escapes), a backslash drawn as written
    version = "12"  # 8: the ASS font sizes draw the em the lines were broken for (libass drew them 1/1.48 as tall);
    # cues of one line change at its voice's pauses; 9: Chinese lines keep particles (的, 着), 住在 and 上午九点 whole,
    # and the short-drama style's spaces are clause ends for two lines; an intro card clear of two lines of subtitles;
    # 10: cues and cards on frames, the SRT and the ASS floored to them, no one-frame gap between two cues; what the
    # font cannot draw left out of the ASS (burned); 11: a title kept with its name (Mr. | Chen), an English line
    # that fits one cue not cut at its clauses; 12: a Chinese line's half-width punctuation set full-width, a date or
    # time of several parts kept on one line, cards one at a time
    scope = "episode"

    unit = "episode"
    resource = "io"

    def jobs(self, ctx: RenderContext):
        fmt = ctx.sp.format
        items = tuple((p.ref, ctx.beats[p.ref].spoken.text, round(p.start, 4), round(p.start + p.duration, 4))
                      for p in ctx.placements())
        cards = cards_of(ctx)
        # the names kept whole where a line breaks: those its words (or its cards') hold. Every character's name was
        # keyed, so renaming one that an episode never says re-made that episode's subtitles and every segment
        said = "\n".join(text for _, text, *_ in items) + repr(cards)
        names = tuple(sorted({c.name for c in ctx.sp.characters.values() if c.name and c.name in said}))
        inner = tuple(ref for ref, *_ in items if ctx.beats[ref].line and ctx.beats[ref].line.heard_as == "inner")
        voices = tuple((ref, ctx.artifact("voice", ref)) for ref, *_ in items)
        req = SubtitleRequest(items, fmt.width, fmt.height, ctx.config.subtitles, FONT_FAMILY, ctx.sp.language, names,
                              inner, cards, voices, fmt.fps)
        yield self.job(ctx, "episode", req, partial(make_subtitles, req))


def cards_of(ctx: RenderContext) -> tuple[CardCue, ...]:
    """Every card beat, from where it sits in the timeline for its length (to the episode's end at most)."""
    end = ctx.starts()["__end__"]
    out = []
    for ref, t in ctx.cue_times():
        card = ctx.beats[ref].card
        if card is None:
            continue
        out.append(CardCue(card.kind, ctx.sp.card_name(card), card.text, round(t, 4),
                           round(min(end, t + card.seconds), 4)))
    # one card at a time: an intro card and a title card on one moment showed both, one crowding the other (the
    # Chinese studio's audit). A card on the moment of the one before comes after it; a card still up when the next
    # comes gives way to it.
    # A card within half a second of the one before is on its moment (a card at 0.04 s cut the one before to a
    # flash); one that would not fit before the episode's end stays where it is (over the other, not lost); a card
    # moved later is never compared by its new time (a caption at 2 s was pushed behind two staggered cards).
    placed: list[CardCue] = []
    moment = -1.0  # the screenplay's time of the card placed last
    for card in sorted(out, key=lambda c: c.start):  # stable: in the screenplay's order
        was = card.start
        if placed and card.start - moment < SAME_MOMENT and placed[-1].end + SAME_MOMENT < end:
            start = placed[-1].end
            card = replace(card, start=start, end=round(min(end, start + card.end - card.start), 4))
        elif placed and placed[-1].start + SAME_MOMENT <= card.start < placed[-1].end:
            placed[-1] = replace(placed[-1], end=card.start)
        placed.append(card)
        moment = was
    return tuple(placed)


SAME_MOMENT = 0.5  # seconds: cards closer than this are on one moment (shown one after the other)


def make_subtitles(req: SubtitleRequest, out) -> Made:
    cfg = req.style
    style = style_for(cfg.style, req.language)
    cues = []
    voices = dict(req.voices)
    for ref, text, a, b in req.items:
        inner = ref in req.inner
        if req.language.startswith("zh"):  # 你好,我是林晚. set as Chinese punctuation (it stayed half-width)
            text = full_width(text)
        if inner and cfg.inner in ("parentheses", "both"):
            text = f"（{text}）" if req.language.startswith(("zh", "ja")) else f"({text})"
        made = layout(text, a, b, req.width, req.height, cfg.size, cfg.max_lines, req.names, style)
        if len(made) > 1 and ref in voices:  # a cue changes where the voice pauses, not by share of characters
            made = at_pauses(made, [a + t for t in pauses(voices[ref])])
        cues += [replace(c, italic=True) for c in made] if inner and cfg.inner != "parentheses" else made
    cues, cards = on_frames(hold(cues), req.cards, req.fps) if req.fps else (hold(cues), req.cards)
    write_subtitles(cues, req.width, req.height, cfg.size, out / "episode.srt", out / "episode.ass", cards,
                    out / "cards.ass" if req.cards else None, req.language)
    texts = [text for _, text, _, _ in req.items] + [c.title + c.text for c in req.cards]
    missing = sorted({ch for text in texts for ch in missing_glyphs(text)})
    notes = (f"the subtitle font has no glyph for: {''.join(missing)} (left out of the burned subtitles; the SRT "
             "keeps them)",) if missing else ()
    files = {"srt": "episode.srt", "ass": "episode.ass",
             **({"cards": "cards.ass", "cards_srt": "cards.srt"} if req.cards else {})}
    return Made(files, info={"cues": len(cues), "cards": len(req.cards)}, notes=notes)
