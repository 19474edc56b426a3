"""``director export``: media folder + timelines, read back by the formats' own readers and re-rendered."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from director.media.audio import read_wav, resample
from director.media.probe import decode_audio, probe, video_frame
from director.project import Project
from director.runtime.jianying import draft_name
from tests.conftest import DATA, ROOT, director, make_project

otio = pytest.importorskip("opentimelineio")
READERS = {"otio": ("otio_json", ".otio"), "fcp7": ("fcp_xml", ".xml"), "fcpxml": ("fcpx_xml", ".fcpxml"),
           "edl": ("cmx_3600", ".edl")}


def _render(tmp, fps: float = 24, size=(108, 192), second_cue: bool = False) -> Path:
    project = make_project(tmp, size=size)
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["format"]["fps"] = fps
    if second_cue:
        data["scenes"][1]["beats"].insert(1, {"music": {"mood": "sad"}})
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    return project


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The short screenplay with a second music cue (music cross-fades across the cue change)."""
    return _render(tmp_path_factory.mktemp("export"), second_cue=True)


def _timing(project: Path) -> dict:
    """director's own timing of the episode (the engine's, not the exporter's): shot starts and lengths."""
    from director.runtime.render import explain

    ctx, _, _ = explain(Project.find(project))
    starts = ctx.starts()
    fps = ctx.sp.format.fps
    shots = [(s.id, round(starts[s.id] * fps), ctx.frames(s), s.transition) for s in ctx.shots]
    from director.stages.music import music_cues

    voices = {p.ref: round(p.start * fps) for p in ctx.placements()}
    music = sorted(round(c.start * fps) for c in music_cues(ctx))
    return {"shots": shots, "total": ctx.total_frames(), "voices": voices, "music": music, "fps": fps,
            "music_gain_db": ctx.entry("mix", "episode").meta["music_gain_db"]}


def _read(path: Path, fmt: str, fps: float):
    adapter, _ = READERS[fmt]
    extra = {"rate": fps} if fmt == "edl" else {}
    timeline = otio.adapters.read_from_file(str(path), adapter_name=adapter, **extra)
    return timeline[0] if isinstance(timeline, otio.schema.SerializableCollection) else timeline


def test_export_never_renders_and_says_what_to_run(tmp_path):
    project = make_project(tmp_path)
    out = director("-p", str(project), "export", "--format", "otio")
    # the command as pasted where the user is: with their -p (it said `director render -e screenplay`, which
    # there answered "not a director project")
    assert out.returncode == 1 and f"`director -p {project} render -e screenplay` first" in out.stderr, out.stderr
    here = director("export", "--format", "otio", cwd=project)
    assert "`director render -e screenplay` first" in here.stderr, here.stderr
    assert "Traceback" not in out.stderr and not (project / "out" / "screenplay" / "media").exists()


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_each_format_reads_back_frame_exact(rendered, fmt):
    done = json.loads(director("-p", str(rendered), "--json", "export", "--format", fmt, check=True).stdout)
    path = Path(done["exports"][0]["path"])
    timing = _timing(rendered)
    timeline = _read(path, fmt, timing["fps"])
    episode = probe(rendered / "out" / "screenplay" / "episode.mp4")["video"]["frames"]
    assert timeline.duration().to_frames() == timing["total"] == episode  # ±0 frames
    video = timeline.video_tracks()[0]
    clips = [(i, c) for i, c in enumerate(video) if isinstance(c, otio.schema.Clip)]
    dissolves = [t for t in video if isinstance(t, otio.schema.Transition)]
    text = path.read_text()
    fades = _fades(timing)
    assert fades, "the short screenplay has a fade"
    for n, (shot, start, frames, transition) in enumerate(timing["shots"]):
        media = f"media/shots/{n + 1:02d}-{shot}.mp4"
        assert (rendered / "out" / "screenplay" / media).exists()
        if fmt == "edl":  # the reader is lossy around dissolves (it names the black by the clip before it)
            continue
        i, clip = clips[n]
        record = video.range_of_child_at_index(i)
        handle = 6 if transition == "dissolve" and n > 0 else 0  # half of the 0.5 s dissolve at 24 fps
        # the XML formats give file URLs the NLEs resolve (a bare relative path was offline in Premiere/Resolve)
        want = media if fmt == "otio" else (rendered / "out" / "screenplay" / media).resolve().as_uri()
        assert clip.media_reference.target_url == want, (fmt, clip.name)
        assert (record.start_time.to_frames(), record.duration.to_frames()) == (start, frames), (fmt, shot)
        assert clip.source_range.start_time.to_frames() == handle
        assert clip.source_range.duration.to_frames() == frames
    if fmt == "edl":  # every record frame plays the episode's clip frame, mixed as the episode mixes it
        plays = _edl_frames(text)
        for n, (shot, start, frames, transition) in enumerate(timing["shots"]):
            handle = 6 if transition == "dissolve" and n > 0 else 0
            fade_in, fade_out = fades.get(n, (0, 0))
            for k in range(frames):
                mix = plays[start + k]
                weight = mix.get((f"media/shots/{n + 1:02d}-{shot}.mp4", handle + k))
                assert weight is not None, (shot, k, mix)
                if k < fade_in:  # rising out of black
                    assert set(mix) == {(f"media/shots/{n + 1:02d}-{shot}.mp4", handle + k), ("BL", 0)}
                    assert weight == pytest.approx(k / fade_in), (shot, k)
                elif k >= frames - fade_out:  # falling into black
                    assert ("BL", 0) in mix and weight == pytest.approx(1 - (k - frames + fade_out) / fade_out)
                elif not (transition == "dissolve" and n and k < 6) and not (
                        n + 1 < len(timing["shots"]) and timing["shots"][n + 1][3] == "dissolve" and k >= frames - 6):
                    assert mix == {(f"media/shots/{n + 1:02d}-{shot}.mp4", handle + k): 1.0}, (shot, k, mix)
        assert len(plays) == timing["total"]
    if fmt != "edl":  # no sound clip claims media past its file's end, nor plays past the episode's
        import soundfile

        for track in timeline.audio_tracks():
            for i, clip in enumerate(track):
                if not isinstance(clip, otio.schema.Clip):
                    continue
                url = clip.media_reference.target_url
                file = Path(url.removeprefix("file://")) if "://" in url else path.parent / url
                from urllib.parse import unquote
                seconds = soundfile.info(unquote(str(file))).duration
                end = clip.source_range.end_time_exclusive().to_seconds()
                assert end <= seconds + 1e-6, (fmt, clip.name, end, seconds)
                assert track.range_of_child_at_index(i).end_time_exclusive().to_frames() <= timing["total"]
    if fmt in ("fcp7", "fcpxml"):  # the sound's gains (each music cue's, as the mix set it) as each NLE reads them
        for gain in timing["music_gain_db"]:
            assert (f'<value>{10 ** (gain / 20):.5f}' if fmt == "fcp7" else f'adjust-volume amount="{gain:.2f}dB"') \
                in text, (gain, fmt)
    if fmt in ("fcp7", "fcpxml"):  # a fade is the clip's own opacity, keyframed in its media frames
        def handle(n: int) -> int:
            return 6 if n and timing["shots"][n][3] == "dissolve" else 0

        assert _opacity_keys(path, fmt) == {
            n: [(handle(n) + k, v) for k, v in ([(0, 0.0), (f_in, 1.0)] if f_in else []) + (
                [(timing["shots"][n][2] - f_out, 1.0), (timing["shots"][n][2], 0.0)] if f_out else [])]
            for n, (f_in, f_out) in fades.items()}
    if fmt == "fcpxml":  # the adapter's reader ignores transitions: read the spine's <transition> ourselves
        import xml.etree.ElementTree as ET
        from fractions import Fraction
        spine = ET.parse(path).getroot().find(".//spine")
        found = [(Fraction(e.get("offset")[:-1]) * 24, Fraction(e.get("duration")[:-1]) * 24)
                 for e in spine if e.tag == "transition"]
        cuts = [start for n, (_, start, _, tr) in enumerate(timing["shots"]) if n and tr == "dissolve"]
        assert found == [(c - 6, 12) for c in cuts], found
        assert any(e.get("uid", "").startswith("FxPlug:") for e in ET.parse(path).getroot().find("resources"))
    if fmt in ("otio", "fcp7", "edl"):
        assert len(dissolves) >= 1  # a 12-frame dissolve (an EDL puts all of it after the event's start)
        d = dissolves[0]
        assert d.in_offset.to_frames() + d.out_offset.to_frames() == 12
        assert fmt == "edl" or d.in_offset.to_frames() == 6
    if fmt != "edl":  # an EDL is one picture track; sound is in the other formats
        starts = {}
        for track in timeline.audio_tracks():
            for i, c in enumerate(track):
                if isinstance(c, otio.schema.Clip) and "/dialogue/" in c.media_reference.target_url:
                    starts[c.name] = track.range_of_child_at_index(i).start_time.to_frames()
        assert starts == timing["voices"], fmt
        music = sorted(track.range_of_child_at_index(i).start_time.to_frames() for track in timeline.audio_tracks()
                       for i, c in enumerate(track)
                       if isinstance(c, otio.schema.Clip) and "/music/" in c.media_reference.target_url)
        assert music == timing["music"] and len(music) >= 2, fmt  # cues that cross-fade sit on two lanes, unmoved


