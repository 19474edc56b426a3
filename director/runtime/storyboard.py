"""The storyboard contact sheet: a PNG grid and an HTML page of every shot's panel and lines."""
from __future__ import annotations

import html
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from director.media.fonts import drawing_language, font, wrap_text
from director.media.png import write_png
from director.shots import talking_speakers
from director.store.cache import fingerprint
from director.store.files import atomic_write_text, read_own, temp_beside

COLUMNS = 4
DELIVERY_TAGS = {"vo": " (V.O.)", "os": " (O.S.)", "inner": " (inner)", "phone": " (phone)", "radio": " (radio)"}
# a Chinese screenplay's storyboard in its crew's words (it said Narrator:, (inner), talking: ... (lip sync))
DELIVERY_TAGS_ZH = {"vo": "（画外音）", "os": "（画外）", "inner": "（内心）", "phone": "（电话）", "radio": "（对讲机）"}
THUMB_W = 240
BACKGROUND = (24, 24, 28)
PANEL_W = 360  # the storyboard's panels and reference thumbnails (the preview's panels bring theirs this wide)


def _aside(parenthetical: str | None, zh: bool = False) -> str:
    """' (whispering)': a parenthetical in brackets once, written with them (as scripts and the importers write it,
    "(quietly)", "（压低声音）") or without; in Chinese with no space, in full-width brackets."""
    text = (parenthetical or "").strip()
    if not text:
        return ""
    if zh:
        return text if text[0] in "(（" and text[-1] in ")）" else f"（{text}）"
    return f" {text}" if text[0] in "(（" and text[-1] in ")）" else f" ({text})"


def _shot_rows(ctx) -> list[dict]:
    rows = []
    zh = ctx.sp.chinese
    tags, colon, narrator = (DELIVERY_TAGS_ZH, "：", "旁白") if zh else (DELIVERY_TAGS, ": ", "Narrator")
    for shot in ctx.shots:
        entry = ctx.results.get("keyframes", {}).get(shot.id)
        timing = ctx.results.get("timing", {}).get(shot.id)
        seconds = json.loads(timing.role("timing").read_text())["duration"] if timing else shot.duration
        lines = []
        for ref in shot.beats:
            beat = ctx.beats[ref]
            if beat.line:
                tag = tags.get(beat.line.heard_as, "")
                aside = _aside(beat.line.parenthetical, zh)
                lines.append(f"{ctx.sp.characters[beat.line.who].name or beat.line.who}{tag}{aside}{colon}"
                             f"{beat.line.text}")
            elif beat.narration:
                lines.append(f"{narrator}{colon}{beat.narration.text}")
            elif beat.action:
                lines.append(beat.action)
            else:
                lines.append(f"【{ctx.sp.cue_words(beat)}】" if zh else f"[{ctx.sp.cue_words(beat)}]")
        clip = ctx.results.get("clips", {}).get(shot.id)
        sync = (clip.meta.get("report", {}).get("sync") or {}) if clip is not None else {}
        talks = talking_speakers(ctx.sp, shot)
        rows.append({"shot": shot, "entry": entry, "seconds": seconds, "lines": lines,
                     "talking": ", ".join(f"{who} {sync[who]['correlation']:.2f}" if who in sync else who
                                          for who in talks)})
    return rows


def cell_text(lines: list[str]) -> str:
    """What a sheet's cell says under its panel: every line, narration and action of the shot, in order (the first
    alone hid a V.O. and a narration after it), cut with an ellipsis where it outruns the cell; a shot of cues
    alone, its first cue."""
    return " / ".join(t for t in lines if not t.startswith(("[", "【"))) or (lines[0] if lines else "")


STORYBOARD_VERSION = 4  # raise when the sheet or page is drawn differently (3: a Chinese one in Chinese; 4: a
# cell says every line of its shot)


def storyboard_signature(ctx) -> str:
    """Everything the sheet and page are drawn from: the shots, the screenplay, and the keyframes, timings,
    clips and reference sheets they show (by key). Equal signatures draw equal storyboards."""
    from director.shots import screenplay_digest

    keys = {stage: {i: e.key for i, e in ctx.results.get(stage, {}).items()}
            for stage in ("keyframes", "timing", "clips", "refs")}
    return fingerprint({"version": STORYBOARD_VERSION, "screenplay": screenplay_digest(ctx.sp),
                        "shots": [s.model_dump(mode="json") for s in ctx.shots], "keys": keys})


