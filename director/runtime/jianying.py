"""A Jianying (剪映) Pro / CapCut desktop draft folder, written from the format-neutral ``Cut``.

The structure follows what the maintained open-source writers produce (pyJianYingDraft 0.3.1,
Apache-2.0; capcut-mate, Apache-2.0), re-implemented here from their documented output:

- the draft folder holds ``draft_content.json`` (Windows, all versions) and the same document as
  ``draft_info.json`` (macOS, and 6+), plus ``draft_meta_info.json`` (name, id, duration, and the
  media list macOS needs to find its files);
- every time is an integer number of microseconds; start and end are rounded separately so
  neighbours never overlap by one;
- media lives inside the draft folder (``materials/``: the macOS app is sandboxed and cannot read
  elsewhere), referenced by absolute path as the apps require: export straight into the app's
  drafts folder (``-o``) on the editor's machine, or re-export there after moving;
- tracks: V1 shots; one audio track per character, then music and sound effects (segments on one
  track never overlap); a text track with the subtitles as burned, one segment per cue with its
  line breaks, in director's style (white, bold, a black outline, italics for inner monologue; bottom
  safe zone: ``transform.y`` -0.56 of the half-height, size in 1% of the canvas height).

Not verified in the apps themselves (no Jianying on these machines): the tests validate the JSON
against a schema of this structure and read it back to the frame.
"""
from __future__ import annotations

import glob
import hashlib
import json
import re
import secrets
import shutil
import time
import uuid
from pathlib import Path

from director.errors import UsageError
from director.paths import inside
from director.runtime.export import Cut, Item, audio_lanes, place, slug, sound_fades
from director.store.files import TEMP_MARK, read_own, temp_folder_beside, write_json

US = 1_000_000
# Jianying's own transition resources (ids as the app's effect store gives them, recorded by pyJianYingDraft's
# metadata, Apache-2.0): a dissolve is 叠化, a dip through black is 闪黑.
TRANSITIONS = {"dissolve": {"name": "叠化", "effect_id": "322577", "resource_id": "6724845717472416269",
                            "is_overlap": True},
               "fade": {"name": "闪黑", "effect_id": "321493", "resource_id": "6724239388189921806",
                        "is_overlap": False}}
# the document's other keys as the app writes them (pyJianYingDraft's template of a 5.9 draft, Apache-2.0): a
# draft missing one may be read by one version and refused by another, so none is left out
MATERIAL_LISTS = ("ai_translates", "audio_balances", "audio_effects", "audio_fades", "audio_track_indexes", "audios",
                  "beats", "canvases", "chromas", "color_curves", "digital_humans", "drafts", "effects", "flowers",
                  "green_screens", "handwrites", "hsl", "images", "log_color_wheels", "loudnesses",
                  "manual_deformations", "masks", "material_animations", "material_colors", "multi_language_refs",
                  "placeholders", "plugin_effects", "primary_color_wheels", "realtime_denoises", "shapes",
                  "smart_crops", "smart_relights", "sound_channel_mappings", "speeds", "stickers", "tail_leaders",
                  "text_templates", "texts", "time_marks", "transitions", "video_effects", "video_trackings",
                  "videos", "vocal_beautifys", "vocal_separations")
DRAFT_CONFIG = {"adjust_max_index": 1, "attachment_info": [], "combination_max_index": 1, "export_range": None,
                "extract_audio_last_index": 1, "lyrics_recognition_id": "", "lyrics_sync": True,
                "lyrics_taskinfo": [], "material_save_mode": 0, "multi_language_current": "none",
                "multi_language_list": [], "multi_language_main": "none", "multi_language_mode": "none",
                "original_sound_last_index": 1, "record_audio_last_index": 1, "sticker_max_index": 1,
                "subtitle_keywords_config": None, "subtitle_recognition_id": "", "subtitle_sync": True,
                "subtitle_taskinfo": [], "system_font_list": [], "video_mute": False, "zoom_info_params": None}
