"""director studio: a local web app over one project (FastAPI, server-rendered pages, a little plain JS).

Every action calls the library the CLI calls (``runtime.edits``: shot set, regenerate, takes, lines;
``runtime.render.explain`` for what must re-run and why; a render is the CLI in a child process).

Safety: it binds 127.0.0.1 by default. Bound anywhere else it needs the token printed at start on
every request (``?token=`` once sets a cookie; or ``Authorization: Bearer``). Every state-changing
request carries the page's CSRF token in ``X-CSRF-Token``. Media are served only from inside the
project and only as media (images, video, audio, subtitles). No secret is ever sent to a page.
"""
from __future__ import annotations

import errno
import os
import html
import json
import re
import secrets
import socket
import threading
from pathlib import Path

from fastapi import Request  # at module level: route signatures are resolved from this module's names

from director.errors import DirectorError, EditConflict, ScreenplayError, UsageError
from director.project import Project
from director.stages.refs import SHEETS
from director.studio.words import LANGUAGES, escaped, option_label, script_words, tr, tr_reason, ui_language
from director.studio.worker import RenderWorker, lock_holder

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".mp4": "video/mp4",
               ".wav": "audio/wav", ".m4a": "audio/mp4", ".vtt": "text/vtt", ".srt": "text/plain"}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 1024 * 1024  # a request body (a shot's fields, a line's text) is a few hundred bytes
_HOST = re.compile(r"(?i)(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?")


def host_of(value: str | None) -> str:
    """The host name in a Host header (or an Origin's host and port), lower case without brackets; "" when the
    value is anything else (``localhost:80@evil`` is no host)."""
    match = _HOST.fullmatch((value or "").strip())
    return match[1].strip("[]").lower() if match else ""


