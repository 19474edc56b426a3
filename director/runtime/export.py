"""Hand-off to an editor: the episode's media and its timeline, in the formats editors open.

``export`` never renders: it explains the episode (as ``status`` does) and refuses, naming the
command, when anything is not rendered. It then lays every artifact out in ``media/`` (hard links
into the cache, or copies across filesystems) with names an editor understands, and writes one
format-neutral ``Cut`` (shots at their exact frame ranges and transitions; dialogue per
character, music and sound effects at their frames with the gains the mix used; markers for
scene starts and for shots that failed a check; director's metadata on every clip) through:

- OpenTimelineIO (``.otio``, native) and its adapter plugins: FCP 7 XML (``fcp_xml``), FCP X
  (``fcpx_xml``) and CMX 3600 EDL (``cmx_3600``, picture only: an EDL has one video track);
- a Jianying/CapCut draft folder (``runtime/jianying.py``).

Media paths are relative to the export folder in the ``.otio`` (the folder can be moved to the editor's
machine); FCP 7 and FCP X get absolute, percent-encoded ``file://`` URLs, which is what those applications
resolve (a relative path was offline), and a draft absolute paths, as the apps require. Times are frames at the
episode's rate (23.976 is 24000/1001).
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import re
import shutil
import uuid
from fractions import Fraction
from dataclasses import dataclass, field
from pathlib import Path

from director.errors import DirectorError, UsageError
from director.media.audio import pad_wav
from director.media.source import ClipSource, FileSource, encode_clip
from director.paths import inside
from director.runtime.context import RenderContext
from director.stages.mix import END_FADE, MUSIC_FADE_IN, joins
from director.stages.music import CROSSFADE, music_cues
from director.stages.subtitles import cards_of
from director.stages.segments import GRADES
from director.shots import in_flashback
from director.store.files import temp_beside, write_json
from director.vocab import CARD_WORDS_ZH, NARRATOR

FORMATS = {"otio": ("otio_json", ".otio"), "fcp7": ("fcp_xml", ".xml"), "fcpxml": ("fcpx_xml", ".fcpxml"),
           "edl": ("cmx_3600", ".edl"), "jianying": (None, ""), "capcut": (None, "")}
FADE_SECONDS, DISSOLVE_SECONDS = 0.4, 0.5  # as the assembly draws them (stages/assemble.py)


@dataclass(frozen=True)
class Padded:
    """A clip with ``before``/``after`` copies of its edge frames: the handles a dissolve overlaps (the assembly
    holds the edge frames the same way), encoded when the media folder is written. A clip given as a graph (the
    animatic's, ``media.source``) is encoded this way too, handles or none."""

    source: ClipSource
    before: int
    after: int
    crf: int = 12
    # the clip's cache key and the project's cache: the encoded file is kept there as an entry of its own
    # ("exports"), so that exporting again, or to another editor, copies it instead of encoding every shot again
    clip_key: str = ""
    cache: Path | None = None
    grade: str = ""  # the look the episode draws on it (a flashback's, ``segments.GRADES``): an ffmpeg filter chain

    def entry_key(self) -> str:
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.material(), sort_keys=True).encode()).hexdigest()

    def material(self) -> dict:
        return {"clip": self.clip_key, "before": self.before, "after": self.after, "crf": self.crf,
                "preset": EDITOR_PRESET, "version": 1} | ({"grade": self.grade} if self.grade else {})


EDITOR_PRESET = "medium"  # an editor's media: near lossless (CRF 12), encoded once per clip and handles


@dataclass(frozen=True)
class Lengthened:
    """A sound file with silence after it, to the whole frames its clip claims: a clip rounded down to a frame cut
    the last 5-40 ms of a line (speech, and a click where it stopped), and one rounded up claimed media past the
    file's end (which pyJianYingDraft refuses)."""

    path: Path
    seconds: float

    def entry_key(self) -> str:
        return "/".join(Path(self.path).parts[-2:]) + f"@{self.seconds:.6f}"


@dataclass
class Item:
    """One piece of media on a track: where it plays in the episode and which part of the file plays."""

    name: str
    media: str  # path relative to the export folder
    start: int  # frame in the episode
    frames: int
    source_start: int = 0  # first frame of the file that plays
    media_frames: int = 0  # the file's whole length in frames
    gain_db: float = 0.0
    metadata: dict = field(default_factory=dict)


@dataclass
class Transition:
    """Between shot ``index - 1`` and ``index``: ``dissolve`` (cross-fade) or ``fade`` (dip through black)."""

    index: int
    kind: str
    out_frames: int  # frames of the outgoing shot it covers
    in_frames: int  # frames of the incoming shot it covers


