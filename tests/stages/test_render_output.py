"""The finished episode, checked as a user would: probe it, read the SRT, measure loudness, look at a frame."""
from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pyloudnorm
import pysubs2
import pytest

from director.media.ffmpeg import ffmpeg_exe
from director.media.probe import decode_audio, probe, video_frame
from director.media.source import clip_file
from director.stages.mix import true_peak_db

FPS = 24


def _timings(project) -> list[dict]:
    record = json.loads((project / "out/screenplay/run.json").read_text())
    cache = project / ".director/cache/timing"
    keys = {j["id"]: j["key"] for j in record["jobs"] if j["stage"] == "timing"}
    shots = [s["id"] for s in __import__("yaml").safe_load((project / "shots/screenplay.yaml").read_text())["shots"]]
    return [json.loads((cache / keys[s][:2] / keys[s] / "timing.json").read_text()) | {"id": s} for s in shots]


def test_mp4_streams_size_fps_and_length(rendered_full):
    info = probe(rendered_full / "out/screenplay/episode.mp4")
    video, audio = info["video"], info["audio"]
    assert (video["codec"], video["width"], video["height"], video["pix_fmt"]) == ("h264", 1080, 1920, "yuv420p")
    assert abs(video["fps"] - FPS) < 1e-6
    assert audio["codec"] == "aac" and audio["channels"] == 2
    fitted = sum(t["frames"] for t in _timings(rendered_full)) / FPS
    assert abs(video["duration"] - fitted) <= 1 / FPS + 1e-6
    assert abs(audio["duration"] - video["duration"]) <= 1 / FPS
    assert video["frames"] == sum(t["frames"] for t in _timings(rendered_full))


def test_the_picture_says_it_is_bt709_limited_range(rendered_full):
    """Untagged, every ingest and player guessed; the QC audit found all four unspecified."""
    import av

    with av.open(str(rendered_full / "out/screenplay/episode.mp4")) as container:
        frame = next(container.decode(video=0))
    # libavutil's numbering: 1 = BT.709 (matrix, primaries, transfer), 1 = MPEG (limited) range
    assert (frame.colorspace, frame.color_range, frame.color_primaries, frame.color_trc) == (1, 1, 1, 1)


def test_rgb_becomes_yuv_by_the_bt709_matrix(tmp_path):
    """The matrix the tags promise: ffmpeg converted RGB by BT.601's (Y 136 for this orange, 78 for this blue)."""
    from director.media.ffmpeg import FrameWriter

    colours = {(192, 128, 64): 134, (32, 64, 224): 75}  # BT.709, limited range: Y = 16 + 219 (.2126 R + .7152 G + .0722 B)
    for rgb, y in colours.items():
        path = tmp_path / f"{rgb[0]}.mp4"
        writer = FrameWriter(path, 64, 64, FPS, crf=0)
        writer.write(np.full((64, 64, 3), rgb, np.uint8).tobytes())
        writer.close()
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p",
                              "-"], capture_output=True, check=True).stdout
        luma = np.frombuffer(raw[:64 * 64], np.uint8)
        assert abs(int(np.median(luma)) - y) <= 1, (rgb, np.median(luma))


def test_faststart_moov_before_mdat(rendered_full):
    head = (rendered_full / "out/screenplay/episode.mp4").read_bytes()[:200000]
    assert head.find(b"moov") < head.find(b"mdat")


def test_srt_has_one_cue_per_spoken_beat_inside_its_voice(rendered_full):
    subs = pysubs2.load(str(rendered_full / "out/screenplay/episode.srt"))
    assert [e.plaintext.replace("\n", " ") for e in subs] == ["Are you following me?", "Only since Tuesday.",
                                                               "She never asked why."]
    spans, start = [], 0.0
    for t in _timings(rendered_full):
        for v in t["voices"]:
            spans.append((start + v["offset"], start + v["offset"] + v["duration"]))
        start += t["frames"] / FPS
    half = 0.5 / FPS  # a cue starts and ends on the frame nearest its voice's
    for event, (a, b) in zip(subs, spans):
        assert a - half - 0.001 <= event.start / 1000 < event.end / 1000 <= b + half + 0.001
        for ms in (event.start, event.end):  # a frame's start, floored to the millisecond
            assert ms == int(round(ms / 1000 * FPS) / FPS * 1000 + 1e-6), ms


def test_loudness_and_true_peak(rendered_full):
    audio, rate = decode_audio(rendered_full / "out/screenplay/episode.mp4")
    lufs = pyloudnorm.Meter(rate).integrated_loudness(audio)
    assert abs(lufs + 14) <= 0.5, lufs  # EBU R128's tolerance: at 1.0 a room tone added after the master hid
    # a 0.85 LU miss
    assert true_peak_db(audio) <= -1.0
    # an independent meter: ffmpeg's EBU R128 scanner on the same file
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i",
                           str(rendered_full / "out/screenplay/episode.mp4"), "-af", "ebur128=peak=true", "-f", "null",
                           "-"], capture_output=True, text=True)
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+) dBFS", proc.stderr)[-1])
    assert abs(integrated + 14) <= 0.5 and peak <= -1.0