# ---------------------------------------------------------------------------------------------- data
def _media_url(project: Project, path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return "/media/" + Path(path).resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return None


def board(project: Project, episode: str | None, worker: RenderWorker | None = None) -> dict:
    """The episode board: every shot with its picture, clip, plan, lines, checks, takes and state."""
    from director.runtime.edits import all_takes
    from director.runtime.render import explain
    from director.shots import talking_speakers

    from director.plan import planned_from, previous_shots

    ctx, result, notes = explain(project, episode)
    sp = ctx.sp
    previous = previous_shots(project, ctx.loaded)
    plan = "none" if previous is None else ("current" if planned_from(previous, sp) else "stale")
    pending: dict[str, list[str]] = {}  # shot -> why it must run again (its own changes, as status says them)
    waiting: dict[str, list[str]] = {}  # shot -> what it waits on (only when nothing of its own changed)
    for r in result.records:
        if r.shot and r.status == "runs":
            pending.setdefault(r.shot, []).append(r.reason)
        elif r.shot and r.status == "waits":
            waiting.setdefault(r.shot, []).append(r.reason)
    takes_of = all_takes(project, ctx.loaded.episode, ctx.shots)
    running = set(worker.running.values()) if worker is not None and worker.episode == ctx.loaded.episode else set()
    failed = worker.failed if worker is not None and worker.episode == ctx.loaded.episode else {}
    starts = _starts(ctx)
    sound, placed = _sound(project, ctx)
    from director.runtime.engine import StateIndex
    last = StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json")).jobs  # the last render's keys

    def last_made(stage: str, shot_id: str):
        """The shot's artifact from the last render, where an edit since means the current one is not made yet:
        the card showed a black "not rendered" box, and the director lost sight of what they were changing."""
        item = last.get(f"{stage}:{shot_id}")
        key = item.get("key") if isinstance(item, dict) else None
        return ctx.cache.lookup(stage, key) if isinstance(key, str) and len(key) == 64 else None

    cards = []
    for i, shot in enumerate(ctx.shots):
        key = ctx.results.get("keyframes", {}).get(shot.id)
        clip = ctx.results.get("clips", {}).get(shot.id)
        # what the card plays: the clip's own file, or (a clip given as a graph: the animatic) the shot's segment
        video = clip.role("clip") if clip is not None and "clip" in clip.meta.get("files", {}) else None
        segment = ctx.results.get("segments", {}).get(shot.id)
        if video is None and clip is not None and segment is not None:
            video = segment.role("video")
        image = key.role("image") if key is not None else None
        earlier = False  # the last render's picture or clip, shown dimmed until the shot is made again
        if image is None and (old := last_made("keyframes", shot.id)) is not None and old.has("image"):
            image, earlier = old.role("image"), True
        if video is None and (old := last_made("segments", shot.id)) is not None and old.has("video"):
            video, earlier = old.role("video"), True
        # the card's clip plays the episode's mix from where its first frame is in the episode: only while both
        # are this render's (a shot changed since has no mix to match yet)
        heard = None
        if sound is not None and video is not None and not earlier and shot.id in placed:
            heard = {"src": sound, "at": placed[shot.id][0 if segment is not None and video == segment.role("video")
                                                           else 1]}
        lines = []
        for ref in shot.beats:
            beat = ctx.beats[ref]
            if beat.line:
                who = sp.characters[beat.line.who].name or beat.line.who
                lines.append({"ref": ref, "kind": "line", "who": who, "text": beat.line.text,
                              "emotion": beat.line.emotion or ""})
            elif beat.narration:
                lines.append({"ref": ref, "kind": "narration", "who": "Narrator", "text": beat.narration.text})
            elif beat.action:
                lines.append({"ref": ref, "kind": "action", "text": beat.action})
            else:
                lines.append({"ref": ref, "kind": "cue", "text": sp.cue_words(beat)})
        if shot.id in running:
            state, why = "running", ""
        elif shot.id in failed or any(ref in failed for ref in shot.beats):
            state, why = "failed", failed.get(shot.id) or next(failed[r] for r in shot.beats if r in failed)
        elif shot.id in pending:
            state, why = "stale", ", ".join(dict.fromkeys(pending[shot.id]))
        elif shot.id in waiting:  # nothing of its own changed: it re-runs only if what it waits on comes out
            # different (a line edited in one shot turned every later card orange, "must re-run")
            state, why = "waits", ", ".join(dict.fromkeys(waiting[shot.id]))
        else:
            state, why = "cached", ""
        report = key.meta.get("report", {}) if key is not None else {}
        sync = (clip.meta.get("report", {}).get("sync") or {}) if clip is not None else {}
        cards.append({
            "index": i + 1, "id": shot.id, "scene": shot.scene, "size": shot.size, "angle": shot.angle,
            "move": shot.move, "duration": shot.duration, "seconds": round(starts.get(shot.id, (0, 0))[1], 2),
            "start": round(starts.get(shot.id, (0, 0))[0], 3), "characters": list(shot.characters),
            "prompt": shot.prompt, "transition": shot.transition, "seed": shot.seed, "locked": shot.locked,
            "talking": list(talking_speakers(sp, shot)), "sync": sync, "scores": report.get("scores", {}),
            "image": _media_url(project, image), "earlier": earlier,
            "clip": _media_url(project, video) if video is not None else None, "sound": heard,
            "lines": lines, "takes": [_take(project, ctx, take, None if earlier else image) for take in takes_of.get(shot.id, [])],
            "state": state, "why": why})
    out = project.out_dir(ctx.loaded.episode)
    episode_mp4 = out / "episode.mp4"
    refs = []
    for ident, entry in sorted(ctx.results.get("refs", {}).items()):
        kind, _, name = ident.partition(":")
        refs.append({"id": name, "kind": kind, "image": _media_url(project, entry.role("image")),
                     "locked": (project.root / SHEETS / f"{kind}-{name}.png").exists()})
    listed = {r["id"] for r in refs}
    for sheet in sorted((project.root / SHEETS).glob("*.png")):  # locked sheets are references now
        kind, _, name = sheet.stem.partition("-")
        if name and name not in listed:
            refs.append({"id": name, "kind": kind, "image": _media_url(project, sheet), "locked": True})
            listed.add(name)
    for kind, cast in (("character", sp.characters), ("location", sp.locations)):  # the screenplay's own pictures
        for name, item in cast.items():
            if item is not None and item.refs and name not in listed:
                refs.append({"id": name, "kind": kind, "image": _media_url(project, ctx.loaded.resolve(item.refs[0])),
                             "locked": True, "own": True})
    return {"episode": ctx.loaded.episode, "title": sp.title, "episodes": [p.stem for p in project.episode_paths()],
            "shots": cards, "notes": notes, "plan": plan, "refs": refs,
            "video": _media_url(project, episode_mp4) if episode_mp4.exists() else None,
            "characters": sorted(sp.characters), "vocab": _vocab(), "burned": project.config.subtitles.burn,
            "language": sp.language}


def _starts(ctx) -> dict[str, tuple[float, float]]:
    """Shot -> (start, seconds) in the episode, where timing exists (else the planned durations)."""
    out, t = {}, 0.0
    for shot in ctx.shots:
        timing = ctx.results.get("timing", {}).get(shot.id)
        seconds = json.loads(timing.role("timing").read_text())["duration"] if timing else shot.duration
        out[shot.id] = (t, seconds)
        t += seconds
    return out


def _take(project: Project, ctx, take: dict, current) -> dict:
    """A take as the card shows it: its number, seed, and its keyframe where it is still cached (the current take's
    is the card's own picture): a take was a bare number, and a director picking between three had to try each."""
    picture = current if take["current"] else next(
        (entry.role("image") for key in take["keys"] if len(key) == 64
         and (entry := ctx.cache.lookup("keyframes", key)) is not None and entry.has("image")), None)
    return {"take": take["take"], "seed": take["seed"], "current": take["current"],
            "image": _media_url(project, picture) if picture is not None else None}


def _sound(project: Project, ctx) -> tuple[str | None, dict[str, tuple[float, float]]]:
    """The episode's current mix (its AAC, else its WAV) as a media URL, and per shot the episode seconds of (its
    segment's first frame, its clip's first frame): None and {} while the mix is not made for what is on the board."""
    from director.stages.segments import spans

    mix = ctx.results.get("mix", {}).get("episode")
    if mix is None or not (mix.has("aac") or mix.has("audio")):
        return None, {}
    url = _media_url(project, mix.role("aac") if mix.has("aac") else mix.role("audio"))
    fps, starts = ctx.sp.format.fps, ctx.starts()
    own = {ctx.shots[span.shot].id: span.at / fps  # a dissolve into a shot: its own segment starts half of it in
           for span in spans([ctx.frames(s) for s in ctx.shots], [s.transition for s in ctx.shots], fps) or ()
           if not span.dissolve}
    return url, {shot.id: (own.get(shot.id, starts[shot.id]), starts[shot.id]) for shot in ctx.shots}


def _vocab() -> dict:
    from director.vocab import ANGLES, EMOTIONS, MOVES, SIZES, TRANSITIONS

    return {"size": list(SIZES), "angle": list(ANGLES), "move": list(MOVES), "transition": list(TRANSITIONS),
            "emotion": list(EMOTIONS)}


def _planned_seconds(project: Project, episode: str, shot_id: str) -> float | None:
    """A shot's duration in the saved shot list (a lock sets it to the shot's length in the episode: said so)."""
    from director.shots import load_shot_list

    loaded = project.load_episode(episode)
    path = project.shots_path(loaded.episode)
    if not path.exists():
        return None
    return next((s.duration for s in load_shot_list(path, loaded.screenplay).shots if s.id == shot_id), None)


SRT_TIMING = re.compile(r"^\d+:\d\d:\d\d[,.]\d+ --> \d+:\d\d:\d\d[,.]\d+")


def vtt(srt_text: str) -> str:
    """SRT -> WebVTT (what a <track> plays)."""
    body = srt_text.replace("\r\n", "\n").strip()
    lines, previous = [], ""
    for line in body.split("\n"):
        if SRT_TIMING.match(line) and previous.strip().isdigit():  # the timing line only (after a cue's number: a
            # cue's text that looks like one is text), and a cue's text may hold commas, "-->", "<" and "&",
            lines.append(line.replace(",", "."))  # which WebVTT reads as timing and markup
        else:
            lines.append(line.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "->"))
        previous = line
    return "WEBVTT\n\n" + "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- pages