@dataclass
class Cut:
    episode: str
    fps: float
    width: int
    height: int
    frames: int
    shots: list[Item]
    transitions: list[Transition]
    audio: dict[str, list[Item]]  # track name -> items (dialogue per character, music, sfx)
    markers: list[tuple[int, str, str, str]]  # (frame, name, color, note)
    subtitles: list[tuple[float, float, str, bool]]  # each cue as burned: (start s, end s, lines, italic)
    subtitle_style: dict
    notes: list[str]
    metadata: dict
    # (start s, end s, kind, text); an intro's text is its name, a newline, its role
    cards: list[tuple[float, float, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user must act on: printed, not only recorded


def slug(text: str) -> str:
    """A file-name-safe form of free text (an sfx name, a mood): letters and digits of any script, - and _."""
    import re
    out = re.sub(r"[^\w-]+", "_", str(text), flags=re.UNICODE).strip("_")
    return out[:48] or "x"


def rate_of(fps: float):
    """The exact frame rate: 23.976 -> 24000/1001 (as a float OTIO keeps; NTSC rates are recognised)."""
    for base in (24, 30, 60):
        if abs(fps - base * 1000 / 1001) < 0.002:
            return base * 1000 / 1001
    return float(fps)


# ---------------------------------------------------------------------------------------------- the cut
def rendered(project, episode: str | None, profile: str | None = None) -> RenderContext:
    """The episode's context with every artifact found in the cache; refuses when anything must render."""
    from director.runtime.render import explain

    ctx, result, _ = explain(project, episode, profile)
    missing = [r for r in result.records if r.status not in ("cached",)]
    if missing or "assemble" not in ctx.results or "episode" not in ctx.results["assemble"]:
        first = missing[0] if missing else None
        what = f"{first.stage} {first.id} ({first.reason})" if first else "the episode"
        raise DirectorError(f"episode {ctx.loaded.episode} is not fully rendered ({len(missing)} job(s) to run, first: "
                         f"{what}); export never renders: run `"
                            + project.command("render", "-e", ctx.loaded.episode, *(("--profile", profile) if profile
                                                                                    else ()))
                            + "` first")
    return ctx


def build_cut(ctx: RenderContext) -> tuple[Cut, dict[str, Path]]:
    """The episode as an editor gets it, and the media files it uses (relative name -> cache file)."""
    sp, cfg = ctx.sp, ctx.config
    zh = sp.chinese  # the names a Chinese editor reads: 旁白, 场次, 字幕卡
    media: dict[str, Path] = {}
    starts = ctx.starts()
    scenes = {s.id: s for s in sp.scenes}
    shots, markers = [], []
    keyframe_backend = ctx.backends["keyframes"].identity()
    video_backend = ctx.backends["video"].identity()
    previous_scene = None
    half = max(1, round(DISSOLVE_SECONDS * sp.format.fps / 2))
    kinds = [s.transition for s in ctx.shots]
    for i, shot in enumerate(ctx.shots):
        clip = ctx.entry("clips", shot.id)
        source = ClipSource.of(ctx.artifact("clips", shot.id))
        frames = ctx.frames(shot)
        name = f"{i + 1:02d}-{shot.id}"
        before = half if i > 0 and kinds[i] == "dissolve" else 0
        after = half if i + 1 < len(kinds) and kinds[i + 1] == "dissolve" else 0
        # a flashback's clip carries its grade, as the episode shows it (the editor got it in full colour)
        grade = GRADES["flashback"] if in_flashback(sp, shot) else ""
        media[f"media/shots/{name}.mp4"] = (source.path if isinstance(source, FileSource) and not (before or after)
                                            and not grade else Padded(source, before, after, clip_key=clip.key,
                                                                      cache=ctx.project.cache_dir, grade=grade))
        key = ctx.entry("keyframes", shot.id)
        media[f"media/keyframes/{name}.png"] = key.role("image")
        start = _frame(starts[shot.id], sp)
        shots.append(Item(name, f"media/shots/{name}.mp4", start, frames, before, before + frames + after, 0.0, {
            "shot": shot.id, "scene": shot.scene, "size": shot.size, "angle": shot.angle, "move": shot.move,
            "prompt": shot.prompt, "seed": shot.seed, "characters": list(shot.characters),
            "keyframe_model": _model(keyframe_backend), "video_model": _model(video_backend),
            "key": clip.key, "keyframe_key": key.key, "report": key.meta.get("report", {})}
            | ({"look": "flashback (graded in the clip)"} if grade else {})))
        if shot.scene != previous_scene:
            scene = scenes[shot.scene]
            markers.append((start, f"场次 {shot.scene}" if zh else f"scene {shot.scene}", "GREEN",
                            f"{scene.location} {scene.time}".strip()))
            previous_scene = shot.scene
        failed = [n for n in key.meta.get("notes", []) if "below the threshold" in n]
        if failed:
            markers.append((start, f"check {shot.id}", "RED", failed[0]))
    transitions = []
    for i, shot in enumerate(ctx.shots):
        kind = shot.transition
        if kind == "dissolve" and i > 0:
            transitions.append(Transition(i, "dissolve", half, half))
        elif kind == "fade":
            d_in = _frame(min(FADE_SECONDS, shots[i].frames / sp.format.fps / 3), sp)
            d_out = _frame(min(FADE_SECONDS, shots[i - 1].frames / sp.format.fps / 3, shots[i].frames / sp.format.fps / 3),
                           sp) if i > 0 else 0
            transitions.append(Transition(i, "fade", d_out, d_in))
    audio: dict[str, list[Item]] = {}
    names = {cid: c.name or cid for cid, c in ctx.sp.characters.items()}  # a track per character, by its name
    names.setdefault(NARRATOR, "旁白" if zh else NARRATOR)  # the narrator's track too: a character named
    # "narrator" shared it; a Chinese editor's timeline says 旁白
    said = [n.casefold() for n in names.values()]
    shown = {cid: name if said.count(name.casefold()) == 1 or cid == NARRATOR else cid for cid, name in names.items()}
    levels = ctx.entry("mix", "episode").meta.get("voice_gain_db") or []  # each line's level and delivery
    for i, p in enumerate(ctx.placements()):
        beat = ctx.beats[p.ref]
        who = beat.line.who if beat.line else NARRATOR
        name = shown.get(who, who)
        path = f"media/dialogue/{who}/{slug(p.ref)}.wav"
        n = _covering(p.duration, sp)
        media[path] = Lengthened(p.entry.role("audio"), n / sp.format.fps)
        level = levels[i] if i < len(levels) else 0.0
        audio.setdefault(f"dialogue {name}", []).append(Item(p.ref, path, _frame(p.start, sp), n, 0, n, level, {
            "line": p.ref, "speaker": who, "speaker_name": name, "text": beat.spoken.text, "emotion": beat.spoken.emotion,
            "key": p.entry.key}))
    cues = music_cues(ctx)
    joined = joins([(c.start, c.end) for c in cues])
    gains = ctx.entry("mix", "episode").meta.get("music_gain_db") or []  # each cue's, against the dialogue
    for i, cue in enumerate(cues):
        entry = ctx.entry("music", cue.ref)
        path = f"media/music/{slug(cue.ref)}-{slug(cue.mood)}.wav"
        media[path] = entry.role("audio")
        length = min(cue.end - cue.start + (CROSSFADE if joined[i] else 0), entry.meta["duration"])
        n = _whole(length, sp)
        audio.setdefault("music", []).append(Item(cue.ref, path, _frame(cue.start, sp), n, 0,
                                                  _whole(entry.meta["duration"], sp),
                                                  gains[i] if i < len(gains) else 0.0, {
            "cue": cue.ref, "mood": cue.mood, "key": entry.key, "ducking_db": cfg.mix.duck_db,
            "fade_in_s": CROSSFADE if i and joined[i - 1] else MUSIC_FADE_IN,
            "fade_out_s": CROSSFADE if joined[i] else END_FADE}))
    sfx_gains = ctx.entry("mix", "episode").meta.get("sfx_gain_db") or []  # each effect's, against the dialogue
    for ref, t in ctx.cue_times():
        sfx = ctx.beats[ref].sfx
        if not sfx:
            continue
        entry = ctx.entry("sfx", ref)
        path = f"media/sfx/{slug(ref)}-{slug(sfx.name)}.wav"
        n = _covering(entry.meta["duration"], sp)
        media[path] = Lengthened(entry.role("audio"), n / sp.format.fps)
        k = len(audio.get("sfx", []))  # the mix lists its effects in this order
        gain = sfx_gains[k] if k < len(sfx_gains) else 20 * math.log10(max(sfx.volume, 1e-6))
        audio.setdefault("sfx", []).append(Item(ref, path, _frame(t, sp), n, 0, n, round(gain, 2),
                                                {"cue": ref, "sfx": sfx.name, "key": entry.key}))
    subs = ctx.entry("subtitles", "episode")
    for role, name in (("srt", "episode.srt"), ("ass", "episode.ass"), ("cards_srt", "episode.cards.srt")):
        if subs.has(role):
            media[f"media/subtitles/{name}"] = subs.role(role)
    episode = ctx.entry("assemble", "episode")
    mix = ctx.entry("mix", "episode")
    media["media/reference/episode.mp4"] = episode.role("video")
    media["media/reference/mix.wav"] = mix.role("audio")
    subtitles = burned_cues(subs.role("ass"))
    cards = [(c.start, c.end, c.kind, "\n".join(t for t in (c.title, c.text) if t)) for c in cards_of(ctx)]
    markers += [(_frame(start, sp), CARD_WORDS_ZH[kind] if zh else f"{kind} card", "YELLOW", text)
                for start, _, kind, text in cards]
    markers.sort(key=lambda m: m[0])
    notes = [f"music is ducked {cfg.mix.duck_db:g} dB and sound effects {cfg.mix.sfx_duck_db:g} dB while anyone "
             f"speaks, music cues fade in and out (and cross-fade {CROSSFADE:g} s between scenes), "
             + (f"a room tone plays at {cfg.mix.room_tone_db:g} dBFS, " if cfg.mix.room_tone_db is not None else "")
             + f"and the master is normalised to {cfg.mix.loudness:g} LUFS with a "
             f"{cfg.mix.true_peak:g} dBTP limiter: the clips carry their gains (each line levelled and set by its "
             "delivery, each cue set against the dialogue) and the music's fades; the reference "
             "mix (media/reference/mix.wav) has it all"]
    fades = [t.index + 1 for t in transitions if t.kind == "fade"]
    if fades:
        notes.append(f"fades through black at shot(s) {', '.join(map(str, fades))}: FadeIn/FadeOut effects in .otio, "
                     "opacity keyframes in FCP 7 XML and FCP X, a dissolve to and from black (BL) in the EDL, "
                     "闪黑 in Jianying drafts")
    total = ctx.total_frames()
    for name in list(audio):  # the episode ends the sound too (a thunderclap outlasting the last shot is cut)
        audio[name] = [dataclasses.replace(i, frames=min(i.frames, total - i.start)) for i in audio[name]
                       if i.start < total]
    cut = Cut(ctx.loaded.episode, sp.format.fps, sp.format.width, sp.format.height, total, shots, transitions,
              audio, markers, subtitles, {"size": cfg.subtitles.size, "max_lines": cfg.subtitles.max_lines},
              notes, {"episode": ctx.loaded.episode, "title": sp.title, "language": sp.language,
                      "master_lufs": mix.meta.get("lufs"), "master_gain_db": mix.meta.get("applied_gain_db", mix.meta.get("gain_db")),
                      "master_limiter_dbtp": cfg.mix.true_peak,
                      "music_duck_db": cfg.mix.duck_db, "episode_key": episode.key}, cards)
    return cut, media


def burned_cues(ass: Path) -> list[tuple[float, float, str, bool]]:
    """The subtitle cues as the episode burns them (the ASS's dialogue style, not its cards): each cue's times,
    its lines joined by newlines, and whether it is in italics (inner monologue)."""
    import pysubs2

    from director.stages.subtitles import plain_text

    subs = pysubs2.load(str(ass), encoding="utf-8")
    said = [(e, plain_text(e.text)) for e in subs if e.style == "Default" and not e.is_comment]
    return [(e.start / 1000, e.end / 1000, text, e.text.startswith("{\\i1}")) for e, text in said if text.strip()]


def _frame(seconds: float, sp) -> int:
    return int(round(seconds * sp.format.fps))


def _covering(seconds: float, sp) -> int:
    """The whole frames that hold a sound of ``seconds`` to its end (at least one); its file is lengthened to them
    (``Lengthened``)."""
    return max(1, math.ceil(seconds * sp.format.fps - 1e-6))


def _whole(seconds: float, sp) -> int:
    """The whole frames a sound file of ``seconds`` fills (at least one): an editor's clip never claims media past
    the file's end (rounded, a 905.9 ms voice claimed 917.6 ms, and pyJianYingDraft refuses such a segment)."""
    return max(1, int(seconds * sp.format.fps + 1e-6))


def _model(identity: dict) -> str:
    config = identity.get("config", {})
    return str(config.get("model") or identity.get("id"))


READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)  # what a write to an archived project's folders meets
MEDIA_LIST = "media/.director-media.json"  # what the last export placed in media/, so the next removes what left the cut


def link_media(media: dict[str, Path | Padded | Lengthened], dest: Path) -> tuple[int, list[str]]:
    """Copy each file into the export folder (clips with dissolve handles are encoded), each atomically; then remove
    the files an earlier export placed that this cut no longer uses (a deleted sound, a line renumbered, a shot gone:
    the folder held them beside the new ones). Files director did not place are never touched. Returns how many
    went, and the files placed again with other content (a shot re-rendered longer: a timeline exported before still
    names the old length)."""
    import json

    listing = dest / MEDIA_LIST
    try:
        said = json.loads(listing.read_text(encoding="utf-8"))
        before, sources = said.get("files", []), said.get("sources", {})
        sources = sources if isinstance(sources, dict) else {}
    except (OSError, ValueError, AttributeError):
        before, sources = [], {}
    # each file by what it is (a cache entry's key folder and file name), not where: a moved project's media are the
    # same media (by their paths, every one read as changed)
    now = {rel: (src.entry_key() if isinstance(src, (Padded, Lengthened)) else "/".join(Path(src).parts[-2:]))
           for rel, src in media.items()}
    changed = sorted(rel for rel, source in now.items() if sources.get(rel) not in (None, source))
    for rel, src in media.items():
        target = inside(dest, dest / rel)
        place(src, target)
    gone = 0
    for rel in {str(r) for r in before if isinstance(r, str)} - set(media):
        try:
            target = inside(dest, dest / rel)
        except DirectorError:  # a listing edited to point outside: not ours to remove
            continue
        if target.is_file() and not (dest / rel).is_symlink():
            target.unlink()
            gone += 1
            root = (dest / "media").resolve()
            for folder in target.parents:  # the folders it leaves empty, up to media/
                if folder == root or not folder.is_relative_to(root):
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break
    write_json(listing, {"files": sorted(media), "sources": now})
    return gone, changed


def place(src: Path | Padded | Lengthened, target: Path) -> None:
    tmp = temp_beside(target, f".tmp{target.suffix}")  # never a fixed name: a link planted there was written through
    try:
        if isinstance(src, Padded):
            src = _encoded(src, tmp, target.name)
        elif isinstance(src, Lengthened):
            pad_wav(src.path, tmp, src.seconds)
            src = None
        if src is not None:  # a copy: a hard link would share the cache's file with whatever the editor does to it
            shutil.copyfile(src, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _encoded(src: Padded, tmp: Path, name: str) -> Path | None:
    """The clip encoded for an editor: from the project's cache where an export made it before (None: encoded
    straight into ``tmp``, where there is no cache to keep it in)."""
    pad = f"tpad=start_mode=clone:start={src.before}:stop_mode=clone:stop={src.after}" + (
        f",{src.grade}" if src.grade else "")
    if src.cache is None or not src.clip_key:
        encode_clip(src.source, tmp, src.crf, EDITOR_PRESET, pad)
        return None
    from director.store.cache import ArtifactCache

    cache, key = ArtifactCache(src.cache), src.entry_key()
    entry = cache.lookup("exports", key)
    if entry is None:
        import logging

        logging.getLogger("director").info("encoding %s for the editor (kept in the cache for the next export)",
                                           name)
        try:
            entry = cache.produce("exports", key, src.material(), lambda folder: {"files": {"video": encode_clip(
                src.source, folder / "editor.mp4", src.crf, EDITOR_PRESET, pad).name}})
        except OSError as exc:  # an archived project's read-only cache: encoded for this export alone
            if exc.errno not in READ_ONLY:
                raise
            encode_clip(src.source, tmp, src.crf, EDITOR_PRESET, pad)
            return None
    return entry.role("video")


# ---------------------------------------------------------------------------------------------- OTIO
def to_otio(cut: Cut, fades: str = "effects"):
    """The cut as an OpenTimelineIO timeline: V1 shots (+ transitions), one audio track per voice, music, sfx.

    ``fades``: how a dip to black is written. ``effects``: FadeIn/FadeOut effects on the clips (OTIO's own form;
    the XML writers add opacity keyframes from them). ``black``: the form an EDL knows: the faded frames become a
    dissolve to/from black (``BL``) over a gap, playing the same frames of each clip at the same record frames."""
    import opentimelineio as otio

    rate = rate_of(cut.fps)

    def rt(frames: int):
        return otio.opentime.RationalTime(frames, rate)

    def clip(item: Item) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(target_url=item.media,
                                            available_range=otio.opentime.TimeRange(rt(0), rt(item.media_frames)))
        c = otio.schema.Clip(name=item.name, media_reference=ref,
                             source_range=otio.opentime.TimeRange(rt(item.source_start), rt(item.frames)))
        c.metadata["director"] = {**item.metadata, "gain_db": item.gain_db}
        return c

    name = " ".join(f"{cut.metadata.get('title') or cut.episode} ({cut.episode})".split())  # one line: an EDL's
    timeline = otio.schema.Timeline(name="".join(c for c in name if c.isprintable()),  # title line takes no break
                                    global_start_time=rt(0))
    timeline.metadata["director"] = {**cut.metadata, "fps": cut.fps, "width": cut.width, "height": cut.height,
                                     "frames": cut.frames, "notes": cut.notes, "subtitles": "media/subtitles/episode.srt"}
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    by_index = {t.index: t for t in cut.transitions}

    def dissolve(name: str, before: int, after: int, kind: str):
        tr = otio.schema.Transition(name=name, in_offset=rt(before), out_offset=rt(after),
                                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve)
        tr.metadata["director"] = {"transition": kind}
        return tr

    for i, item in enumerate(cut.shots):
        t = by_index.get(i)
        nxt = by_index.get(i + 1)
        if t is not None and t.kind == "dissolve":  # overlaps the handles the media folder's clips carry
            video.append(dissolve("dissolve", t.out_frames, t.in_frames, "dissolve"))
        if fades == "black":
            fade_in = t.in_frames if t is not None and t.kind == "fade" else 0
            fade_out = nxt.out_frames if nxt is not None and nxt.kind == "fade" else 0
            if t is not None and t.kind == "fade" and (t.out_frames or fade_in):
                # black between the two shots: the outgoing one dissolves into it, this one out of it
                gap = t.out_frames + fade_in
                video.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(gap))))
                if fade_in:
                    video.append(dissolve("fade in", fade_in, 0, "fade"))
            trimmed = Item(**{**item.__dict__, "source_start": item.source_start + fade_in,
                              "frames": item.frames - fade_in - fade_out})
            video.append(clip(trimmed))
            if fade_out:
                video.append(dissolve("fade out", 0, fade_out, "fade"))
            continue
        c = clip(item)
        # a fade dips through black inside the shots' own spans (no overlap): an effect on each side's clip
        if t is not None and t.kind == "fade" and t.in_frames:
            c.effects.append(otio.schema.Effect(name="fade in", effect_name="FadeIn",
                                                metadata={"director": {"frames": t.in_frames, "from": "black"}}))
        if nxt is not None and nxt.kind == "fade" and nxt.out_frames:
            c.effects.append(otio.schema.Effect(name="fade out", effect_name="FadeOut",
                                                metadata={"director": {"frames": nxt.out_frames, "to": "black"}}))
        video.append(c)
    timeline.tracks.append(video)
    for name, lanes in audio_lanes(cut).items():
        for lane, items in enumerate(lanes):
            track = otio.schema.Track(name=name if lane == 0 else f"{name} {lane + 1}", kind=otio.schema.TrackKind.Audio)
            at = 0
            for item in items:
                if item.start > at:
                    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(item.start - at))))
                track.append(clip(item))
                at = item.start + item.frames
            timeline.tracks.append(track)
    for frame, name, color, note in cut.markers:
        m = otio.schema.Marker(name=name, marked_range=otio.opentime.TimeRange(rt(frame), rt(1)),
                               color=getattr(otio.schema.MarkerColor, color, otio.schema.MarkerColor.RED))
        m.metadata["director"] = {"note": note}
        timeline.tracks.markers.append(m)
    return timeline