# a text material's check_flag: which of its style's parts the app applies (7: fill, font, size); 8 turns the
# outline ("strokes") on, as the apps and every maintained draft writer set it: without it the outline written
# around a subtitle may not show
TEXT_FLAGS, BORDER_FLAG = 7, 8
SUBTITLE_Y = -0.56  # director's subtitles sit 22% above the bottom: y = -1 + 2 * 0.22
# cards where director's ASS styles put them (x, y from -1 to 1), their size against a subtitle's, their colour
CARD_PLACES = {"title": (0.0, 0.0), "intro": (-0.45, -0.3), "insert": (0.0, 0.0), "caption": (-0.5, 0.74)}
CARD_SIZES = {"title": 1.9, "intro": 1.5, "insert": 1.1, "caption": 0.9}
CARD_COLOURS = {"intro": [1.0, 0.84, 0.25]}
# the black outline director's subtitles are burned with: Jianying's stroke, at 30 on its 0-100 scale (stored / 500)
STROKE = {"content": {"solid": {"alpha": 1.0, "color": [0.0, 0.0, 0.0]}}, "width": 0.06}


WHITE = [1.0, 1.0, 1.0]


def _style(a: int, b: int, size: float, colour: list[float], italic: bool = False, stroke: bool = True) -> dict:
    """A text material's style over characters [a, b): bold (the burned face is), filled, outlined unless not."""
    return {"range": [a, b], "size": size, "bold": True, "italic": italic, "underline": False,
            "strokes": [STROKE] if stroke else [],
            "fill": {"alpha": 1.0, "content": {"render_type": "solid", "solid": {"alpha": 1.0, "color": colour}}}}


def _id() -> str:
    return uuid.uuid4().hex


def _us(frames: int, fps: float) -> int:
    return int(round(frames / fps * US))


def _range(start: int, frames: int, fps: float) -> dict:
    a, b = _us(start, fps), _us(start + frames, fps)
    return {"start": a, "duration": b - a}


DOCUMENTS = ("draft_content.json", "draft_info.json", "draft_meta_info.json")


def draft_name(title: str, episode: str) -> str:
    """The draft's folder, which is its name in the editor's list: the screenplay's title and the episode
    (``雨夜来电-ep01``). Every project made by ``director new`` has the episode ``screenplay``: a name from the
    episode alone made every show's draft the same one."""
    name, ep = slug(title), slug(episode)
    if name == "x":
        return f"director-{ep}"
    # a title that already names its episode (替身新娘_第2集, episode 第2集) is not named twice (替身新娘_第2集-第2集)
    return name if name.endswith(ep) else f"{name}-{ep}"


def _fingerprint(folder: Path) -> dict[str, str]:
    """The draft's documents by digest, read only while they are plain files of a sane size (``read_own``)."""
    out = {}
    for name in DOCUMENTS:
        try:
            out[name] = hashlib.sha256(read_own(folder / name).encode("utf-8")).hexdigest()
        except (OSError, ValueError):
            continue
    return out


def _check_replace(folder: Path, mark: Path, project: str) -> None:
    """Refuse to replace a draft folder that director did not write for this project's episode, or that changed
    since (opened or edited in the app): the editor's work lives in those files."""
    try:
        made = json.loads(read_own(mark))  # a named pipe put there hung the export
    except (OSError, ValueError):
        made = None
    why = None
    # a draft inside this project's own folder, where it was in the project that wrote it, came with the project
    # when it was moved: this project's draft, replaced like one while the app left it alone (a moved project could
    # not re-export). A copy whose original is still there is not told from another project's draft put here.
    moved = False
    if isinstance(made, dict) and project and isinstance(made.get("project"), str) and isinstance(made.get("draft"), str):
        here, there = folder.resolve(), Path(made["draft"])
        mine, theirs = Path(project).resolve(), Path(made["project"])
        moved = (here.is_relative_to(mine) and there.is_relative_to(theirs) and not theirs.exists()
                 and here.relative_to(mine) == there.relative_to(theirs))
    if not isinstance(made, dict) or (made.get("project") != project and not moved):
        why = "was not exported from this project" + ("" if not isinstance(made, dict) or not made.get("project")
                                                       else f" (it came from {made['project']}; a copy of that "
                                                            "project replaces its drafts with --force)")
    elif _fingerprint(folder) not in (made.get("documents"), made.get("replacing")):  # "replacing": killed mid-swap
        why = "changed after director exported it (opened or edited in the app?)"
    if why:
        raise UsageError(f"the draft {folder} {why}: replacing it would lose that work. Export with --force to "
                         f"replace it, or give another folder with -o")