def _page(title: str, body: str, csrf: str, extra_head: str = "", lang: str = "en", ui: str = "en") -> str:
    words = script_words(ui)
    if words:  # what the page's script says, in the studio's language
        extra_head += f"<script id=ui-words type=application/json>{words}</script>"
    return (f"<!doctype html><html lang='{html.escape(lang)}'><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><meta name=csrf content='{csrf}'>"
            f"<link rel=stylesheet href='/static/studio.css'><link rel=icon href='/static/icon.svg'>{extra_head}</head><body>{body}"
            f"<script src='/static/studio.js'></script></body></html>")


def _nav(data: dict, here: str) -> str:
    ui = data.get("ui", "en")
    t = escaped(ui)
    eps = "".join(f"<option{' selected' if e == data['episode'] else ''}>{html.escape(e)}</option>"
                  for e in data["episodes"])
    other = "en" if ui == "zh" else "zh"  # the switch names the other language in its own words
    return (f"<header class=bar><a class=brand href='/'>director <b>studio</b></a>"
            f"<select id=episode title='{t('episode')}' aria-label='{t('episode')}' autocomplete=off>{eps}</select><span class=title>{html.escape(data['title'])}</span>"
            f"<nav><a class='{'on' if here == 'board' else ''}' href='/e/{html.escape(data['episode'])}'>{t('Board')}</a>"
            f"<a class='{'on' if here == 'player' else ''}' href='/e/{html.escape(data['episode'])}/player'>{t('Player')}</a>"
            f"<a class='{'on' if here == 'refs' else ''}' href='/e/{html.escape(data['episode'])}/refs'>{t('References')}</a>"
            "</nav><span class=grow></span>"
            f"<a class=ui-switch href='?ui={other}' lang={other}>{'English' if other == 'en' else '中文'}</a>"
            f"<button id=render-all class=primary>{t('Render episode')}</button>"
            + (f"<button id=render-selected>{t('Render selected')}</button>" if here == "board" else "")  # the boxes
            + f"<button id=cancel>{t('Cancel')}</button>"
            "<span id=progress class=progress></span></header><div id=log class=log></div>")


def _select(name: str, options: list[str], value: str, ui: str = "en") -> str:
    label = escaped(ui)(name)
    return (f"<select data-field={name} aria-label='{label}' title='{label}'>" + "".join(
        f"<option value='{html.escape(o, quote=True)}'{' selected' if o == value else ''}>"
        f"{html.escape(option_label(ui, name, o))}</option>" for o in options) + "</select>")