def audio_lanes(cut: Cut) -> dict[str, list[list[Item]]]:
    """Each audio track's items in time order, spilled onto further lanes where they overlap (music cues
    cross-fade; an effect may outlast the next one): nothing is ever moved from where the mix plays it."""
    out: dict[str, list[list[Item]]] = {}
    for name, items in cut.audio.items():
        lanes: list[list[Item]] = []
        for item in sorted(items, key=lambda x: x.start):
            lane = next((ln for ln in lanes if ln[-1].start + ln[-1].frames <= item.start), None)
            if lane is None:
                lanes.append([item])
            else:
                lane.append(item)
        out[name] = lanes
    return out


def write_timeline(cut: Cut, fmt: str, dest: Path) -> Path:
    import opentimelineio as otio

    adapter, suffix = FORMATS[fmt]
    timeline = to_otio(cut, fades="black" if fmt == "edl" else "effects")
    if fmt == "edl":  # an EDL is one picture track; sound is in the media folder and the other formats
        timeline.tracks[:] = [timeline.tracks[0]]
        for clip in timeline.tracks[0].find_clips():  # files, not tapes: the reel is AX (auxiliary) and the
            # conform goes by the clip's name in its comment, as Premiere writes them (a reel from the file's
            # name was its first 8 letters, "0101mp4" for a Chinese one)
            clip.metadata.setdefault("cmx_3600", {})["reel"] = "AX"
    if fmt == "fcpxml":  # the adapter's frame durations are keyed 23.98 and 29.97, not the exact NTSC rates
        table = otio.adapters.from_name(adapter).module().FRAMERATE_FRAMEDURATION
        for base in (24, 30, 60):
            table.setdefault(base * 1000 / 1001, f"1001/{base * 1000}s")
    path = inside(dest, dest / f"{cut.episode}{suffix}")
    tmp = temp_beside(path)
    try:
        try:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
        except Exception as exc:  # an adapter refusing the timeline is a clear error, not a traceback
            raise DirectorError(f"the {fmt} writer ({adapter}) refused this timeline: {exc}") from None
        if fmt == "fcpxml":  # the FCP X adapter writes no transitions, effects, frame size or gains
            finish_fcpx(tmp, cut, dest)
        elif fmt == "fcp7":  # the FCP 7 adapter writes no clip effects (fades, gains) nor the frame size
            finish_fcp7(tmp, cut, dest)
        elif fmt == "edl":
            finish_edl(tmp, cut)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def sound_fades(cut: Cut) -> dict[str, tuple[int, int]]:
    """Each sound clip's name -> (frames fading in, frames fading out) where the mix fades it (a music cue's 0.3 s
    in, its cross-fades, the last one's end): the timelines played the music at a flat level, starting and stopping
    hard, and both cues at full level where they cross-fade."""
    out = {}
    for items in cut.audio.values():
        for item in items:
            a = min(item.frames // 2, round(float(item.metadata.get("fade_in_s") or 0) * cut.fps))
            b = min(item.frames // 2, round(float(item.metadata.get("fade_out_s") or 0) * cut.fps))
            if a or b:
                out[item.name] = (a, b)
    return out


def _gains(cut: Cut) -> dict[str, float]:
    """Each sound clip's name (its beat's ref: unique) -> its gain in dB, where it has one."""
    return {i.name: i.gain_db for items in cut.audio.values() for i in items if abs(i.gain_db) > 0.005}


def _url(dest: Path, relative: str) -> str:
    """A media file's absolute file URL, percent-encoded (spaces, Chinese names), as the NLEs resolve them."""
    return (dest / relative).resolve().as_uri()


def finish_fcp7(path: Path, cut: Cut, dest: Path) -> None:
    """What the FCP 7 adapter leaves out: fades (``add_fcp7_fades``), the sequence's frame size (9:16, not the
    NLE's landscape default), file URLs the NLEs resolve, and each sound clip's gain as an Audio Levels filter
    (linear, as FCP 7 keeps it)."""
    import xml.etree.ElementTree as ET

    tree = ET.parse(path)
    root = tree.getroot()
    add_fcp7_fades(root, cut)
    sequence = root.find(".//sequence")
    fmt = sequence.find("media/video/format") if sequence is not None else None
    if fmt is not None:
        fmt.clear()
        chars = ET.SubElement(fmt, "samplecharacteristics")
        rate = ET.SubElement(chars, "rate")
        ntsc = abs(rate_of(cut.fps) - round(cut.fps)) > 1e-6
        ET.SubElement(rate, "timebase").text = str(round(cut.fps))
        ET.SubElement(rate, "ntsc").text = "TRUE" if ntsc else "FALSE"
        for tag, text in (("width", str(cut.width)), ("height", str(cut.height)), ("anamorphic", "FALSE"),
                          ("pixelaspectratio", "square"), ("fielddominance", "none")):
            ET.SubElement(chars, tag).text = text
    for file in root.iter("file"):
        describe_fcp7_media(file, dest)
    for url in root.iter("pathurl"):
        if url.text and "://" not in url.text:
            url.text = _url(dest, url.text)
    gains, fades = _gains(cut), sound_fades(cut)
    for item in (sequence.iter("clipitem") if sequence is not None else ()):
        name = item.findtext("name")
        if name not in gains and name not in fades:  # the sound clips' names: their beats' refs (a shot's is its id)
            continue
        effect = ET.SubElement(ET.SubElement(item, "filter"), "effect")
        for tag, text in (("name", "Audio Levels"), ("effectid", "audiolevels"), ("effectcategory", "audiolevels"),
                          ("effecttype", "audiolevels"), ("mediatype", "audio")):
            ET.SubElement(effect, tag).text = text
        param = ET.SubElement(effect, "parameter")
        level = f"{10 ** (gains.get(name, 0.0) / 20):.5f}"
        for tag, text in (("parameterid", "level"), ("name", "Level"), ("valuemin", "0"), ("valuemax", "3.98109"),
                          ("value", level)):
            ET.SubElement(param, tag).text = text
        if name in fades:  # keyframes in the clip's media frames, as the video's opacity
            first, last = int(item.findtext("in") or 0), int(item.findtext("out") or 0)
            into, out_of = fades[name]
            keys = ([(first, "0"), (first + into, level)] if into else []) + (
                [(last - out_of, level), (last, "0")] if out_of else [])
            for when, value in keys:
                key = ET.SubElement(param, "keyframe")
                ET.SubElement(key, "when").text = str(when)
                ET.SubElement(key, "value").text = value
    _write_xml(tree, path, '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n')


def describe_fcp7_media(file, dest: Path) -> None:
    """A file's <media> as it is: the adapter says every file has audio (the shots' MP4s have none), and a sound file
    has no channel count or rate, by which Premiere links a clip to its file (it refuses where counts differ)."""
    import xml.etree.ElementTree as ET

    from director.media.audio import wav_format

    media, url = file.find("media"), file.findtext("pathurl") or ""
    if media is None or not url or "://" in url:
        return
    if url.endswith(".mp4"):  # the shots: pictures alone
        for audio in media.findall("audio"):
            media.remove(audio)
        return
    try:
        found = wav_format(inside(dest, dest / url))
    except (OSError, DirectorError):
        return
    if found is None:
        return
    channels, rate, depth = found
    for old in media.findall("audio") + media.findall("video"):
        media.remove(old)
    audio = ET.SubElement(media, "audio")
    chars = ET.SubElement(audio, "samplecharacteristics")
    ET.SubElement(chars, "depth").text = str(depth)
    ET.SubElement(chars, "samplerate").text = str(rate)
    ET.SubElement(audio, "channelcount").text = str(channels)


def finish_fcpx(path: Path, cut: Cut, dest: Path) -> None:
    """What the FCP X adapter leaves out: dissolves and fades (``add_fcpx_transitions``), markers, the format's frame size
    (a 9:16 custom format; the adapter names any 1920-high file "1080p", and only when an ffprobe is on PATH), file
    URLs, and each sound clip's gain as ``adjust-volume``."""
    import xml.etree.ElementTree as ET

    tree = ET.parse(path)
    root = tree.getroot()
    on_fcpx_frames(root, cut)
    add_fcpx_transitions(root, cut)
    add_fcpx_markers(root, cut)
    for project in root.iter("project"):  # one uid per episode of a project (the adapter left it empty: all alike)
        if not project.get("uid"):
            project.set("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dest.resolve().as_uri()}#{cut.episode}")).upper())
    for fmt in root.iter("format"):
        fmt.attrib.pop("name", None)
        fmt.set("width", str(cut.width))
        fmt.set("height", str(cut.height))
        fmt.set("colorSpace", "1-1-1 (Rec. 709)")
    for asset in root.iter("asset"):
        src = asset.get("src")
        if src and "://" not in src:
            asset.set("src", _url(dest, src))
    gains, fades = _gains(cut), sound_fades(cut)
    frame = _fcpx_frame(cut)
    for clip in root.iter("clip"):
        name = clip.get("name")
        if (name in gains or name in fades) and clip.find("adjust-volume") is None:
            at = sum(1 for e in clip if e.tag in ("note", "conform-rate", "timeMap") or e.tag.startswith("adjust-"))
            volume = ET.Element("adjust-volume", {"amount": f"{gains.get(name, 0.0):.2f}dB"})
            if name in fades:  # the mix's fades, as Final Cut draws them on a clip's volume
                param = ET.SubElement(volume, "param", {"name": "amount"})
                for tag, frames in zip(("fadeIn", "fadeOut"), fades[name]):
                    if frames:
                        ET.SubElement(param, tag, {"type": "easeIn" if tag == "fadeIn" else "easeOut",
                                                   "duration": _fcpx_time(frames * frame)})
            clip.insert(at, volume)
    _write_xml(tree, path, '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n')