def test_frame_shows_the_subtitle_inside_the_safe_zone(rendered_full, tmp_path):
    subs = pysubs2.load(str(rendered_full / "out/screenplay/episode.srt"))
    cue = subs[1]
    t = (cue.start + cue.end) / 2000
    with_subs = np.asarray(video_frame(rendered_full / "out/screenplay/episode.mp4", t).convert("L"), np.int16)
    # the same moment without subtitles: the shot's own clip from the cache, at the time inside the shot
    start = 0.0
    for timing in _timings(rendered_full):
        length = timing["frames"] / FPS
        if start <= t < start + length:
            record = json.loads((rendered_full / "out/screenplay/run.json").read_text())
            key = next(j["key"] for j in record["jobs"] if j["stage"] == "clips" and j["id"] == timing["id"])
            clip = clip_file(rendered_full / ".director/cache/clips" / key[:2] / key, tmp_path / "clip.mp4")
            plain = np.asarray(video_frame(clip, t - start).convert("L"), np.int16)
            break
        start += length
    diff = np.abs(with_subs - plain) > 60
    rows = np.where(diff.sum(axis=1) > 5)[0]
    assert rows.size, "no subtitle pixels found"
    h = with_subs.shape[0]
    assert rows.min() > 0.10 * h and rows.max() < 0.80 * h, (rows.min() / h, rows.max() / h)
    lines = np.split(rows, np.where(np.diff(rows) > 12)[0] + 1)
    assert 1 <= len(lines) <= 2


def test_storyboard_sheet_and_page(rendered_full):
    from PIL import Image

    out = rendered_full / "out/screenplay"
    sheet = Image.open(out / "storyboard.png")
    assert sheet.width > 400 and sheet.height > 400
    page = (out / "storyboard.html").read_text()
    shots = __import__("yaml").safe_load((rendered_full / "shots/screenplay.yaml").read_text())["shots"]
    for shot in shots:
        assert shot["id"] in page and (out / "panels" / f"{shot['id']}.jpg").exists()
    assert "Only since Tuesday." in page


def test_second_render_reuses_everything(rendered_full):
    from tests.conftest import director

    out = json.loads(director("-p", str(rendered_full), "--json", "render", check=True).stdout)
    assert out["ran"] == 0 and out["reused"] > 20


def test_storyboard_panels_come_from_the_keyframe_where_the_backend_made_no_thumbnail(rendered_full):
    """The preview's panels bring their own 360-px thumbnail; a keyframe without one (the diffusion backends') is
    reduced from its picture instead, to the same panel."""
    import shutil
    from dataclasses import replace

    from PIL import Image

    from director.project import Project
    from director.runtime.render import explain
    from director.runtime.storyboard import write_storyboard

    ctx, _, _ = explain(Project.find(rendered_full))
    keyframes = ctx.results["keyframes"]
    assert all("thumb" in e.meta["files"] for e in keyframes.values())
    scratch = rendered_full / ".storyboard-check"  # the storyboard writes only inside its project
    own = scratch / "own"
    write_storyboard(ctx, own)
    for ident, entry in list(keyframes.items()):
        keyframes[ident] = replace(entry, meta={**entry.meta, "files": {role: name for role, name in
                                                                         entry.meta["files"].items() if role != "thumb"}})
    reduced = scratch / "reduced"
    write_storyboard(ctx, reduced)
    try:
        for ident in keyframes:
            a, b = (np.asarray(Image.open(d / "panels" / f"{ident}.jpg").convert("L"), np.int16)
                    for d in (own, reduced))
            assert a.shape == b.shape == (640, 360) and np.abs(a - b).mean() < 3, ident
        assert (reduced / "storyboard.png").stat().st_size > 0
    finally:
        shutil.rmtree(scratch)