def card_html(card: dict, vocab: dict, ui: str = "en") -> str:
    esc, t = html.escape, escaped(ui)
    badge = {"cached": f"<span class='state ok'>{t('cached')}</span>",
             "running": f"<span class='state run'>{t('running…')}</span>",
             "stale": f"<span class='state stale'>{t('must re-run: ')}{esc(tr_reason(ui, card['why']))}</span>",
             "waits": f"<span class='state wait' title='{esc(tr_reason(ui, card['why']))}'>"
                      f"{t('cached; may re-run after an edit before it')}</span>",
             "failed": f"<span class='state bad'>{t('failed: ')}{esc(card['why'])}</span>"}[card["state"]]
    picture = (f"<img src='{esc(card['image'])}' alt='{esc(card['id'])}' loading=lazy>" if card["image"]
               else f"<div class=noimg>{t('not rendered')}</div>")
    if card.get("earlier"):  # the last render's picture, until the edited shot is made again
        picture += (f"<span class=earlier-tag title='{t('the picture of the last render: this shot changed since')}'>"
                    f"{t('last render')}</span>")
    sound = card.get("sound")
    heard = (f" data-sound='{esc(sound['src'])}' data-at='{sound['at']:.3f}'" if sound else "")
    hint = f" title='{t('hover: the picture; click: with its sound')}'" if sound else ""
    video = (f"<video muted loop playsinline preload=none src='{esc(card['clip'])}'{heard}></video>"
             if card["clip"] else "")
    lines = "".join(
        (f"<li class=line data-ref='{esc(l['ref'])}'><b>{esc(l['who'])}</b> "
         f"<span class=text contenteditable=true spellcheck=false>{esc(l['text'])}</span> "
         f"<input class=emotion list=emotions aria-label='{t('emotion')}' value='{esc(l['emotion'])}' placeholder='{t('emotion')}' "
         f"size=8></li>")
        if l["kind"] == "line" else
        f"<li class={l['kind']}>{'<b>' + t(l['who']) + '</b> ' if l.get('who') else ''}{esc(l['text'])}</li>"
        for l in card["lines"])
    checks = " ".join(f"<span class=score title='{t('consistency with the reference')}'>{esc(c)} {s:.2f}</span>"
                      for c, s in card["scores"].items())
    checks += " ".join(f"<span class='score talk' title='{t('talking shot: lip sync score')}'>{t('talks')} · "
                       f"{esc(w)} {t('sync')} {s['correlation']:.2f}</span>" for w, s in card["sync"].items())
    if card["talking"] and not card["sync"]:
        checks += " ".join(f"<span class='score talk'>{t('talks')} · {esc(w)}</span>" for w in card["talking"])
    takes = "".join(f"<button class='take{' current' if k['current'] else ''}' data-take={k['take']} "
                    f"title='{t('seed')} {k['seed']}'>"
                    + (f"<img src='{esc(k['image'])}' alt='' loading=lazy>" if k.get("image") else "")
                    + f"{t('take {n}', n=k['take'])}</button>" for k in card["takes"])
    return (f"<article class='card {card['state']}{' locked' if card['locked'] else ''}' id='shot-{esc(card['id'])}' "
            f"data-shot='{esc(card['id'])}' data-start='{card['start']}'>"
            f"<div class='media{' earlier' if card.get('earlier') else ''}'{' tabindex=0 role=button' if card['clip'] else ''} aria-label='{t('play shot')} "
            f"{esc(card['id'])}{' ' + t('with its sound') if sound else ''}'{hint}>{picture}{video}<span class=num>{card['index']}</span>"
            f"<span class=dur title='{t('its length in the episode, as timed from the lines')}'>{card['seconds']:.1f}{t('s')}</span></div>"
            f"<div class=body><div class=head><label class=pick><input type=checkbox class=sel> "
            f"<b>{esc(card['id'])}</b></label>"
            f"<button class=lock title='{t('a locked shot is kept when the episode is re-planned')}'>"
            f"{t('Locked') if card['locked'] else t('Lock')}</button></div>"
            f"<div class=plan>{_select('size', vocab['size'], card['size'], ui)}"
            f"{_select('angle', vocab['angle'], card['angle'], ui)}{_select('move', vocab['move'], card['move'], ui)}"
            f"<label class=planned title='{t(PLANNED_HINT)}'>{t('plan')} "
            f"<input data-field=duration type=number step=0.1 min=0.5 max=60 value='{card['duration']:g}'>{t('s')}</label>"
            f"{_select('transition', vocab['transition'], card['transition'], ui)}</div>"
            f"<label class=who>{t('in frame')} <input data-field=characters value='{esc(','.join(card['characters']))}' "
            f"title='{t('characters in frame, comma-separated')}'></label>"
            f"<details><summary>{t('prompt')}</summary><textarea data-field=prompt rows=4>{esc(card['prompt'])}</textarea>"
            f"<button class=save-prompt>{t('save prompt')}</button></details>"
            f"<ul class=lines>{lines}</ul><div class=checks>{checks}</div>{badge}<div class=errors></div>"
            f"<div class=takes>{takes}<input class=seed type=number min=0 step=1 placeholder='{t('seed')}' autocomplete=off "
            f"title='{t(REGEN_HINT)}'>"
            f"<button class=regen>{t('↻ regenerate')}</button></div></div></article>")


PLANNED_HINT = ("planned seconds: a shot without lines keeps them; a shot with lines is timed from its voices (locked, "
                "it holds at least this long)")
REGEN_HINT = "regenerate with this seed (a number from another shot or a note); empty: a new random one"
OWN_PICTURE = "the screenplay's picture"