def finish_edl(path: Path, cut: Cut) -> None:
    """A CMX 3600 header EDL readers take: a short ASCII title (a Chinese one becomes the episode's id) and the
    frame count mode."""
    import unicodedata

    lines = path.read_text(encoding="utf-8").splitlines()
    drop = any(re.search(r"\d\d;\d\d", line) for line in lines)  # 29.97/59.94: the writer's timecodes drop frames
    out = []
    for line in lines:
        if line.startswith("TITLE:"):
            def ascii_of(text: str) -> str:
                return " ".join(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
                                .replace("()", "").split())

            title, episode = ascii_of(line[6:].strip()), ascii_of(cut.episode)
            if title == f"({episode})":  # all that is left of a Chinese title and its episode
                title = episode
            if sum(ch.isalpha() for ch in title) < 2:  # "(1)": a Chinese title with the episode 第1集
                title = episode if sum(ch.isalpha() for ch in episode) >= 2 else \
                    " ".join(["EPISODE", *re.findall(r"\d+", cut.episode)[:1]])
            out += [f"TITLE: {title[:70]}", f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}"]
        elif not line.startswith("FCM:"):
            out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")  # a clip comment keeps its file's name as it is


def fade_frames(cut: Cut) -> dict[int, tuple[int, int]]:
    """Shot index -> (frames fading in from black at its start, frames fading out to black at its end)."""
    out: dict[int, tuple[int, int]] = {}
    for t in cut.transitions:
        if t.kind != "fade":
            continue
        if t.in_frames:
            out[t.index] = (t.in_frames, out.get(t.index, (0, 0))[1])
        if t.out_frames and t.index:
            out[t.index - 1] = (out.get(t.index - 1, (0, 0))[0], t.out_frames)
    return out