def draft_warnings(cut: Cut) -> list[str]:
    """What a draft cannot carry of the cut, for the terminal (the draft opened on a hard cut, said only in its JSON)."""
    if cut.transitions and cut.transitions[0].index == 0:
        return ["the episode fades in from black at its first shot, which this draft cannot carry (a Jianying "
                "transition sits between two segments): add a fade-in (渐显) to the first clip in the app"]
    return []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)  # rmtree unlinks the links inside, never follows them
    else:
        path.unlink(missing_ok=True)


def write_draft(cut: Cut, media: dict[str, Path], dest: Path, flavour: str = "jianying", title: str = "",
                project: str = "", force: bool = False) -> Path:
    """Write ``<dest>/<draft name>/`` with its media; return the folder. An existing folder of that name is
    replaced only when director wrote it from this ``project`` and nothing changed it since, or with ``force``."""
    name = draft_name(title, cut.episode)
    folder = inside(dest, dest / name)
    mark = folder.parent / f"{name}.director.json"
    if folder.exists() and not force:
        _check_replace(folder, mark, project)
    for left in folder.parent.glob(f".{glob.escape(name)}.*"):  # an export killed mid-write left these
        if re.fullmatch(rf"\.{re.escape(name)}\.([0-9a-f]{{16}}\.old|{TEMP_MARK}[a-z0-9_]{{8}}\.tmp)", left.name):
            _remove(left)
    # built in a new folder of a random name (a fixed ``.<name>.tmp`` planted as a link was written through:
    # rmtree skips a link, and the draft's files went where it pointed)
    if folder.is_symlink():  # the link goes, never what it points at (and the draft's paths are its own)
        folder.unlink()
    tmp = temp_folder_beside(folder)
    try:
        (tmp / "materials").mkdir()
        placed: dict[str, str] = {}
        for rel, src in media.items():
            place(src, inside(tmp, tmp / "materials" / Path(rel).relative_to("media")))
            placed[rel] = str((folder / "materials" / Path(rel).relative_to("media")).resolve())
        draft, meta = draft_documents(cut, placed, name, str(folder.resolve()), flavour)
        for file in ("draft_content.json", "draft_info.json"):
            (tmp / file).write_text(json.dumps(draft, ensure_ascii=False, indent=1), encoding="utf-8")
        (tmp / "draft_meta_info.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        marked = {"draft": str(folder), "episode": cut.episode, "project": project, "flavour": flavour,
                  "documents": _fingerprint(tmp)}
        # marked before the swap, as either draft: an export killed between the two renames left the mark of the
        # draft replaced beside the new one, which read as an edit made in the app (--force needed, an .old left)
        write_json(mark, {**marked, "replacing": _fingerprint(folder)} if folder.is_dir() else marked)
        if folder.exists() or folder.is_symlink():
            # the draft replaced goes to a random name nothing has (a folder or a file: renamed over an empty
            # folder, a file could not be), and comes back if the new one cannot take its place
            old = folder.with_name(f".{name}.{secrets.token_hex(8)}.old")
            folder.replace(old)
            try:
                tmp.replace(folder)
            except BaseException:
                old.replace(folder)
                raise
            _remove(old)
        else:
            tmp.replace(folder)
    finally:
        if tmp.exists():
            _remove(tmp)  # a failed export leaves no half draft beside the drafts
    write_json(mark, marked)
    return folder