def board_html(data: dict, csrf: str) -> str:
    ui = data.get("ui", "en")
    cards = "".join(card_html(c, data["vocab"], ui) for c in data["shots"])
    # the emotions the voices know, offered as a line's emotion is typed (a warning came only after a wrong one)
    emotions = "".join(f"<option value='{html.escape(e)}'>" for e in data["vocab"].get("emotion", ()))
    return _page(f"{data['title']} — {tr(ui, 'board')}", _nav(data, "board") + f"<main class=board data-episode="
                 f"'{html.escape(data['episode'])}'>{notes_html(data)}<section id=cards class=cards>{cards}</section>"
                 f"<datalist id=emotions>{emotions}</datalist></main>", csrf, lang=data.get("language", "en"), ui=ui)


def notes_html(data: dict) -> str:
    """The board's notes (re-planned, locked shots...), in a box the cards' refresh replaces: they stayed as the page
    opened ("will be re-planned" after the render had planned it)."""
    t = escaped(data.get("ui", "en"))
    plan = "" if data.get("plan", "current") == "current" else (
        f"<p class='note plan'><button id=plan-episode title='{t('runs director plan: writes the shot list, keeping locked shots')}'>"
        f"{t('Plan the shots now')}</button> " + (
            t("the cards show the plan a render would make; planning saves it so its shots can be edited here")
            if data["plan"] == "none" else t("the screenplay changed since the shots were planned")) + "</p>")
    return "<div id=notes>" + plan + "".join(f"<p class=note>{html.escape(n)}</p>" for n in data["notes"]) + "</div>"


def player_html(data: dict, csrf: str) -> str:
    esc, ui = html.escape, data.get("ui", "en")
    total = sum(c["seconds"] for c in data["shots"]) or 1
    strip = "".join(f"<button class=seg style='flex:{c['seconds']:.3f}' data-start='{c['start']}' "
                    f"title='{esc(c['id'])}'>" + (f"<img src='{esc(c['image'])}' alt=''>" if c["image"] else "")
                    + f"<span>{c['index']}</span></button>" for c in data["shots"])
    if data["video"]:
        shown = "" if data.get("burned") else " default"  # burned into the picture: the track only on request
        video = (f"<video id=episode-video controls preload=auto src='{esc(data['video'])}'>"
                 f"<track kind=subtitles{shown} srclang=und label='{esc(tr(ui, 'subtitles'))}' "
                 f"src='/e/{esc(data['episode'])}/subtitles.vtt'></video>")
    else:
        video = f"<p class=note>{esc(tr(ui, 'The episode is not rendered yet: press Render episode.'))}</p>"
    return _page(f"{data['title']} — {tr(ui, 'player')}", _nav(data, "player") + f"<main class=player data-episode="
                 f"'{esc(data['episode'])}' data-total='{total:.3f}'>{video}<div class=strip>{strip}</div></main>", csrf,
                 lang=data.get("language", "en"), ui=ui)


def refs_html(data: dict, csrf: str) -> str:
    esc, ui = html.escape, data.get("ui", "en")
    t = escaped(ui)

    def control(r: dict) -> str:
        if r.get("own"):  # named in the screenplay: changed there, not here
            return f"<span class=note>{t(OWN_PICTURE)}</span>"
        return (f"<button class=ref-lock data-locked={'1' if r['locked'] else '0'}>"
                f"{t('Locked — unlock') if r['locked'] else t('Lock')}</button>")
    cards = "".join(f"<figure class=ref data-ref='{esc(r['id'])}'><img src='{esc(r['image'] or '')}' alt=''>"
                    f"<figcaption>{t(r['kind'])} <b>{esc(r['id'])}</b> {control(r)}</figcaption></figure>"
                    for r in data["refs"])
    body = cards or f"<p class=note>{t('No generated reference sheets: every character and place has its own pictures.')}</p>"
    return _page(f"{data['title']} — {tr(ui, 'references')}", _nav(data, "refs") + f"<main class=refs data-episode="
                 f"'{esc(data['episode'])}'><section class=cards>{body}</section></main>", csrf,
                 lang=data.get("language", "en"), ui=ui)