def opacity_keys(item: Item, fade_in: int, fade_out: int) -> list[tuple[int, float]]:
    """(frame of the clip's media, opacity 0..1) keyframes of a dip to black inside the clip's own span: linear,
    as the assembly draws it (fully black on the cut frame, fully up ``fade_in`` frames later)."""
    first, last = item.source_start, item.source_start + item.frames
    keys = []
    if fade_in:
        keys += [(first, 0.0), (first + fade_in, 1.0)]
    if fade_out:
        keys += [(last - fade_out, 1.0), (last, 0.0)]
    return keys


def _write_xml(tree, path: Path, header: str) -> None:
    import xml.etree.ElementTree as ET

    ET.indent(tree, space="    ")
    path.write_text(header + ET.tostring(tree.getroot(), encoding="unicode") + "\n", encoding="utf-8")


def add_fcp7_fades(root, cut: Cut) -> None:
    """An Opacity filter with keyframes on each faded clip item of V1 (FCP 7 counts keyframes in the clip's media
    frames; Premiere and Resolve read the same filter)."""
    import xml.etree.ElementTree as ET

    fades = fade_frames(cut)
    if not fades:
        return
    track = root.find(".//sequence/media/video/track")
    if track is None:
        return
    items = [e for e in track if e.tag == "clipitem"]
    for index, (fade_in, fade_out) in fades.items():
        if index >= len(items):
            continue
        effect = ET.SubElement(ET.SubElement(items[index], "filter"), "effect")
        for tag, text in (("name", "Opacity"), ("effectid", "opacity"), ("effectcategory", "motion"),
                          ("effecttype", "motion"), ("mediatype", "video")):
            ET.SubElement(effect, tag).text = text
        param = ET.SubElement(effect, "parameter")
        for tag, text in (("parameterid", "opacity"), ("name", "Opacity"), ("valuemin", "0"), ("valuemax", "100"),
                          ("value", "100")):
            ET.SubElement(param, tag).text = text
        for when, value in opacity_keys(cut.shots[index], fade_in, fade_out):
            key = ET.SubElement(param, "keyframe")
            ET.SubElement(key, "when").text = str(when)
            ET.SubElement(key, "value").text = f"{value * 100:g}"