def write_storyboard(ctx, out: Path) -> dict[str, str]:
    rows = _shot_rows(ctx)
    zh = ctx.sp.chinese
    talking_words = ("说话：", "（口型同步）") if zh else ("talking: ", " (lip sync)")
    fmt = ctx.sp.format
    thumb_h = round(THUMB_W * fmt.height / fmt.width)
    text_h = 80
    cols = min(COLUMNS, len(rows)) or 1
    nrows = (len(rows) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (THUMB_W + 16) + 16, nrows * (thumb_h + text_h + 16) + 16), BACKGROUND)
    small = font(13)
    panels = out / "panels"
    panels.mkdir(parents=True, exist_ok=True)
    index_path = panels / "index.json"
    try:
        index = json.loads(read_own(index_path))
    except (OSError, ValueError):
        index = {}
    cards = []
    forms = drawing_language(ctx.sp.language)  # zh-CN captions in Simplified forms, as the subtitles
    size = (PANEL_W, round(PANEL_W * fmt.height / fmt.width))

    def thumb(row) -> Image.Image | None:
        """The shot's panel at the sheet's size (its page's JPEG written again only when its keyframe changed): from
        the backend's own thumbnail when it made one (the preview's panels do), else the keyframe reduced by a
        whole factor first, then resampled (3 ms where Lanczos from full size took 25) -- never from the JPEG, so
        that a cell drawn again after an edit is the cell a fresh storyboard draws."""
        if row["entry"] is None:
            return None
        shot = row["shot"]
        panel = ctx.project.inside(panels / f"{shot.id}.jpg", "a storyboard panel")
        entry = row["entry"]
        own = "thumb" in (entry.meta.get("files") or {})
        with Image.open(entry.role("thumb" if own else "image")) as img:
            small_img = img.convert("RGB")
        if small_img.size != size:
            small_img = small_img.resize(size, Image.LANCZOS, reducing_gap=1.0)
        if index.get(shot.id) != entry.key or not panel.exists():
            small_img.save(panel, quality=85)
        return small_img.resize((THUMB_W, thumb_h), Image.LANCZOS)

    cell_size = (THUMB_W, thumb_h + text_h)

    def shown(row) -> tuple[str, str, str, str]:
        """A cell's caption, people and line (the line or action, not a cue marker; wrapped to the panel's width
        by measure, any language; Chinese by character: small print, not worth loading jieba's dictionary, ~0.7 s
        and ~70 MB, into the render), and its signature: everything the cell shows."""
        shot, entry = row["shot"], row["entry"]
        scores = entry.meta.get("report", {}).get("scores", {}) if entry is not None else {}
        people = ", ".join(f"{c} {scores[c]:.2f}" if c in scores else c for c in shot.characters) or "-"
        said = cell_text(row["lines"])
        caption = f"{shot.id}  {row['seconds']:.1f}s  {shot.size}/{shot.move}" + (
            ("  说话" if zh else "  talks") if row["talking"] else "")
        signature = fingerprint({"v": STORYBOARD_VERSION, "panel": entry.key if entry is not None else None,
                                 "size": cell_size, "caption": caption, "people": people, "said": said,
                                 "language": forms})
        return caption, people, said, signature

    def cell_path(row) -> Path:
        return ctx.project.inside(panels / f".cell-{row['shot'].id}.png", "a storyboard cell")

    def kept(row, signature: str) -> Image.Image | None:
        """The cell as the last storyboard drew it, where nothing it shows changed since (``index``)."""
        path = cell_path(row)
        page_panel = panels / f"{row['shot'].id}.jpg"
        if index.get(f"cell:{row['shot'].id}") != signature or not path.exists() or \
                (row["entry"] is not None and not page_panel.exists()):  # the page's panel is made with the cell
            return None
        try:
            with Image.open(path) as img:
                return img.convert("RGB") if img.size == cell_size else None
        except OSError:  # damaged: drawn again
            return None

    # each shot's place on the sheet (its panel and three lines) is drawn again only when something it shows
    # changed: after an edit, one or two of them. Pillow decodes and resamples without the GIL, so the panels
    # and the kept cells are read on all cores; text is drawn here, on one thread (one FreeType face).
    looks = [shown(row) for row in rows]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        cells = list(pool.map(kept, rows, [look[3] for look in looks]))
        thumbs = list(pool.map(lambda row, done: None if done is not None else thumb(row), rows, cells))
    for i, (row, (caption, people, said, signature)) in enumerate(zip(rows, looks)):
        shot = row["shot"]
        drawn = cells[i]
        if drawn is None:
            drawn = Image.new("RGB", cell_size, BACKGROUND)
            if thumbs[i] is not None:
                drawn.paste(thumbs[i], (0, 0))
            draw = ImageDraw.Draw(drawn)
            draw.text((0, thumb_h + 4), caption, font=small, fill=(255, 220, 120))
            draw.text((0, thumb_h + 22), wrap_text(people, small, THUMB_W, 1, segment=False)[0], font=small,
                      fill=(220, 220, 220), **forms)
            for k, text in enumerate(wrap_text(said, small, THUMB_W, 2, segment=False) if said else []):
                draw.text((0, thumb_h + 40 + k * 16), text, font=small, fill=(180, 180, 180), **forms)
            write_png(cell_path(row), drawn)
            index[f"cell:{shot.id}"] = signature
        if row["entry"] is not None:
            index[shot.id] = row["entry"].key
        sheet.paste(drawn, (16 + (i % cols) * (THUMB_W + 16), 16 + (i // cols) * (thumb_h + text_h + 16)))
        cards.append(
            f'<figure><img src="panels/{html.escape(shot.id)}.jpg" alt="{html.escape(shot.id)}">'
            f"<figcaption><b>{html.escape(shot.id)}</b> · {row['seconds']:.2f}s · {shot.size} {shot.angle} "
            f"{shot.move} · {html.escape(people)}"
            + (f"<p class=talk>{talking_words[0]}{html.escape(row['talking'])}{talking_words[1]}</p>"
               if row["talking"] else "")
            + _review_line(row["entry"])
            + "".join(f"<p>{html.escape(line)}</p>" for line in row["lines"]) + "</figcaption></figure>")
    refs = _reference_cards(ctx, panels, index)
    atomic_write_text(index_path, json.dumps(index, indent=1, sort_keys=True))
    tmp = temp_beside(out / "storyboard.png", ".tmp.png")
    try:
        write_png(tmp, sheet)  # media/png: 0.02 s for the demo's sheet, where Pillow's filter search took 0.16
        tmp.replace(out / "storyboard.png")
    finally:
        tmp.unlink(missing_ok=True)  # a disk filled mid-write leaves no half sheet behind
    page = (f"<!doctype html><html lang='{html.escape(ctx.sp.language, quote=True)}'><meta charset='utf-8'>"
            f"<title>{html.escape(ctx.sp.title)} — {'分镜' if zh else 'storyboard'}</title>"
            "<style>body{font-family:sans-serif;background:#18181c;color:#eee}main{display:flex;flex-wrap:wrap;gap:16px}"
            "figure{width:260px;margin:0}img{width:100%}p{margin:4px 0;font-size:13px;color:#ccc}"
            ".talk{color:#ffd27a}.review{color:#9fd8ff}</style>"
            f"<h1>{html.escape(ctx.sp.title)}</h1><main>{''.join(cards)}</main>"
            + (f"<h2>{'参考图' if zh else 'Reference sheets'}</h2><main>{''.join(refs)}</main>" if refs else ""))
    atomic_write_text(out / "storyboard.html", page)
    return {"storyboard": str(out / "storyboard.png"), "storyboard_html": str(out / "storyboard.html")}


def _review_line(entry) -> str:
    """What the continuity reviewer said of the keyframe (``llm.review_keyframes``), if it looked at it."""
    review = (entry.meta.get("report") or {}).get("review") if entry is not None else None
    if not review:
        return ""
    made = f", made again {review['regenerated']}x" if review.get("regenerated") else ""
    if review.get("matches"):
        return f"<p class=review>review: matches{made}</p>"
    problems = "; ".join(review.get("problems") or []) or "does not match"
    return f"<p class=review>review: {html.escape(problems)}{made}</p>"


def _reference_cards(ctx, panels: Path, index: dict) -> list[str]:
    """Generated reference sheets, so the user can judge (and lock) them before spending GPU time (thumbnails
    drawn again only when their sheet changed: ``index`` maps each to the key it was drawn from)."""
    cards = []
    for ident, entry in sorted(ctx.results.get("refs", {}).items()):
        kind, _, name = ident.partition(":")
        thumb = ctx.project.inside(panels / f"ref-{kind}-{name}.jpg", "a reference thumbnail")
        if index.get(f"ref:{ident}") != entry.key or not thumb.exists():
            with Image.open(entry.role("image")) as img:
                img = img.convert("RGB")
            img.thumbnail((PANEL_W, PANEL_W), reducing_gap=1.0)
            img.save(thumb, quality=85)
            index[f"ref:{ident}"] = entry.key
        cards.append(f'<figure><img src="panels/{html.escape(thumb.name)}" alt="{html.escape(ident)}"><figcaption>'
                     f"<b>{html.escape(ident)}</b> · generated; keep it with "
                     f"<code>director refs lock {html.escape(name)}</code></figcaption></figure>")
    return cards