def _fades(timing: dict) -> dict[int, tuple[int, int]]:
    """Shot index -> (fade-in, fade-out) frames, as the assembly draws them: 0.4 s, at most a third of a shot."""
    fps, shots, out = timing["fps"], timing["shots"], {}
    for n, (_, _, frames, transition) in enumerate(shots):
        if transition != "fade":
            continue
        d_in = round(min(0.4, frames / fps / 3) * fps)
        out[n] = (d_in, out.get(n, (0, 0))[1])
        if n:
            d_out = round(min(0.4, shots[n - 1][2] / fps / 3, frames / fps / 3) * fps)
            out[n - 1] = (out.get(n - 1, (0, 0))[0], d_out)
    return out


def _edl_frames(text: str, fps: int = 24) -> dict[int, dict[tuple[str, int], float]]:
    """Read a CMX 3600 list the way an online editor plays it: record frame -> {(media, frame): weight}. A ``D``
    event dissolves from the previous event's source (continuing past its out point) into its own; ``BL`` is
    black."""
    def frames(tc: str) -> int:
        h, m, s_, f = map(int, tc.split(":"))
        return ((h * 60 + m) * 60 + s_) * fps + f

    events, plays = [], {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit() and len(parts) >= 8:
            kind = parts[3]
            duration = int(parts[4]) if kind == "D" else 0
            src_in, _, rec_in, rec_out = map(frames, parts[-4:])
            events.append({"reel": parts[1], "kind": kind, "dur": duration, "src": src_in, "rec": (rec_in, rec_out),
                           "media": "BL" if parts[1] == "BL" else None})
        elif line.startswith(("* FROM CLIP:", "* TO CLIP:")) and events:
            media = line.split(":", 1)[1].strip()
            target = events[-1] if line.startswith("* TO") or events[-1]["kind"] == "C" else events[-2]
            if target["media"] is None:
                target["media"] = media
            if line.startswith("* FROM") and len(events) >= 2 and events[-1]["kind"] == "D" and events[-2]["media"] is None:
                events[-2]["media"] = media
    previous = None
    for e in events:
        (r0, r1), media = e["rec"], e["media"]
        for r in range(r0, r1):
            k = r - r0
            if e["kind"] == "D" and k < e["dur"] and previous is not None:
                p = k / e["dur"]
                src = 0 if previous["media"] == "BL" else previous["src"] + (previous["rec"][1] - previous["rec"][0]) + k
                plays[r] = {(previous["media"], src): 1 - p, (media, 0 if media == "BL" else e["src"] + k): p}
            else:
                plays[r] = {(media, 0 if media == "BL" else e["src"] + k): 1.0}
        previous = e
    return plays


def _opacity_keys(path: Path, fmt: str) -> dict[int, list[tuple[int, float]]]:
    """Shot index -> (frame of the clip's media, opacity 0..1) keyframes in an FCP 7 / FCP X file (FCP 7 counts
    keyframes in media frames; FCP X in the clip's local time, which is its media's time)."""
    import xml.etree.ElementTree as ET
    from fractions import Fraction

    root = ET.parse(path).getroot()
    out = {}
    if fmt == "fcp7":
        items = [e for e in root.find(".//sequence/media/video/track") if e.tag == "clipitem"]
        for n, item in enumerate(items):
            keys = item.findall("./filter/effect/parameter/keyframe")
            if keys:
                out[n] = [(int(k.find("when").text), float(k.find("value").text) / 100) for k in keys]
    else:
        clips = [e for e in root.find(".//spine") if e.tag == "clip"]
        for n, clip in enumerate(clips):
            keys = clip.findall("./adjust-blend/param/keyframeAnimation/keyframe")
            if keys:
                out[n] = [(int(Fraction(k.get("time")[:-1]) * 24), float(k.get("value"))) for k in keys]
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo project (``make demo``'s screenplay) rendered small."""
    project = make_project(tmp_path_factory.mktemp("demo"), ROOT / "projects/demo", size=(108, 192))
    director("-p", str(project), "render", check=True)
    return project


@pytest.mark.parametrize("which", ["demo", "short"])
def test_the_otio_timeline_rerendered_from_the_media_alone_matches_the_episode(which, request, tmp_path):
    """ffmpeg builds the picture from the exported clips (source ranges, subtitles burned from the exported ASS);
    the sound is summed from the exported WAVs with the gains, ducking and master gain the timeline records."""
    from director.media.ffmpeg import run_ffmpeg
    from director.media.fonts import font_path

    rendered = request.getfixturevalue("demo" if which == "demo" else "rendered")
    director("-p", str(rendered), "export", "--format", "otio", check=True)
    folder = rendered / "out" / "screenplay"
    timeline = otio.adapters.read_from_file(str(folder / "screenplay.otio"))
    fps = timeline.metadata["director"]["fps"]
    video = timeline.video_tracks()[0]
    args, parts, mids = [], [], []
    for i, clip in enumerate(c for c in video if isinstance(c, otio.schema.Clip)):
        rng = clip.source_range
        args += ["-i", str(folder / clip.media_reference.target_url)]
        a, n = rng.start_time.to_frames(), rng.duration.to_frames()
        parts.append(f"[{i}:v]trim=start_frame={a}:end_frame={a + n},setpts=PTS-STARTPTS[v{i}]")
    count = len(parts)
    record = [video.range_of_child_at_index(i) for i, c in enumerate(video) if isinstance(c, otio.schema.Clip)]
    mids = [(r.start_time.to_frames() + r.duration.to_frames() / 2) / fps for r in record]
    (tmp_path / "subs.ass").write_bytes((folder / "media" / "subtitles" / "episode.ass").read_bytes())
    graph = ";".join(parts) + ";" + "".join(f"[v{i}]" for i in range(count)) + \
        f"concat=n={count}:v=1:a=0[c];[c]subtitles=filename=subs.ass:fontsdir={font_path().parent}[out]"
    out = tmp_path / "rerender.mp4"
    run_ffmpeg(args + ["-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-crf", "12", "-r", f"{fps:g}",
                       str(out)], "re-rendering the export", cwd=tmp_path)
    episode = folder / "episode.mp4"
    assert probe(out)["video"]["frames"] == probe(episode)["video"]["frames"]
    for t in mids:
        a = np.asarray(video_frame(episode, t), float)
        b = np.asarray(video_frame(out, t), float)
        psnr = 10 * np.log10(255 ** 2 / max(np.mean((a - b) ** 2), 1e-9))
        assert psnr > 30, (t, psnr)
    # sound: every audio clip at its record position with its gain; music ducked where dialogue plays
    import pyloudnorm
    rate = 48000
    total = int(round(timeline.duration().to_seconds() * rate))
    mixed, music_bed, speech = np.zeros((total, 2)), np.zeros((total, 2)), np.zeros(total)
    meta = timeline.metadata["director"]
    for track in timeline.audio_tracks():
        for i, clip in enumerate(track):
            if not isinstance(clip, otio.schema.Clip):
                continue
            start = track.range_of_child_at_index(i).start_time.to_seconds()
            data, sr = read_wav(folder / clip.media_reference.target_url)
            data = resample(data, sr, rate)
            data = np.stack([data, data], axis=1) if data.ndim == 1 else data  # mono plays on both channels
            s0 = int(start * rate)
            n = min(len(data), int(clip.source_range.duration.to_seconds() * rate) + 1, total - s0)
            gain = 10 ** (clip.metadata["director"]["gain_db"] / 20)
            data = data[:n]
            if "/music/" in clip.media_reference.target_url:  # ducked below, where anyone speaks
                music_bed[s0:s0 + n] += data * gain
                continue
            if "/dialogue/" in clip.media_reference.target_url:
                speech[s0:s0 + n] += data[:, 0]
            mixed[s0:s0 + n] += data * gain
    from director.stages.mix import speech_envelope  # the ducking's shape: 0.5 s hold, 0.15 s ramps
    mixed += music_bed * (10 ** (meta["music_duck_db"] * speech_envelope(speech, rate) / 20))[:, None]
    # the master gain, then a limiter at the recorded ceiling (as an editor would put on the master bus)
    from director.stages.mix import ENCODER_MARGIN_DB, limit
    mixed = limit((mixed * 10 ** (meta["master_gain_db"] / 20)).astype(np.float32), rate,
                  meta["master_limiter_dbtp"] - ENCODER_MARGIN_DB - 0.1)
    ours = pyloudnorm.Meter(rate).integrated_loudness(mixed)
    theirs_audio, theirs_rate = decode_audio(episode)
    theirs = pyloudnorm.Meter(theirs_rate).integrated_loudness(theirs_audio)
    assert abs(ours - theirs) < 0.5, (ours, theirs)


DRAFT_SCHEMA = {
    "type": "object",
    "required": ["id", "fps", "duration", "canvas_config", "materials", "tracks", "version"],
    "properties": {
        "fps": {"type": "number"}, "duration": {"type": "integer", "minimum": 1},
        "canvas_config": {"type": "object", "required": ["width", "height", "ratio"]},
        "materials": {"type": "object", "required": ["videos", "audios", "texts", "speeds"], "properties": {
            "videos": {"type": "array", "items": {"type": "object", "required": [
                "id", "material_id", "path", "duration", "width", "height", "type"]}},
            "audios": {"type": "array", "items": {"type": "object", "required": [
                "id", "path", "duration", "type", "name"]}},
            "texts": {"type": "array", "items": {"type": "object", "required": ["id", "content", "type"]}}}},
        "tracks": {"type": "array", "items": {"type": "object", "required": ["id", "type", "segments"], "properties": {
            "type": {"enum": ["video", "audio", "text"]},
            "segments": {"type": "array", "items": {"type": "object", "required": [
                "id", "material_id", "target_timerange", "speed", "volume", "extra_material_refs", "render_index"],
                "properties": {"target_timerange": {"type": "object", "required": ["start", "duration"],
                                                    "properties": {"start": {"type": "integer", "minimum": 0},
                                                                   "duration": {"type": "integer", "minimum": 1}}}}}}}}},
    },
}


@pytest.mark.parametrize("flavour", ["jianying", "capcut"])
def test_the_draft_folder_validates_and_reads_back_to_the_frame(rendered, flavour):
    import jsonschema

    from director.runtime.jianying import read_draft

    done = json.loads(director("-p", str(rendered), "--json", "export", "--format", flavour, check=True).stdout)
    folder = Path(done["exports"][0]["path"])
    # without -o each flavour has its own folder: a CapCut export no longer replaces the Jianying draft
    assert folder.parent == rendered / "out" / "screenplay" / flavour
    draft = json.loads((folder / "draft_content.json").read_text(encoding="utf-8"))
    jsonschema.validate(draft, DRAFT_SCHEMA)
    assert (folder / "draft_info.json").read_text(encoding="utf-8") == (folder / "draft_content.json").read_text(
        encoding="utf-8")
    meta = json.loads((folder / "draft_meta_info.json").read_text(encoding="utf-8"))
    assert meta["draft_fold_path"] == str(folder.resolve()) and meta["tm_duration"] == draft["duration"]
    assert draft["platform"]["app_source"] == ("cc" if flavour == "capcut" else "lv")
    timing = _timing(rendered)
    back = read_draft(folder)
    assert back["frames"] == timing["total"]
    video = next(t for t in back["tracks"] if t["type"] == "video")
    for (shot, start, frames, _), item in zip(timing["shots"], video["items"]):
        assert (item["start"], item["frames"]) == (start, frames)
        assert Path(item["path"]).is_file() and str(folder.resolve()) in item["path"]  # media inside the draft
    outs = {n: item.get("transition_out") for n, item in enumerate(video["items"])}
    for n, (_, _, _, transition) in enumerate(timing["shots"]):
        if n and transition in ("dissolve", "fade"):  # on the outgoing segment, as Jianying keeps them
            want = "叠化" if transition == "dissolve" else "闪黑"
            assert outs[n - 1] and outs[n - 1]["name"] == want, outs
            assert transition != "dissolve" or outs[n - 1]["frames"] == 12
    texts = [i for t in back["tracks"] if t["type"] == "text" and t["name"].startswith("subtitles")
             for i in t["items"]]
    import pysubs2
    burned = rendered / "out" / "screenplay" / "episode.ass"  # what the episode burns (its cards: other styles)
    srt = [e for e in pysubs2.load(str(burned), encoding="utf-8") if e.style == "Default"]
    # one segment per cue as burned, with its line breaks, at the cue's frames (the editor restyles nothing)
    assert sorted((t["start"], t["text"]) for t in texts) == sorted(
        (round(e.start / 1000 * 24), e.plaintext) for e in srt if e.plaintext.strip()), (texts, srt)
    styles = [json.loads(m["content"])["styles"][0] for m in draft["materials"]["texts"] if m["type"] == "subtitle"]
    assert styles and all(st["bold"] and st["strokes"] and st["strokes"][0]["width"] > 0 for st in styles)
    assert meta["tm_draft_create"] > 10 ** 15  # microseconds, as the apps write them
    # the keys a 5.9 draft of the app's own carries (pyJianYingDraft's template), none left out
    assert {"color_space", "last_modified_platform", "relationships", "time_marks", "keyframe_graph_list"} <= set(draft)
    assert {"canvases", "sound_channel_mappings", "material_animations", "audio_fades"} <= set(draft["materials"])
    assert draft["config"]["subtitle_sync"] is True and draft["config"]["system_font_list"] == []
    voices = sorted(i["start"] for t in back["tracks"] if t["type"] == "audio" and t["name"].startswith("dialogue")
                    for i in t["items"])
    assert voices == sorted(timing["voices"].values())
    music = sorted(i["start"] for t in back["tracks"] if t["type"] == "audio" and t["name"].startswith("music")
                   for i in t["items"])
    assert music == timing["music"]


def test_a_draft_is_replaced_only_when_this_project_wrote_it_and_the_app_left_it_alone(rendered, tmp_path):
    """Every show once exported to the same draft name (``director-<episode>``), and an export replaced whatever
    folder had it: another show's draft, or this one's with an editor's work in it."""
    drafts = tmp_path / "JianyingPro Drafts"
    export = ("-p", str(rendered), "--json", "export", "-f", "jianying", "-o", str(drafts))
    folder = Path(json.loads(director(*export, check=True).stdout)["exports"][0]["path"])
    title = yaml.safe_load((rendered / "screenplay.yaml").read_text(encoding="utf-8"))["title"]
    assert folder.name == draft_name(title, "screenplay")
    director(*export, check=True)  # unchanged since: exported again in place
    content = folder / "draft_content.json"
    edited = content.read_text(encoding="utf-8").replace('"speed": 1.0', '"speed": 2.0', 1)
    content.write_text(edited, encoding="utf-8")  # what the app does when the editor works on it
    refused = director(*export)
    assert refused.returncode == 2 and "changed after director exported it" in refused.stderr, refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert content.read_text(encoding="utf-8") == edited  # the editor's work is still there
    other = make_project(tmp_path / "other", size=(108, 192))  # another show with the same title and episode
    director("-p", str(other), "render", check=True)
    theirs = director("-p", str(other), "export", "-f", "jianying", "-o", str(drafts))
    assert theirs.returncode == 2 and "was not exported from this project" in theirs.stderr, theirs.stderr
    assert content.read_text(encoding="utf-8") == edited
    director("-p", str(rendered), "export", "-f", "jianying", "-o", str(drafts), "--force", check=True)
    assert content.read_text(encoding="utf-8") != edited
    director(*export, check=True)  # written by this project again: replaced freely
    assert sorted(p.name for p in drafts.iterdir()) == sorted([folder.name, f"{folder.name}.director.json"])


KILLED_MID_SWAP = """
import os, sys
from director.runtime import jianying
real = jianying._remove
def killed(path):
    if path.name.endswith(".old"):
        os._exit(9)  # kill -9 between the draft's swap and the old one's removal
    real(path)
jianying._remove = killed
from director.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def test_a_draft_export_killed_mid_swap_is_exported_again_without_force(rendered, tmp_path):
    """The chaos audit: killed between the two renames, the next export said the draft "changed after director
    exported it" (exit 2, --force needed) and a hidden copy of the old draft stayed beside it for ever."""
    import sys

    drafts = tmp_path / "drafts"
    args = ["-p", str(rendered), "export", "-f", "jianying", "-o", str(drafts)]
    director(*args, check=True)
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_SWAP, *args], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    assert [p for p in drafts.iterdir() if p.name.endswith(".old")]
    again = director(*args)
    assert again.returncode == 0, again.stderr
    assert not [p for p in drafts.iterdir() if p.name.startswith(".")], list(drafts.iterdir())


def test_the_editors_media_is_encoded_once_and_kept_with_its_clip(tmp_path):
    """Every export encoded every shot again (CRF 12, preset medium: 65 s for a 16-shot episode, 40 s with nothing
    changed). The encoded shots are cache entries of their own, kept by `clean` while their clip is in use."""
    project = _render(tmp_path)
    first = director("-p", str(project), "export", "-f", "jianying", check=True)
    made = sorted((project / ".director/cache/exports").glob("*/*/editor.mp4"))
    assert made and first.stderr.count("for the editor") == len(made)
    stamps = [p.stat().st_mtime_ns for p in made]
    again = director("-p", str(project), "export", "-f", "otio", check=True)  # another editor, the same clips
    assert "for the editor" not in again.stderr
    assert [p.stat().st_mtime_ns for p in sorted((project / ".director/cache/exports").glob("*/*/editor.mp4"))] == stamps
    shots = sorted((project / "out/screenplay/media/shots").glob("*.mp4"))
    assert len(shots) >= len(made) and all(p.stat().st_size for p in shots)
    director("-p", str(project), "clean", check=True)
    assert sorted((project / ".director/cache/exports").glob("*/*/editor.mp4")) == made
    director("-p", str(project), "clean", "--everything", check=True)
    assert not list((project / ".director/cache/exports").glob("*/*/editor.mp4"))


def test_frame_exact_at_23_976_and_names_never_escape_the_export(tmp_path):
    """23.976 fps (24 and the other formats above; 25 and 30 are integer rates like 24), an sfx name that is a
    path (free text becomes a file name), and a draft exported straight into the app's drafts folder."""
    project = make_project(tmp_path, size=(72, 128))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["format"]["fps"] = 23.976
    cue = next(b for sc in data["scenes"] for b in sc["beats"] if "sfx" in b)
    cue["sfx"] = "glass/../../../../../../evil"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    for fmt in READERS:  # the FCP X writer had no frame duration for 24000/1001 and refused the timeline
        director("-p", str(project), "export", "--format", fmt, check=True)
    fcpx = (project / "out" / "screenplay" / "screenplay.fcpxml").read_text(encoding="utf-8")
    assert 'frameDuration="1001/24000s"' in fcpx and 'width="72"' in fcpx and 'height="128"' in fcpx
    assert "<ntsc>TRUE</ntsc>" in (project / "out" / "screenplay" / "screenplay.xml").read_text(encoding="utf-8")
    timing = _timing(project)
    timeline = _read(project / "out" / "screenplay" / "screenplay.otio", "otio", 23.976)
    assert abs(timeline.tracks[0][0].source_range.duration.rate - 24000 / 1001) < 1e-9
    video = timeline.video_tracks()[0]
    records = [video.range_of_child_at_index(i) for i, c in enumerate(video) if isinstance(c, otio.schema.Clip)]
    assert [(r.start_time.to_frames(), r.duration.to_frames()) for r in records] == \
        [(s, n) for _, s, n, _ in timing["shots"]]
    assert timeline.duration().to_frames() == probe(project / "out" / "screenplay" / "episode.mp4")["video"]["frames"]
    drafts = tmp_path / "JianyingPro Drafts"
    done = json.loads(director("-p", str(project), "--json", "export", "-f", "jianying", "-o", str(drafts),
                               check=True).stdout)
    folder = Path(done["exports"][0]["path"])
    title = yaml.safe_load((project / "screenplay.yaml").read_text(encoding="utf-8"))["title"]
    assert folder.parent == drafts and folder.name == draft_name(title, "screenplay") != "director-screenplay"
    meta = json.loads((folder / "draft_meta_info.json").read_text(encoding="utf-8"))
    assert meta["draft_root_path"] == str(drafts.resolve())
    outside = list(tmp_path.rglob("evil*"))
    assert all(drafts in p.parents or project / "out" in p.parents for p in outside), outside
    assert not (tmp_path / "evil.wav").exists()
    bad = director("-p", str(project), "export", "-f", "otio", "-o", str(project / "screenplay.yaml"))
    assert bad.returncode == 2 and "--out" in bad.stderr and "Traceback" not in bad.stderr


def test_a_series_exports_with_all(tmp_path):
    project = make_project(tmp_path, DATA / "series", size=None)
    director("-p", str(project), "render", "--all", check=True)
    done = json.loads(director("-p", str(project), "--json", "export", "--all", "--format", "fcp7",
                               check=True).stdout)
    assert [d["episode"] for d in done["exports"]] == ["ep01", "ep02"]
    for d in done["exports"]:
        assert Path(d["path"]).is_file() and re.search(r"<sequence", Path(d["path"]).read_text())
    # a draft is named by the series and the episode: two shows' "Episode 1" drafts collided in one drafts folder
    draft = json.loads(director("-p", str(project), "--json", "export", "-e", "ep01", "--format", "jianying",
                                check=True).stdout)
    assert Path(draft["exports"][0]["path"]).name.startswith("Night_Couriers_Episode_1"), draft


def test_the_drafts_subtitles_are_the_burned_cues_with_their_breaks_and_italics(tmp_path):
    """The draft's text track had one segment per line of dialogue (44 characters for 12 s, its ，。 kept); it
    now carries each cue as the episode burns it: its line breaks, its italics, not the cards."""
    from director.runtime.export import burned_cues
    from director.stages.subtitles import CardCue, SubtitleCue, write_subtitles

    cues = [SubtitleCue(0.0, 1.5, ("顾总 您到底", "想干什么？")), SubtitleCue(1.5, 3.0, ("我已经受够了",)),
            SubtitleCue(3.0, 4.0, ("她不会回来了",), italic=True)]
    write_subtitles(cues, 1080, 1920, 0.045, tmp_path / "e.srt", tmp_path / "e.ass",
                    (CardCue("intro", "顾北辰", "顾氏集团总裁", 0.0, 2.0),), tmp_path / "cards.ass", "zh-CN")
    assert burned_cues(tmp_path / "e.ass") == [(0.0, 1.5, "顾总 您到底\n想干什么？", False),
                                               (1.5, 3.0, "我已经受够了", False), (3.0, 4.0, "她不会回来了", True)]


def test_at_29_97_the_edl_says_drop_frame_as_its_timecodes_do(tmp_path):
    project = make_project(tmp_path, size=(72, 128))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["format"]["fps"] = 29.97
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    for fmt in ("edl", "fcpxml"):
        director("-p", str(project), "export", "--format", fmt, check=True)
    edl = (project / "out" / "screenplay" / "screenplay.edl").read_text(encoding="utf-8")
    drop = ";" in edl.split("FCM:", 1)[1]
    assert ("FCM: DROP FRAME" in edl) == drop and ("FCM: NON-DROP FRAME" in edl) != drop, edl[:300]
    fcpx = (project / "out" / "screenplay" / "screenplay.fcpxml").read_text()
    assert 'frameDuration="1001/30000s"' in fcpx
    # every time on the frame grid: the adapter wrote a sound's offset in frames of 29 a second ("6/29s"), a
    # sound late in a shot landing frames off
    from fractions import Fraction
    times = re.findall(r'(?:offset|duration|start)="([0-9/]+)s"', fcpx)
    assert times and not [t for t in times if (Fraction(t) / Fraction(1001, 30000)).denominator != 1], times
    assert re.search(r'<clip [^>]*offset="[1-9][0-9]*/30000s"[^>]*lane=', fcpx) or "lane=" not in fcpx


def test_overlapping_cues_go_on_further_text_tracks(tmp_path):
    """Segments on one Jianying track never overlap: a cue that would (frame rounding, or a caller's own
    overlapping cues) goes on a second text track."""
    from director.runtime.export import Cut
    from director.runtime.jianying import draft_documents

    cut = Cut("ep", 24.0, 1080, 1920, 96, [], [], {}, [], [(0.0, 2.0, "一", False), (1.0, 3.0, "二", False),
                                                            (2.5, 4.0, "三", True)], {"size": 0.045}, [], {})
    draft, _ = draft_documents(cut, {}, "ep", str(tmp_path), "jianying")
    texts = [t for t in draft["tracks"] if t["type"] == "text"]
    assert [len(t["segments"]) for t in texts] == [2, 1], texts


def test_fcpx_carries_the_markers_the_edl_names_files_by_clip_and_drafts_outline_their_text(rendered, tmp_path):
    """The FCP X file had no markers (scenes, cards, failed checks); the EDL's reels were file names cut to 8
    letters ("0101mp4"); a draft's outlined text lacked the flag that turns its outline on."""
    import xml.etree.ElementTree as ET
    from fractions import Fraction

    for fmt in ("otio", "fcpxml", "edl"):
        director("-p", str(rendered), "export", "--format", fmt, check=True)
    out = rendered / "out" / "screenplay"
    timeline = otio.adapters.read_from_file(str(out / "screenplay.otio"))
    want = sorted((m.marked_range.start_time.to_frames(), m.name) for m in timeline.tracks.markers)
    assert any(name.startswith("scene ") for _, name in want)

    def t(text):
        return Fraction(text[:-1]) if text else Fraction(0)

    root = ET.parse(out / "screenplay.fcpxml").getroot()
    got = []
    for clip in root.find(".//spine").iter("clip"):
        for marker in clip.findall("marker"):
            at = (t(clip.get("offset")) + t(marker.get("start")) - t(clip.get("start"))) * 24
            assert at.denominator == 1, marker.attrib
            got.append((int(at), marker.get("value")))
        kinds = [e.tag for e in clip]
        if "marker" in kinds:  # after the clip's media and connected clips (the DTD's order; no filters here)
            assert set(kinds[kinds.index("marker"):]) == {"marker"}, kinds
    assert sorted(got) == want
    edl = (out / "screenplay.edl").read_text(encoding="utf-8")
    reels = {line.split()[1] for line in edl.splitlines() if line[:3].isdigit()}
    assert reels <= {"AX", "BL"} and "TRUNCATED REEL" not in edl, edl[:400]
    drafts = tmp_path / "drafts"
    director("-p", str(rendered), "export", "-f", "jianying", "-o", str(drafts), check=True)
    draft = json.loads(next(drafts.glob("*/draft_content.json")).read_text(encoding="utf-8"))
    for text in draft["materials"]["texts"]:
        outlined = any(style.get("strokes") for style in json.loads(text["content"])["styles"])
        assert bool(text["check_flag"] & 8) == outlined, text["check_flag"]


def test_a_chinese_title_gives_the_edl_the_episodes_name(tmp_path):
    project = make_project(tmp_path, size=(72, 128))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["title"] = "基准测试"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    director("-p", str(project), "render", check=True)
    director("-p", str(project), "export", "--format", "edl", check=True)
    assert (project / "out/screenplay/screenplay.edl").read_text(encoding="utf-8").startswith("TITLE: screenplay\n")
    data["id"] = "第1集"  # and a Chinese episode id: the title was "(1)"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    director("-p", str(project), "render", check=True)
    director("-p", str(project), "export", "--format", "edl", check=True)
    edl = max((project / "out").rglob("*.edl"), key=lambda f: f.stat().st_mtime_ns)
    assert edl.read_text(encoding="utf-8").startswith("TITLE: EPISODE 1\n"), edl.read_text(encoding="utf-8")[:80]


def test_an_export_after_an_edit_removes_the_media_the_cut_no_longer_uses(tmp_path):
    """The editor's audit: a deleted sound and a renumbered line stayed in media/ beside the new files. Only files an
    export placed go; a file the editor put there stays."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=(72, 128))
    director("-p", str(project), "render", check=True)
    director("-p", str(project), "export", "--format", "otio", check=True)
    media = project / "out/screenplay/media"
    mine = media / "sfx/my-own-take.wav"
    mine.write_bytes(b"RIFF")
    before = {p.relative_to(media) for p in media.rglob("*") if p.is_file()}
    assert any(p.parts[0] == "sfx" and "thunder" in p.name for p in before), before
    path = project / "screenplay.yaml"
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^ *- sfx: thunder\n", "", text, count=1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    director("-p", str(project), "render", check=True)
    proc = director("-p", str(project), "--json", "export", "--format", "fcp7", check=True)
    after = {p.relative_to(media) for p in media.rglob("*") if p.is_file()}
    assert not any("thunder" in p.name for p in after), after
    assert mine.exists()
    listed = {Path(rel).relative_to("media") for rel in json.loads((media / ".director-media.json").read_text())["files"]}
    assert after == listed | {Path("sfx/my-own-take.wav"), Path(".director-media.json")}, after ^ listed
    # said on the terminal, naming the timeline the edit left behind (it was only in export-fcp7.json)
    assert "warning: screenplay:" in proc.stderr and "no longer used" in proc.stderr and "otio" in proc.stderr
    # a shot made longer: its file is placed again with other content under the same name, which the otio and
    # fcp7 timelines exported before still give the old length
    path.write_text(edited.replace("You're late.", "You're late, and the rain is not an excuse tonight."),
                    encoding="utf-8")
    director("-p", str(project), "render", check=True)
    proc = director("-p", str(project), "--json", "export", "--format", "edl", check=True)
    warned = json.loads(proc.stdout)["exports"][0]["warnings"]
    assert len(warned) == 1 and "other content" in warned[0] and "fcp7, otio" in warned[0], warned
    again = director("-p", str(project), "--json", "export", "--format", "edl", check=True)
    assert json.loads(again.stdout)["exports"][0]["warnings"] == []  # nothing changed since: nothing to say


def test_an_export_is_refused_while_a_render_holds_the_project(rendered):
    """The chaos audit: an export took no lock, and a render or clean beside it swept the cache folder its clip was
    being encoded into ("internal error: FileNotFoundError")."""
    from director.store.lock import ProjectLock

    with ProjectLock(rendered / ".director", "render"):
        proc = director("-p", str(rendered), "export", "--format", "otio", "--wait", "0.5")
    assert proc.returncode != 0 and "locked by another" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr


def test_an_export_waits_for_the_render_holding_the_project(rendered):
    """An export while `render --watch` re-rendered after a save was refused; it waits for that render instead."""
    import subprocess
    import sys
    import time

    from director.store.lock import ProjectLock

    with ProjectLock(rendered / ".director", "render"):
        proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(rendered), "export", "--format", "otio"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        assert proc.poll() is None  # still waiting
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "waiting up to 120 s" in err and "otio" in out, (out, err)


def test_an_export_from_a_read_only_cache_encodes_its_clips_for_itself(tmp_path, monkeypatch):
    """An archived project whose cache is read-only: the clips with handles could not be kept there, so the export
    failed; they are encoded for this export alone."""
    import errno

    from director.project import Project
    from director.runtime.export import export
    from director.store.cache import ArtifactCache

    project = _render(tmp_path)

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(ArtifactCache, "produce", refuse)
    summary = export(Project.find(project), None, "fcp7")
    clips = sorted((Path(summary["media"]) / "shots").glob("*.mp4"))
    assert clips and all(c.stat().st_size > 0 for c in clips)
    assert not list((project / ".director/cache").glob("exports/*/*"))


def test_the_music_fades_as_the_mix_fades_it_in_every_timeline(rendered, tmp_path):
    """The editor's audit: the mix fades music in (0.3 s), cross-fades cues and fades the last out, and every timeline
    played it at a flat level, stopping hard; a draft's source and target ranges were also a microsecond apart."""
    import xml.etree.ElementTree as ET

    out = tmp_path / "x"
    for fmt in ("fcp7", "fcpxml", "jianying"):
        director("-p", str(rendered), "export", "-f", fmt, "-o", str(out), check=True)
    timing = _timing(rendered)
    fps = timing["fps"]
    levels = [[(int(k.findtext("when")), float(k.findtext("value"))) for k in item.iter("keyframe")]
              for item in ET.parse(out / "screenplay/screenplay.xml").getroot().iter("clipitem")
              if any(p.findtext("parameterid") == "level" for p in item.iter("parameter"))
              and list(item.iter("keyframe"))]
    assert len(levels) == 2, levels  # the two cues, each faded in and out
    first, second = levels
    assert first[0][1] == 0 and first[1][0] - first[0][0] == round(0.3 * fps) and first[-1][1] == 0
    assert second[0][1] == 0 and second[-1][1] == 0
    fcpx = (out / "screenplay/screenplay.fcpxml").read_text(encoding="utf-8")
    assert fcpx.count("<fadeIn ") == 2 and fcpx.count("<fadeOut ") == 2, fcpx[:2000]
    draft = json.loads(next(out.glob("*/draft_content.json")).read_text(encoding="utf-8"))
    fades = {f["id"]: f for f in draft["materials"]["audio_fades"]}
    faded = [s for t in draft["tracks"] if t["type"] == "audio" for s in t["segments"]
             if any(r in fades for r in s["extra_material_refs"])]
    assert len(faded) == 2 and all(fades[r]["fade_out_duration"] > 0 for s in faded for r in s["extra_material_refs"]
                                   if r in fades)
    for track in draft["tracks"]:
        for seg in track["segments"]:
            if seg.get("source_timerange"):
                assert seg["source_timerange"]["duration"] == seg["target_timerange"]["duration"], seg["id"]


def test_fcp7_files_say_what_they_hold_and_fcpx_projects_have_a_uid(rendered, tmp_path):
    """The editor's audit: every shot's MP4 declared audio it does not have, no WAV said its channels (Premiere links
    by channel count), and every FCPXML project had uid=""."""
    import soundfile
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote, urlparse

    out = tmp_path / "x"
    for fmt in ("fcp7", "fcpxml"):
        director("-p", str(rendered), "export", "-f", fmt, "-o", str(out), check=True)
    files = list(ET.parse(out / "screenplay/screenplay.xml").getroot().iter("file"))
    described = [f for f in files if f.find("pathurl") is not None]
    assert described
    for file in described:
        path = Path(unquote(urlparse(file.findtext("pathurl")).path))
        media = file.find("media")
        if path.suffix == ".mp4":
            assert media.find("audio") is None and media.find("video") is not None, path
        else:
            info = soundfile.info(str(path))
            assert (int(media.findtext("audio/channelcount")), int(media.findtext("audio/samplecharacteristics/samplerate"))
                    ) == (info.channels, info.samplerate), path
    uid = ET.parse(out / "screenplay/screenplay.fcpxml").getroot().find(".//project").get("uid")
    assert uid and len(uid) == 36, uid


def test_an_opening_fade_a_draft_cannot_carry_is_said_on_the_terminal(tmp_path):
    """The editor's audit: Jianying drops a fade-in before the first segment, and the only word of it was in the
    draft's own JSON, while export-jianying.json listed 闪黑 at shot 1."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=(72, 128))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scenes"][0]["beats"][0]["transition"] = "fade"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    director("-p", str(project), "render", check=True)
    proc = director("-p", str(project), "export", "--format", "jianying", check=True)
    assert "warning: screenplay:" in proc.stderr and "渐显" in proc.stderr, proc.stderr
    proc = director("-p", str(project), "export", "--format", "otio", check=True)
    assert "warning" not in proc.stderr  # the timeline carries it


def test_a_moved_project_exports_its_own_draft_again(tmp_path):
    """The editor's audit: a project moved elsewhere refused to replace the draft in its own out/ ("it came from
    .../night"), though the draft came with it and nobody had touched it. A draft edited in the app still needs
    --force, and so does a copy whose original is still there (not told from another project's draft put there).
    Its media are the same media after the move: an export warns of nothing."""
    project = make_project(tmp_path / "a", ROOT / "projects/demo", size=(72, 128))
    director("-p", str(project), "render", check=True)
    director("-p", str(project), "export", "-f", "jianying", check=True)
    director("-p", str(project), "export", "-f", "otio", check=True)
    director("-p", str(project), "export", "-f", "fcp7", check=True)
    moved = tmp_path / "b" / "demo"
    moved.parent.mkdir()
    shutil.move(project, moved)
    proc = director("-p", str(moved), "--json", "export", "-f", "jianying")
    assert proc.returncode == 0, proc.stderr
    folder = Path(json.loads(proc.stdout)["exports"][0]["path"])
    assert folder.is_relative_to(moved) and str(moved) in (folder / "draft_content.json").read_text(encoding="utf-8")
    proc = director("-p", str(moved), "--json", "export", "-f", "otio", check=True)
    assert json.loads(proc.stdout)["exports"][0]["warnings"] == [], proc.stdout
    copied = tmp_path / "c" / "demo"
    shutil.copytree(moved, copied, symlinks=True)
    refused = director("-p", str(copied), "export", "-f", "jianying")
    assert refused.returncode == 2 and "a copy of that project" in refused.stderr, refused.stderr
    content = folder / "draft_content.json"
    content.write_text(content.read_text(encoding="utf-8").replace('"speed": 1.0', '"speed": 2.0', 1), encoding="utf-8")
    again = tmp_path / "d" / "demo"
    again.parent.mkdir()
    shutil.move(moved, again)
    refused = director("-p", str(again), "export", "-f", "jianying")
    assert refused.returncode == 2 and "changed after director exported it" in refused.stderr, refused.stderr


def test_a_character_named_narrator_keeps_a_track_of_its_own(tmp_path):
    """The editor's audit: a character whose name is "narrator" shared the narrator's dialogue track."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=(72, 128))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    who = next(iter(data["characters"]))
    data["characters"][who]["name"] = "narrator"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    director("-p", str(project), "render", check=True)
    tracks = json.loads(director("-p", str(project), "--json", "export", "-f", "otio", check=True).stdout
                        )["exports"][0]["tracks"]
    assert "dialogue narrator" in tracks and f"dialogue {who}" in tracks, tracks


def test_a_chinese_episodes_timeline_names_its_tracks_and_markers_in_chinese(tmp_path):
    """The Chinese studio's audit: the narrator's track was `dialogue narrator`, the markers `scene s1`."""
    project = make_project(tmp_path, ROOT / "projects/zh-demo", size=(72, 128))
    director("-p", str(project), "render", check=True)
    director("-p", str(project), "export", "--format", "otio", check=True)
    timeline = otio.adapters.read_from_file(str(project / "out/screenplay/screenplay.otio"))
    tracks = [t.name for t in timeline.tracks]
    assert "dialogue 旁白" in tracks and "dialogue narrator" not in tracks, tracks
    markers = [m.name for m in timeline.tracks.markers]
    assert any(m.startswith("场次 ") for m in markers) and not any(m.startswith("scene ") for m in markers), markers


def test_a_drafts_name_says_the_episode_once():
    """The Chinese studio's audit: the draft of 替身新娘_第2集 (episode 第2集) was named 替身新娘_第2集-第2集."""
    from director.runtime.jianying import draft_name

    assert draft_name("替身新娘 第2集", "第2集") == "替身新娘_第2集"
    assert draft_name("雨夜来电", "ep01") == "雨夜来电-ep01" and draft_name("Night", "screenplay") == "Night-screenplay"


def test_a_dialogue_clip_holds_its_whole_line_and_its_file_is_as_long_as_the_clip(rendered):
    """A series creator's audit: each line's clip was its voice rounded down to a frame, cutting the last 5-40 ms of
    speech (an editor rebuilding from the timeline got clipped word endings). The clip now holds the whole line and
    its file has silence after the voice to the clip's end (a clip past its file's end is refused by Jianying)."""
    from director.runtime.render import explain

    done = json.loads(director("-p", str(rendered), "--json", "export", "--format", "otio", check=True).stdout)
    folder = Path(done["exports"][0]["path"]).parent
    timeline = otio.adapters.read_from_file(done["exports"][0]["path"])
    ctx, _, _ = explain(Project.find(rendered))
    fps = ctx.sp.format.fps
    voices = {p.ref: read_wav(p.entry.role("audio")) for p in ctx.placements()}
    checked = 0
    for track in timeline.audio_tracks():
        for clip in (c for c in track if isinstance(c, otio.schema.Clip) and "/dialogue/" in c.media_reference.target_url):
            data, rate = read_wav(folder / clip.media_reference.target_url)
            ref = clip.metadata["director"]["line"]
            voice, voice_rate = voices[ref]
            seconds = clip.source_range.duration.to_frames() / fps
            assert len(voice) / voice_rate <= seconds < len(voice) / voice_rate + 1 / fps  # the whole line, to a frame
            assert len(data) / rate >= seconds - 1e-6  # the file holds the clip
            assert rate == voice_rate and np.array_equal(data[:len(voice)], voice) and not np.any(data[len(voice):])
            checked += 1
    assert checked == len(voices) >= 2


def test_a_sound_file_is_lengthened_with_its_own_formats_silence(tmp_path):
    """pad_wav: PCM (8-bit's zero is 128), float and a fact chunk's count follow; A-law and mu-law, whose silence is
    no zero byte, are copied as they are (a review: their tails decoded to loud noise)."""
    import struct
    import wave

    from director.media.audio import pad_wav, write_wav

    write_wav(tmp_path / "f.wav", np.full(100, 0.5, np.float32), 1000)
    pad_wav(tmp_path / "f.wav", tmp_path / "f2.wav", 0.25)
    data, rate = read_wav(tmp_path / "f2.wav")
    assert rate == 1000 and len(data) == 250 and np.all(data[:100] == 0.5) and not np.any(data[100:])
    for width, zero in ((1, 128), (2, 0)):
        with wave.open(str(tmp_path / f"p{width}.wav"), "wb") as w:
            w.setnchannels(2), w.setsampwidth(width), w.setframerate(1000)
            w.writeframes(bytes([7]) * 10 * 2 * width)
        pad_wav(tmp_path / f"p{width}.wav", tmp_path / f"q{width}.wav", 0.02)
        with wave.open(str(tmp_path / f"q{width}.wav")) as r:
            frames = r.readframes(r.getnframes())
        assert r.getnframes() == 20 and frames[:20 * width] == bytes([7]) * 20 * width
        assert set(frames[20 * width:]) == {zero}
    raw = (tmp_path / "p2.wav").read_bytes()
    alaw = raw[:20] + struct.pack("<H", 6) + raw[22:]  # the format tag: A-law
    (tmp_path / "a.wav").write_bytes(alaw)
    pad_wav(tmp_path / "a.wav", tmp_path / "a2.wav", 1.0)
    assert (tmp_path / "a2.wav").read_bytes() == alaw