FCPX_CROSS_DISSOLVE = "FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"  # Final Cut Pro's built-in Cross Dissolve


def _fcpx_frame(cut: Cut) -> Fraction:
    """One frame of the cut, in seconds, exactly (1001/24000 at 23.976)."""
    return 1 / Fraction(rate_of(cut.fps)).limit_denominator(1001)


def _fcpx_time(value: Fraction) -> str:
    """Seconds as FCPXML writes a time: ``13/8s``, ``3s``."""
    return f"{value.numerator}/{value.denominator}s" if value.denominator != 1 else f"{value.numerator}s"


def _fcpx_seconds(text: str | None) -> Fraction:
    """An FCPXML time attribute (``13/8s``), absent as 0."""
    return Fraction(text[:-1]) if text else Fraction(0)


def on_fcpx_frames(root, cut: Cut) -> None:
    """Every time on the cut's frames. At 23.976 or 29.97 the adapter writes a connected clip's offset in frames of
    the whole rate (``1/23s``: ``int(fps)``; its reader reads them back the same way, so a round trip hid it), so a
    sound started up to frames early or late in Final Cut, which also warns of clips off an edit frame. Such a
    value is those frames again, at the true rate; any other one off the grid goes to its nearest frame."""
    frame = _fcpx_frame(cut)
    whole = int(cut.fps)
    for element in root.iter():
        for name in ("offset", "duration", "start"):
            text = element.get(name)
            if not text or not text.endswith("s"):
                continue
            value = _fcpx_seconds(text)
            if (value / frame).denominator == 1:
                continue
            # only a connected clip's offset is the adapter's frames of int(fps); anything else, its nearest frame
            guessed = name == "offset" and element.get("lane") is not None and (value * whole).denominator == 1
            frames = value * whole if guessed else round(value / frame)
            element.set(name, _fcpx_time(frames * frame))