def test_storyboard_cells_are_drawn_again_only_when_what_they_show_changed(rendered_full):
    """A redraw (after an edit) reuses every shot's cell whose panel, caption and lines are unchanged, and the sheet
    is the one a fresh draw makes, pixel for pixel; a cell whose shot changed is drawn again."""
    import json
    import shutil
    import time

    from PIL import Image

    from director.project import Project
    from director.runtime.render import explain
    from director.runtime.storyboard import write_storyboard

    ctx, _, _ = explain(Project.find(rendered_full))
    scratch = rendered_full / ".storyboard-cells"  # the storyboard writes only inside its project
    try:
        write_storyboard(ctx, scratch / "a")
        cells = {p.name: p.stat().st_mtime_ns for p in (scratch / "a/panels").glob(".cell-*.png")}
        assert len(cells) == len(ctx.shots)
        time.sleep(0.01)
        first = ctx.shots[0]
        ctx.shots[0] = first.model_copy(update={"move": "dolly-in" if first.move != "dolly-in" else "static"})  # caption
        write_storyboard(ctx, scratch / "a")
        changed = {p.name for p in (scratch / "a/panels").glob(".cell-*.png") if p.stat().st_mtime_ns != cells[p.name]}
        assert changed == {f".cell-{first.id}.png"}
        write_storyboard(ctx, scratch / "fresh")
        for name in ("a", "fresh"):
            assert json.loads((scratch / name / "panels/index.json").read_text())[f"cell:{first.id}"]
        redrawn, fresh = (np.asarray(Image.open(scratch / d / "storyboard.png")) for d in ("a", "fresh"))
        assert np.array_equal(redrawn, fresh)
        (scratch / f"a/panels/{ctx.shots[1].id}.jpg").unlink()  # the page's panel gone, its cell kept
        write_storyboard(ctx, scratch / "a")
        assert (scratch / f"a/panels/{ctx.shots[1].id}.jpg").exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_the_run_record_says_each_stage_s_job_seconds(rendered_full):
    """What the overhead benchmark and a user reading the record take as the work inside a stage: the sum of its
    ran jobs' seconds (the job graph once left it 0 for every stage)."""
    record = json.loads((rendered_full / "out/screenplay/run.json").read_text())
    ran = [j for j in record["jobs"] if j["status"] == "ran"]
    assert ran, "the fixture's render ran nothing"
    for stage, data in record["stages"].items():
        seconds = sum(j["seconds"] for j in ran if j["stage"] == stage)
        assert abs(data["work_seconds"] - seconds) < 0.002 * (1 + len(ran)), (stage, data, seconds)
    assert sum(d["work_seconds"] for d in record["stages"].values()) > 0


def test_a_parenthetical_is_bracketed_once_on_the_storyboard():
    """Scripts and the importers keep a parenthetical's brackets ("(whispering)"): the sheet said
    "Sarah ((whispering)): Who is this?"."""
    from director.runtime.storyboard import _aside

    assert _aside("(whispering)") == _aside("whispering") == " (whispering)"
    assert _aside("（压低声音）") == " （压低声音）" and _aside("  ") == _aside(None) == ""


def test_a_storyboard_cell_says_every_line_of_its_shot():
    """A series creator's audit: a shot of a V.O. line and a narration showed the first alone under its panel."""
    from director.runtime.storyboard import cell_text

    assert cell_text(["Lin (V.O.): I was nine.", "[music: sad]", "Narrator: She never went back."]) == \
        "Lin (V.O.): I was nine. / Narrator: She never went back."
    assert cell_text(["[sfx: thunder]", "[music: tense]"]) == "[sfx: thunder]" and cell_text([]) == ""


@pytest.mark.parametrize("version", [(9, 0), (7, 0)], ids=["format-filter", "older-ffmpeg-scaler"])
def test_a_graphs_conversion_to_yuv_is_bt709_on_any_ffmpeg(tmp_path, monkeypatch, version):
    """yuv() names the colour space in the format filter (ffmpeg 7.1+), or, for an older ffmpeg (one found on PATH),
    the scaler's matrix; either gives BT.709's Y for an RGB orange (136 by BT.601's)."""
    from director.media import ffmpeg as ff

    monkeypatch.setattr(ff, "ffmpeg_version", lambda: version)
    out = tmp_path / "o.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=0xC08040:s=64x64:d=0.04,format=rgb24",
                    "-vf", f"{ff.yuv()},split[a][b];[a]crop=64:32:0:0[x];[b]crop=64:32:0:32[y];[x][y]vstack",
                    "-frames:v", "1", "-c:v", "libx264", "-qp", "0", *ff.BT709, str(out)], check=True)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                         capture_output=True, check=True).stdout
    assert int(np.median(np.frombuffer(raw[:64 * 64], np.uint8))) == 134


def test_a_clip_made_before_the_bt709_tags_keeps_its_colours_in_a_segment(tmp_path):
    """A GPU clip cached before the tags (untagged, BT.601) is kept (the clips stage's version is unchanged: a GPU
    would make every clip again) and converted by the segment's yuv(): the same colours, within rounding."""
    from director.media import ffmpeg as ff

    old, new = tmp_path / "old.mp4", tmp_path / "new.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=0xC08040:s=64x64:d=0.04,format=rgb24",
                    "-frames:v", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-qp", "0", str(old)], check=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(old), "-vf", ff.yuv(), "-frames:v", "1", "-c:v", "libx264",
                    "-qp", "0", *ff.BT709, str(new)], check=True)
    for path in (old, new):  # decoded as a player does: by each file's own tags (none: BT.601)
        rgb = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        assert np.abs(np.frombuffer(rgb[:3], np.uint8).astype(int) - [192, 128, 64]).max() <= 3, (path, rgb[:3])