# ---------------------------------------------------------------------------------------------- the app
def create_app(project: Project, token: str | None = None):
    """The studio over ``project``; ``token``: required on every request (set when bound beyond localhost)."""
    from fastapi import FastAPI
    from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response,
                                   StreamingResponse)

    app = FastAPI(title="director studio", docs_url=None, redoc_url=None, openapi_url=None)
    csrf = secrets.token_urlsafe(24)
    worker = RenderWorker(project.root, project.state)
    app.state.worker, app.state.csrf, app.state.project = worker, csrf, project
    # set when the server is told to stop: an open page's event stream ends then, as its page would on closing
    # (uvicorn waits for open responses, then cancels them with a traceback on the terminal)
    app.state.stopping = stopping = threading.Event()

    app.state.config_problem = None

    def settings_now() -> None:
        """director.yaml read again where it changed on disk (an episode added to ``episodes:``, another profile):
        the studio kept the settings it started with, and answered "no episode" for one the CLI saw. A broken file
        keeps the settings read before, and the board says why."""
        from director.store.cache import file_stamp
        if project.config_path is None:
            return
        try:
            stamp = file_stamp(os.stat(project.config_path))
        except OSError:
            return
        if stamp == project.config_stamp:
            return
        try:
            fresh = Project.load(project.root)
        except DirectorError as exc:
            app.state.config_problem = str(exc)
            project.config_stamp = stamp  # said once per change, not read again on every request
            return
        project.config, project.config_path, project.config_stamp = fresh.config, fresh.config_path, fresh.config_stamp
        app.state.config_problem = None

    def board_now(episode: str) -> dict:
        settings_now()
        data = board(project, episode, worker)
        if app.state.config_problem:
            data["notes"] = [f"{app.state.config_problem} (the studio keeps the settings it read before)",
                             *data["notes"]]
        return data

    def same(given: str | None, secret: str) -> bool:
        return secrets.compare_digest((given or "").encode(), secret.encode())

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = host_of(request.headers.get("host"))
        if token is None and host not in LOCAL_HOSTS:
            # bound to this machine only: a page from elsewhere that re-points its name here (DNS rebinding)
            # arrives with its own host name, and is refused
            return JSONResponse({"error": f"this studio answers on 127.0.0.1 or localhost, not {host!r}"}, 403)
        # the cookie named by the port: cookies are not kept apart by port, and a second studio's token, opened in
        # the same browser, replaced the first one's (locked out, its token "shown only now")
        cookie = f"director_token_{request.url.port or 80}"
        if token is not None:
            given = (request.query_params.get("token") or request.cookies.get(cookie)
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
            if not same(given, token):
                return JSONResponse({"error": "this studio needs its access token (printed when it started)"}, 401)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin and host_of(origin.split("://", 1)[-1]) != host:
                return JSONResponse({"error": "a request from another site was refused"}, 403)
            size = request.headers.get("content-length", "")
            if size.isdigit() and int(size) > MAX_BODY:
                return JSONResponse({"error": f"the request body is {int(size)} bytes; at most {MAX_BODY}"}, 413)
            if not same(request.headers.get("x-csrf-token"), csrf):
                return JSONResponse({"error": "missing or wrong CSRF token: reload the page"}, 403)
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(cookie, token, httponly=True, samesite="strict")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # never inside another site's frame: a page there could trick clicks on Render, Lock or a take
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return response

    def fail(exc: Exception, status: int = 400):
        if isinstance(exc, EditConflict):
            return JSONResponse({"error": str(exc), "conflict": True}, 409)
        if isinstance(exc, ScreenplayError):
            return JSONResponse({"error": "invalid", "problems": [str(p) for p in exc.problems]}, 422)
        return JSONResponse({"error": str(exc)}, status)

    async def body(request: Request) -> dict:
        """The request's JSON object; an empty body is {}. Anything else is a usage error (400): a body that
        failed to parse once read as {}, and a render asked for with it rendered every shot."""
        raw = bytearray()
        async for chunk in request.stream():  # chunked, without a Content-Length: counted as it comes
            raw += chunk
            if len(raw) > MAX_BODY:
                raise UsageError(f"the request body is over {MAX_BODY} bytes")
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise UsageError("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise UsageError("the request body must be a JSON object")
        return data

    def text_field(data: dict, key: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{key} must be text, not {type(value).__name__}")
        return value

    @app.exception_handler(DirectorError)
    async def director_error(request: Request, exc: DirectorError):  # any route: a user's error is a 400 saying
        return fail(exc)  # what is wrong, not a 500 with a traceback in the server's log

    @app.get("/")
    def home():
        settings_now()
        episodes = [p.stem for p in project.episode_paths()]
        return RedirectResponse(f"/e/{episodes[0]}" if episodes else "/static/empty.html", 303)

    def chosen_ui(request: Request) -> str | None:
        """The language asked for on this request (``?ui=``), else the one remembered (its cookie)."""
        asked = request.query_params.get("ui") or request.cookies.get("director_ui")
        return asked if asked in LANGUAGES else None

    def page(draw, episode: str, request: Request):
        """A page of the episode, or the error page saying why there is none (a wrong name, a broken screenplay):
        the player and references pages answered with raw JSON."""
        chosen = chosen_ui(request)
        try:
            data = board_now(episode)
            data["ui"] = ui_language(data.get("language"), chosen)
            answer = HTMLResponse(draw(data, csrf))
        except DirectorError as exc:
            ui = chosen or "en"
            answer = HTMLResponse(_page(tr(ui, "error"), f"<main><p class=note>{html.escape(str(exc))}</p>"
                                  f"<p><a href='/'>{html.escape(tr(ui, 'back to the studio'))}</a></p></main>", csrf,
                                  ui=ui), 400)
        if request.query_params.get("ui") in LANGUAGES:  # remembered for the other pages and the next visit
            answer.set_cookie("director_ui", request.query_params["ui"], max_age=365 * 24 * 3600, samesite="strict")
        return answer

    @app.get("/e/{episode}", response_class=HTMLResponse)
    def board_page(episode: str, request: Request):
        return page(board_html, episode, request)

    @app.get("/e/{episode}/cards", response_class=HTMLResponse)
    def cards(episode: str, request: Request):
        data = board_now(episode)
        ui = ui_language(data.get("language"), chosen_ui(request))
        data["ui"] = ui
        return notes_html(data) + "".join(card_html(c, data["vocab"], ui) for c in data["shots"])

    @app.get("/e/{episode}/player", response_class=HTMLResponse)
    def player(episode: str, request: Request):
        return page(player_html, episode, request)

    @app.get("/e/{episode}/refs", response_class=HTMLResponse)
    def refs(episode: str, request: Request):
        return page(refs_html, episode, request)

    @app.get("/e/{episode}/subtitles.vtt")
    def subtitles(episode: str):
        srt = project.out_dir(project.load_episode(episode).episode) / "episode.srt"
        if not srt.exists():
            return Response("WEBVTT\n\n", media_type="text/vtt")
        return Response(vtt(srt.read_text(encoding="utf-8")), media_type="text/vtt")

    read: dict[str, tuple] = {}  # episode -> (its file's stat, its name, the files it reads): for ``stamp``

    @app.get("/api/e/{episode}/stamp")
    def stamp(episode: str):
        """What the page shows depends on, as file stamps: a page polls it and redraws when a hand edit, a terminal
        render or another tab changed something (it showed the old line and "cached" until reloaded)."""
        from director.store.cache import file_stamp, fingerprint

        def stamp_of(path: Path) -> list[int] | None:
            try:
                return file_stamp(path.stat())
            except OSError:
                return None

        path = project.episode_path(episode)
        mark = stamp_of(path)
        if episode not in read or read[episode][0] != mark:  # the screenplay parsed again only when its file
            # changed (a 1.4 MB screenplay took ~2 s a poll); the files it names are stat-ed on every poll below
            try:
                loaded = project.load_episode(episode)
                read[episode] = (mark, loaded.episode, tuple(loaded.files))
            except DirectorError:  # a broken screenplay (or bible): asked again at the next poll, until it is fixed
                read.pop(episode, None)
        _, name, named = read.get(episode, (mark, episode, ()))
        files = [project.config_path or project.root / "director.yaml", path, *named, project.shots_path(name),
                 project.state_file("state", f"{name}.json"), project.state_file("takes", f"{name}.json"),
                 project.out_dir(name) / "episode.mp4"]
        return {"stamp": fingerprint({"files": [stamp_of(f) for f in files]})[:16]}

    @app.get("/api/e/{episode}/board")
    def board_json(episode: str):
        try:
            return board_now(episode)
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/e/{episode}/shots/{shot}")
    async def set_fields(episode: str, shot: str, request: Request):
        from director.runtime.edits import set_shot
        data = await body(request)
        was = data.pop("was", None)  # each field as the page showed it: changed since, the edit is refused (409)
        if was is not None and not isinstance(was, dict):
            return fail(UsageError("'was' is the shown value of each field, as an object"))
        try:
            return {"shot": set_shot(project, episode, shot, data, was)}
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/e/{episode}/shots/{shot}/lock")
    async def lock(episode: str, shot: str, request: Request):
        from director.runtime.edits import set_shot
        data = await body(request)
        try:
            before = _planned_seconds(project, episode, shot)
            done = set_shot(project, episode, shot, {"locked": data.get("locked", True)})  # "false": no
        except DirectorError as exc:
            return fail(exc)
        warnings = [f"locked at its length in the episode, {done['duration']:g} s (its plan said {before:g} s)"] \
            if before is not None and abs(done["duration"] - before) > 1e-6 else []
        return {"shot": done, "warnings": warnings}

    @app.post("/api/e/{episode}/shots/{shot}/regen")
    async def regen(episode: str, shot: str, request: Request):
        from director.runtime.edits import parse_value, regenerate
        data = await body(request)
        seed = data.get("seed")  # read as ``shot set seed=...`` reads it (a whole number; true or 1.9 refused)
        return regenerate(project, episode, shot, parse_value("seed", seed) if seed not in (None, "") else None)

    @app.get("/api/e/{episode}/shots/{shot}/takes")
    def take_list(episode: str, shot: str):
        from director.runtime.edits import takes
        try:
            return {"takes": takes(project, episode, shot)}
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/e/{episode}/shots/{shot}/takes/{number}")
    def pick_take(episode: str, shot: str, number: int):
        from director.runtime.edits import pick
        try:
            return pick(project, episode, shot, number)
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/e/{episode}/lines/{ref:path}")
    async def line(episode: str, ref: str, request: Request):
        from director.runtime.edits import set_line
        data = await body(request)
        return set_line(project, episode, ref, text_field(data, "text"), text_field(data, "emotion"),
                        text_field(data, "was"))

    @app.post("/api/refs/{ident}/lock")
    def ref_lock(ident: str):
        from director.runtime.modelsinfo import lock_sheet
        try:
            return {"locked": str(lock_sheet(project, ident).relative_to(project.root))}
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/refs/{ident}/unlock")
    def ref_unlock(ident: str):
        from director.runtime.modelsinfo import unlock_sheet
        try:
            return {"unlocked": [str(p.relative_to(project.root)) for p in unlock_sheet(project, ident)]}
        except DirectorError as exc:
            return fail(exc)

    @app.post("/api/e/{episode}/render")
    async def render(episode: str, request: Request):
        data = await body(request)
        shots = data.get("shots") or []
        if not isinstance(shots, list) or not all(isinstance(s, str) for s in shots):
            raise UsageError("shots must be a list of shot ids")
        try:
            name = project.load_episode(episode).episode
            worker.start(name, shots or None)
        except RuntimeError as exc:
            return fail(exc, 409)
        except DirectorError as exc:
            return fail(exc)
        return {"state": worker.state, "episode": name, "shots": shots}

    @app.post("/api/e/{episode}/plan")
    def plan_episode(episode: str):
        """``director plan`` in the worker's child process (the configured planner: an LLM may take a while), as a
        render is run: an unplanned project's cards could not be edited until it was planned in a terminal."""
        try:
            name = project.load_episode(episode).episode
            worker.start(name, task="plan")
        except RuntimeError as exc:
            return fail(exc, 409)
        return {"state": worker.state, "episode": name, "task": "plan"}

    @app.post("/api/render/cancel")
    def cancel():
        return {"cancelled": worker.cancel(), "state": worker.state}

    @app.get("/api/render")
    def render_state():
        holder = lock_holder(project.state)
        seen = worker.since(0)
        return {"state": worker.state, "episode": worker.episode, "task": worker.task,
                "running": sorted(worker.running.values()),
                "last_event": seen[-1]["id"] if seen else 0,
                "failed": worker.failed, "lock": {"pid": holder.get("pid"), "command": holder.get("argv")}
                if holder else None}

    @app.get("/api/events")
    async def events(request: Request, after: int = 0):
        import asyncio

        header = request.headers.get("last-event-id") or ""
        last = int(header) if header.isdecimal() and header.isascii() else max(0, after)

        async def stream():
            nonlocal last
            quiet = 0.0
            while not stopping.is_set() and not await request.is_disconnected():
                fresh = worker.since(last)
                for event in fresh:
                    last = event["id"]
                    yield f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n"
                quiet = 0.0 if fresh else quiet + 0.25
                if quiet >= 15:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/media/{rel:path}")
    def media(rel: str):
        from director.paths import inside
        target = project.root / rel
        try:
            resolved = inside(project.root, target, "a media file")
        except DirectorError:
            return JSONResponse({"error": "outside the project"}, 404)
        kind = MEDIA_TYPES.get(resolved.suffix.lower())
        if kind is None or not resolved.is_file():
            return JSONResponse({"error": "not a media file of this project"}, 404)
        # asked again each time (a conditional request: 304 where unchanged): an episode's URL stays the same
        # across renders, and with Last-Modified alone the browser played the old cut for a while after a render
        return FileResponse(resolved, media_type=kind, headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}")
    def static(name: str):
        path = STATIC / name
        if "/" in name or not path.is_file():
            return JSONResponse({"error": "not found"}, 404)
        kind = {".css": "text/css", ".js": "text/javascript", ".html": "text/html",
                ".svg": "image/svg+xml"}.get(path.suffix, "text/plain")
        return FileResponse(path, media_type=kind)

    @app.get("/favicon.ico")
    def favicon():  # what a browser asks for on a page without a <link rel=icon> (the media files it opens)
        return FileResponse(STATIC / "icon.svg", media_type="image/svg+xml")

    return app


def studio_token(host: str, require: bool = False) -> str | None:
    """The access token every request must carry: always off this machine, and on 127.0.0.1 when asked
    (``--token``: a machine other people have accounts on, whose processes reach 127.0.0.1 too)."""
    return secrets.token_urlsafe(18) if require or host not in LOCAL_HOSTS else None


def serve(project: Project, host: str, port: int, out, require_token: bool = False) -> None:
    """Run the studio until Ctrl-C."""
    import uvicorn

    sock = _listen(host, port)  # before the address is printed: a port in use is said so, not served "at" it
    token = studio_token(host, require_token)
    app = create_app(project, token)
    where = f"http://{'127.0.0.1' if host in LOCAL_HOSTS else host}:{port}/"
    if token:
        print(f"director studio: {where}?token={token}\n(bound to {host}: every request needs this token; "
              "it is shown only now)", flush=True)
    else:
        print(f"director studio: {where}  (Ctrl-C stops it)", flush=True)
    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:  # Ctrl-C: the pages' event streams end before uvicorn waits on them
            app.state.stopping.set()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
           ).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """The studio's socket, bound; a clear usage error where the address cannot be had."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # IPv4 first where there is one: the address printed for localhost is 127.0.0.1, and a host that lists
        # ::1 first would otherwise be served where that address does not reach
        family, kind, proto, _, address = next((a for a in found if a[0] == socket.AF_INET), found[0])
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"--host {host!r} is not an address of this machine ({exc}); use 127.0.0.1 (this machine "
                         "only) or 0.0.0.0 (every network it is on)") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # a browser opening the printed address at once waits in the queue, not refused
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use (another studio, or another program): choose a free "
                             f"one with --port, e.g. --port {port + 1}") from None
        raise UsageError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    return sock