def draft_documents(cut: Cut, placed: dict[str, str], name: str, folder: str, flavour: str) -> tuple[dict, dict]:
    fps = cut.fps
    materials: dict[str, list] = {"videos": [], "audios": [], "texts": [], "speeds": [], "transitions": [],
                                  "audio_fades": []}
    fades = sound_fades(cut)
    tracks = []
    media_list = []

    def speed() -> str:
        sid = _id()
        materials["speeds"].append({"id": sid, "type": "speed", "speed": 1.0, "mode": 0, "curve_speed": None})
        return sid

    def segment(material_id: str, item_start: int, frames: int, source: int | None, volume: float, clip: dict | None,
                index: int, extra: list[str]) -> dict:
        target = _range(item_start, frames, fps)  # by frame boundaries: neighbours never overlap by a microsecond
        seg = {"id": _id(), "material_id": material_id, "render_index": index, "track_render_index": 0,
               "target_timerange": target,  # the source as long as the target (rounded apart, they were 1 µs apart)
               "source_timerange": {"start": _us(source, fps), "duration": target["duration"]}
               if source is not None else None,
               "speed": 1.0, "volume": round(volume, 4), "last_nonzero_volume": round(volume, 4) or 1.0,
               "extra_material_refs": extra, "visible": True, "reverse": False, "is_tone_modify": False,
               "clip": clip, "common_keyframes": [], "keyframe_refs": []}
        if clip is not None:
            seg["uniform_scale"] = {"on": True, "value": 1.0}
        return seg

    identity_clip = {"alpha": 1.0, "flip": {"horizontal": False, "vertical": False}, "rotation": 0.0,
                     "scale": {"x": 1.0, "y": 1.0}, "transform": {"x": 0.0, "y": 0.0}}
    video_segments = []
    incoming = {t.index: t for t in cut.transitions}
    for i, shot in enumerate(cut.shots):
        mid = _id()
        path = placed[shot.media]
        materials["videos"].append({
            "id": mid, "material_id": mid, "material_name": Path(path).name, "path": path,
            "duration": _us(shot.media_frames, fps), "width": cut.width, "height": cut.height, "type": "video",
            "crop_ratio": "free", "crop_scale": 1.0, "check_flag": 63487, "category_name": "local",
            "local_material_id": "", "media_path": ""})
        media_list.append(_meta_media(path, _us(shot.media_frames, fps), cut, "video"))
        extra = [speed()]
        t = incoming.get(i + 1)  # Jianying hangs a transition on the outgoing segment
        if t is not None:
            tid = _id()
            materials["transitions"].append({"id": tid, "type": "transition", "category_id": "", "category_name": "",
                                             "platform": "all", "duration": _us(t.out_frames + t.in_frames, fps),
                                             **TRANSITIONS[t.kind]})
            extra.append(tid)
        seg = segment(mid, shot.start, shot.frames, shot.source_start, 1.0, dict(identity_clip), 0, extra)
        seg["hdr_settings"] = {"intensity": 1.0, "mode": 1, "nits": 1000}
        seg["director"] = {k: shot.metadata.get(k) for k in ("shot", "prompt", "seed", "key", "video_model")}
        video_segments.append(seg)
    tracks.append(_track("video", "V1 shots", video_segments))
    lanes = [(name if i == 0 else f"{name} {i + 1}", lane) for name, ls in audio_lanes(cut).items()
             for i, lane in enumerate(ls)]
    for index, (track_name, items) in enumerate(lanes, start=1):
        segments = []
        for item in items:
            aid = _id()
            path = placed[item.media]
            materials["audios"].append({"id": aid, "local_material_id": aid, "music_id": aid,
                                        "name": Path(path).name, "path": path,
                                        "duration": _us(item.media_frames, fps), "type": "extract_music",
                                        "check_flag": 3, "category_name": "local", "source_platform": 0,
                                        "wave_points": []})
            media_list.append(_meta_media(path, _us(item.media_frames, fps), cut, "music"))
            extra = [speed()]
            if item.name in fades:  # the mix's fades, as Jianying keeps a clip's 淡入/淡出
                fid = _id()
                into, out_of = fades[item.name]
                materials["audio_fades"].append({"id": fid, "type": "audio_fade", "fade_type": 0,
                                                 "fade_in_duration": _us(into, fps), "fade_out_duration": _us(out_of, fps)})
                extra.append(fid)
            segments.append(segment(aid, item.start, item.frames, item.source_start, _volume(item), None, index, extra))
            segments[-1]["hdr_settings"] = None
        tracks.append(_track("audio", track_name, segments))
    text_lanes: list[list[dict]] = []  # lines that overlap (line.overlap) go on further text tracks
    lane_ends: list[int] = []
    size = round(100 * cut.subtitle_style.get("size", 0.045), 2)
    for start_s, end_s, text, italic in cut.subtitles:  # one segment per cue, its lines as burned
        tid = _id()
        content = {"text": text, "styles": [_style(0, len(text), size, WHITE, italic=italic)]}
        materials["texts"].append({"id": tid, "type": "subtitle", "content": json.dumps(content, ensure_ascii=False),
                                   "alignment": 1, "typesetting": 0, "line_max_width": 0.84, "line_feed": 1,
                                   "letter_spacing": 0.0, "line_spacing": 0.02, "check_flag": TEXT_FLAGS | BORDER_FLAG,
                                   "global_alpha": 1.0})
        start, end = round(start_s * fps), round(end_s * fps)
        lane = next((i for i, e in enumerate(lane_ends) if e <= start), None)
        if lane is None:
            lane = len(text_lanes)
            text_lanes.append([])
            lane_ends.append(0)
        clip = dict(identity_clip, transform={"x": 0.0, "y": SUBTITLE_Y + 0.12 * lane})
        text_lanes[lane].append(segment(tid, start, max(1, end - start), None, 1.0, clip, len(tracks) + lane, []))
        lane_ends[lane] = start + max(1, end - start)
    for lane, segments in enumerate(text_lanes or [[]]):
        tracks.append(_track("text", "subtitles" if lane == 0 else f"subtitles {lane + 1}", segments))
    card_segments = []  # title, intro, insert and caption cards: where director burns them, editable here
    for start_s, end_s, kind, text in cut.cards:
        tid = _id()
        big = round(size * CARD_SIZES.get(kind, 1.0), 2)
        outlined = kind not in ("insert", "caption")  # those two sit on a box of their own
        title, _, role = text.partition("\n")
        if kind == "intro" and role:  # as burned: the name large in yellow, its role below, smaller and white
            styles = [_style(0, len(title), big, CARD_COLOURS["intro"], stroke=outlined),
                      _style(len(title), len(text), size, WHITE, stroke=outlined)]
        else:
            styles = [_style(0, len(text), big, CARD_COLOURS.get(kind, WHITE), stroke=outlined)]
        content = {"text": text, "styles": styles}
        materials["texts"].append({"id": tid, "type": "text", "content": json.dumps(content, ensure_ascii=False),
                                   "alignment": 0 if kind in ("intro", "caption") else 1, "typesetting": 0,
                                   "line_max_width": 0.8, "line_feed": 1, "letter_spacing": 0.0,
                                   "line_spacing": 0.02, "check_flag": TEXT_FLAGS | (BORDER_FLAG if outlined else 0),
                                   "global_alpha": 1.0})
        start, end = round(start_s * fps), round(end_s * fps)
        x, y = CARD_PLACES.get(kind, (0.0, 0.0))
        clip = dict(identity_clip, transform={"x": x, "y": y})
        card_segments.append(segment(tid, start, max(1, end - start), None, 1.0, clip, len(tracks), []))
    if card_segments:
        tracks.append(_track("text", "cards", card_segments))
    duration = _us(cut.frames, fps)
    draft_id = str(uuid.uuid4()).upper()
    app = ({"app_id": 359289, "app_source": "cc"} if flavour == "capcut" else {"app_id": 3704, "app_source": "lv"})
    notes = [*cut.notes, *draft_warnings(cut)]
    platform = {**app, "app_version": "5.9.0", "os": "windows"}
    for kind in MATERIAL_LISTS:  # every list the app's own drafts carry, empty where director puts nothing
        materials.setdefault(kind, [])
    draft = {"id": draft_id, "name": name, "fps": float(fps), "duration": duration,
             "canvas_config": {"width": cut.width, "height": cut.height, "ratio": "original"},
             "platform": platform, "last_modified_platform": dict(platform), "version": 360000,
             "new_version": "110.0.0", "config": {**DRAFT_CONFIG, "maintrack_adsorb": False},
             "color_space": 0, "cover": None, "create_time": 0, "update_time": 0, "source": "default",
             "free_render_index_mode_on": False, "render_index_track_mode_on": False, "group_container": None,
             "keyframe_graph_list": [], "mutable_config": None, "relationships": [], "retouch_cover": None,
             "static_cover_image_path": "", "time_marks": None,
             "materials": materials, "tracks": tracks,
             "keyframes": {k: [] for k in ("adjusts", "audios", "effects", "filters", "handwrites", "stickers",
                                           "texts", "videos")},
             "extra_info": {"director": {"episode": cut.episode, "frames": cut.frames, "notes": notes,
                                         **{k: v for k, v in cut.metadata.items() if isinstance(v, (str, int, float))}}}}
    now = int(time.time() * US)  # microseconds, as the apps write them
    meta = {"draft_id": draft_id, "draft_name": name, "draft_fold_path": folder,
            "draft_root_path": str(Path(folder).parent), "tm_duration": duration, "tm_draft_create": now,
            "tm_draft_modified": now, "draft_materials": [{"type": 0, "value": media_list}]}
    return draft, meta