def add_fcpx_transitions(root, cut: Cut) -> None:
    """Insert a ``<transition>`` centred on each dissolve's cut into the FCPXML spine (the clips carry the handle
    frames it overlaps), with the Cross Dissolve effect among the resources; a fade is an ``adjust-blend`` opacity
    keyframed inside the clip (clip-local time, before the clip's media, as the DTD orders it)."""
    import xml.etree.ElementTree as ET

    dissolves = [t for t in cut.transitions if t.kind == "dissolve"]
    fades = fade_frames(cut)
    if not dissolves and not fades:
        return
    resources, spine = root.find("resources"), root.find(".//spine")
    if resources is None or spine is None:
        return
    frame = _fcpx_frame(cut)

    def t(frames: int) -> str:
        return _fcpx_time(frame * frames)

    clips = [c for c in spine if c.tag == "clip"]
    for index, (fade_in, fade_out) in fades.items():
        if index >= len(clips):
            continue
        clip = clips[index]
        start = _fcpx_seconds(clip.get("start"))
        blend = ET.Element("adjust-blend", {"amount": "1"})
        animation = ET.SubElement(ET.SubElement(blend, "param", {"name": "amount"}), "keyframeAnimation")
        item = cut.shots[index]
        for when, value in opacity_keys(item, fade_in, fade_out):  # media frame -> the clip's local time
            local = start + frame * (when - item.source_start)
            ET.SubElement(animation, "keyframe", {"time": _fcpx_time(local), "value": f"{value:g}"})
        clip.insert(sum(1 for e in clip if e.tag in ("note", "conform-rate", "timeMap")), blend)
    if dissolves:
        ids = [int(e.get("id", "r0")[1:]) for e in resources if (e.get("id") or "").startswith("r")]
        effect = ET.SubElement(resources, "effect", {"id": f"r{max(ids, default=0) + 1}", "name": "Cross Dissolve",
                                                      "uid": FCPX_CROSS_DISSOLVE})
        for d in sorted(dissolves, key=lambda d: d.index, reverse=True):
            if d.index >= len(clips):
                continue
            at = list(spine).index(clips[d.index])
            cut_frame = cut.shots[d.index].start
            transition = ET.Element("transition", {"name": "Cross Dissolve", "offset": t(cut_frame - d.out_frames),
                                                   "duration": t(d.out_frames + d.in_frames)})
            ET.SubElement(transition, "filter-video", {"ref": effect.get("id"), "name": "Cross Dissolve"})
            spine.insert(at, transition)