def _track(kind: str, name: str, segments: list[dict]) -> dict:
    return {"id": _id(), "type": kind, "name": name, "attribute": 0, "flag": 0, "is_default_name": False,
            "segments": segments}


def _volume(item: Item) -> float:
    return 10 ** (item.gain_db / 20)


def _meta_media(path: str, duration: int, cut: Cut, kind: str) -> dict:
    return {"id": str(uuid.uuid4()), "file_Path": path, "duration": duration, "width": cut.width if kind == "video" else 0,
            "height": cut.height if kind == "video" else 0, "metetype": kind, "type": 0}


def read_draft(folder: Path) -> dict:
    """The draft's timeline back, in frames: what the round-trip test compares with director's timing."""
    draft = json.loads((Path(folder) / "draft_content.json").read_text(encoding="utf-8"))
    fps = draft["fps"]
    materials = {m["id"]: m for kind in ("videos", "audios", "texts", "transitions")
                 for m in draft["materials"].get(kind, [])}
    out = {"fps": fps, "frames": round(draft["duration"] / US * fps), "tracks": []}
    for track in draft["tracks"]:
        items = []
        for seg in track["segments"]:
            m = materials[seg["material_id"]]
            tr = seg["target_timerange"]
            item = {"start": round(tr["start"] / US * fps), "frames": round(tr["duration"] / US * fps),
                    "volume": seg["volume"]}
            if "path" in m:
                item["path"] = m["path"]
            if m.get("content"):
                item["text"] = json.loads(m["content"])["text"]
            if seg.get("source_timerange"):
                item["source_start"] = round(seg["source_timerange"]["start"] / US * fps)
            moves = [materials[r] for r in seg.get("extra_material_refs", []) if materials.get(r, {}).get("type") ==
                     "transition"]
            if moves:
                item["transition_out"] = {"name": moves[0]["name"], "frames": round(moves[0]["duration"] / US * fps)}
            items.append(item)
        out["tracks"].append({"type": track["type"], "name": track["name"], "items": items})
    return out