def add_fcpx_markers(root, cut: Cut) -> None:
    """The cut's markers (scenes, cards, failed checks) on the spine's clips, at each clip's local time (the FCP X
    adapter writes none); a failed check is a to-do marker. After a clip's media and connected clips, before its
    filters, as the DTD orders them."""
    import xml.etree.ElementTree as ET

    spine = root.find(".//spine")
    if spine is None or not cut.markers:
        return
    frame = _fcpx_frame(cut)
    clips = [c for c in spine if c.tag == "clip"]
    for at, name, color, note in cut.markers:
        when = frame * at
        clip = next((c for c in clips if _fcpx_seconds(c.get("offset")) <= when < _fcpx_seconds(c.get("offset"))
                     + _fcpx_seconds(c.get("duration"))), clips[-1] if clips else None)
        if clip is None:
            continue
        # inside the clip (a marker at the cut's very end on its last frame)
        local = min(when - _fcpx_seconds(clip.get("offset")), _fcpx_seconds(clip.get("duration")) - frame)
        attrs = {"start": _fcpx_time(_fcpx_seconds(clip.get("start")) + local), "duration": _fcpx_time(frame),
                 "value": name}
        if note:
            attrs["note"] = note
        if color == "RED":  # a check that failed: something to do
            attrs["completed"] = "0"
        position = next((i for i, e in enumerate(clip)
                         if e.tag.startswith(("audio-channel-source", "filter-", "metadata"))), len(clip))
        clip.insert(position, ET.Element("marker", attrs))


def export(project, episode: str | None, fmt: str, out: Path | None = None, profile: str | None = None,
           force: bool = False, wait: float = 0.0, waiting=None) -> dict:
    """Export one episode; returns what was written. A draft goes straight into ``out`` (the app's drafts
    folder); the other formats into ``out/<episode>/`` (default: the episode's ``out/`` folder). A draft folder
    that director did not write from this project, or that changed since, is replaced only with ``force``. A render
    holding the project (``render --watch`` between saves) is waited for up to ``wait`` seconds."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not valid; use one of: {', '.join(FORMATS)}")
    from director.store.lock import ProjectLock

    # the project's lock (a render or clean sweeps the cache's unfinished writes: an export's vanished under it),
    # where one can be taken: a read-only project (archived) has no writer
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(ProjectLock(project.state, "export", wait, waiting))
        except OSError as exc:
            if exc.errno not in READ_ONLY:
                raise
        return _export(project, episode, fmt, out, profile, force)


def _export(project, episode: str | None, fmt: str, out: Path | None, profile: str | None, force: bool) -> dict:
    ctx = rendered(project, episode, profile)
    try:
        ctx.cache.sweep_temporaries()  # an export killed mid-encode left its folder in exports/
    except OSError:
        pass
    draft = fmt in ("jianying", "capcut")
    if out:
        out = Path(out).expanduser().absolute()  # said as a whole path, as every other export's is
        dest = out if draft else out / ctx.loaded.episode
    else:  # a Jianying and a CapCut draft of one episode share a name: each flavour has its folder (checked to be
        # in the project: a link put at out/<episode>/jianying had the draft written wherever it led)
        dest = project.inside(project.out_dir(ctx.loaded.episode) / (fmt if draft else ""), "the export folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
    cut, media = build_cut(ctx)
    if draft:
        from director.runtime.jianying import draft_warnings, write_draft

        cut.warnings += draft_warnings(cut)

        # a series' episodes are named in the editor's list by the series too: two shows' "第1集" drafts collided
        series = ctx.loaded.series_title.strip()
        title = f"{series}_{ctx.sp.title}" if series and series != ctx.sp.title.strip() else ctx.sp.title
        path = write_draft(cut, media, dest, fmt, title=title, project=str(project.root.resolve()), force=force)
    else:
        gone, changed = link_media(media, dest)
        earlier = sorted(p.stem.removeprefix("export-") for p in dest.glob("export-*.json") if p.stem != f"export-{fmt}")
        if (gone or changed) and earlier:  # said on the terminal: the editor's project that imported them breaks
            what = [f"{len(changed)} media file(s) now hold other content ({', '.join(changed[:3])}"
                    f"{', ...' if len(changed) > 3 else ''})"] if changed else []
            what += [f"{gone} no longer used were removed"] if gone else []
            cut.warnings.append(f"{' and '.join(what)} in {dest / 'media'}: the {', '.join(earlier)} timeline(s) "
                                f"exported there before this edit are out of date; export them again")
        if "media/subtitles/episode.cards.srt" not in media:  # the cards are gone since the last export
            (dest / "media" / "subtitles" / "episode.cards.srt").unlink(missing_ok=True)
        path = write_timeline(cut, fmt, dest)
    summary = {"episode": cut.episode, "format": fmt, "path": str(path),
               "media": str(path / "materials") if draft else str(dest / "media"),
               "shots": len(cut.shots), "frames": cut.frames, "fps": cut.fps,
               "tracks": ["V1"] if fmt == "edl" else ["V1"] + list(cut.audio),  # an EDL holds one track
               "files": len(media), "notes": cut.notes, "warnings": cut.warnings}
    write_json((path if draft else dest) / f"export-{fmt}.json", summary)
    return summary
