"""Per-shot segments joined by stream copy against one encode of the whole episode: the same frames, the same
subtitles at the same frames, the same transitions, a clean decode; and the slicing rules behind them."""
from __future__ import annotations

import json
import random
import shutil
import subprocess

import numpy as np
import pytest
import yaml

from director.media.ffmpeg import ffmpeg_exe
from director.media.fonts import FONT_FAMILY
from director.media.probe import decode_audio
from director.stages.segments import dissolve_half, frame_ms, spans, subtitle_slice
from tests.conftest import DATA, director, make_project

HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 216
PlayResY: 384

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Sans,20,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def _cs(ms: int) -> str:
    cs = ms // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _shown(ass: str, frames: range, clock) -> dict[str, list[int]]:
    """Which frames each event's text is drawn on, by libass's rule (start <= now < end, in ms)."""
    import pysubs2

    out: dict[str, list[int]] = {}
    for event in pysubs2.SSAFile.from_string(ass).events:
        out[event.text] = [k for k in frames if event.start <= clock(k) < event.end]
    return {text: ks for text, ks in out.items() if ks}


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_a_slice_shows_each_event_on_the_frames_the_episode_shows_it(fps):
    """Random events (many on centiseconds that fall exactly on a frame) and random segments: the slice, drawn
    in the segment's own clock, shows every event on the same frames as the episode's ASS at the episode clock."""
    rng = random.Random(fps)
    events = []
    for i in range(40):
        start = rng.choice([rng.randrange(0, 20000, 10), rng.randrange(0, 80) * 250])  # 250 ms: frame-aligned
        events.append(f"Dialogue: 0,{_cs(start)},{_cs(start + rng.randrange(10, 3000, 10))},Default,,0,0,0,,e{i}")
    ass = HEADER + "\n".join(events) + "\n"
    total = 21 * fps
    for _ in range(30):
        at = rng.randrange(0, total - 10)
        count = rng.randrange(1, min(120, total - at))
        episode = _shown(ass, range(at, at + count), lambda k: frame_ms(k, fps))
        piece = subtitle_slice(ass, at, count, fps)
        local = _shown(piece, range(count), lambda j: frame_ms(j + 1, fps)) if piece else {}
        assert local == {t: [k - at for k in ks] for t, ks in episode.items()}


def test_spans_cover_the_episode_once_with_dissolves_in_segments_of_their_own():
    frames, fps = [48, 30, 60, 40], 24
    half = dissolve_half(fps)
    plan = spans(frames, ["cut", "dissolve", "fade", "dissolve"], fps)
    assert [(s.shot, s.dissolve) for s in plan] == [(0, False), (1, True), (1, False), (2, False), (3, True),
                                                     (3, False)]
    assert sum(s.frames for s in plan) == sum(frames)
    assert [s.at for s in plan] == [0, 48 - half, 48 + half, 78, 138 - half, 138 + half]
    assert all(a.at + a.frames == b.at for a, b in zip(plan, plan[1:]))
    assert spans([48, 2 * half, 48], ["cut", "dissolve", "dissolve"], fps) is None  # nothing of its own left


def _frames(path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def _blocks(a: np.ndarray, b: np.ndarray, size: int = 16) -> float:
    """The largest mean difference over size x size blocks: a subtitle drawn in one and not the other is ~50+."""
    h, w = (a.shape[0] // size) * size, (a.shape[1] // size) * size
    d = np.abs(a - b)[:h, :w].reshape(h // size, size, w // size, size).mean(axis=(1, 3))
    return float(d.max())


def test_segments_joined_by_stream_copy_match_one_encode_of_the_episode(tmp_path):
    """The craft episode (cards, subtitles, V.O., intercut, a flashback's grade) with a dissolve and a fade cut
    in: joined from segments it has the frames of the single-encode reference (the dissolve's and the fade's
    included) and decodes without an error."""
    project = make_project(tmp_path, DATA / "craft")
    director("-p", str(project), "render", check=True)
    path = project / "shots/screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["shots"][2]["transition"], data["shots"][4]["transition"] = "dissolve", "fade"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", check=True)
    single = tmp_path / "single"
    shutil.copytree(project, single)
    with (single / "director.yaml").open("a") as f:
        f.write("encode: {join: single}\n")
    director("-p", str(single), "render", check=True)

    joined, reference = (p / "out/screenplay/episode.mp4" for p in (project, single))
    decode = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(joined), "-f", "null", "-"], capture_output=True,
                            text=True)
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    assert b"rc=cqp mbtree=0 qp=20 " in joined.read_bytes()  # x264's own record of its settings: the preview's quantiser
    a, b = _frames(joined), _frames(reference)
    assert len(a) == len(b) > 200
    worst = max(range(len(a)), key=lambda k: _blocks(a[k], b[k]))
    assert _blocks(a[worst], b[worst]) < 12, worst  # only the encoder's rounding differs
    x, rate = decode_audio(joined)
    y, _ = decode_audio(reference)
    assert abs(len(x) - len(y)) <= rate / 24  # audio and picture within a frame, as in the reference
    import av

    with av.open(str(joined)) as container:  # and the MP4 says they end together (its audio ran up to 21 ms on)
        video, audio = (float(s.duration * s.time_base) for s in (container.streams.video[0],
                                                                  container.streams.audio[0]))
    assert audio == pytest.approx(video, abs=1 / rate), (audio, video)


def test_a_half_scale_preview_is_drawn_and_encoded_at_half_the_frame_size(tmp_path):
    from director.media.probe import probe

    project = make_project(tmp_path)
    with (project / "director.yaml").open("a") as f:
        f.write("preview_scale: 0.5\n")
    director("-p", str(project), "render", check=True)
    video = probe(project / "out/screenplay/episode.mp4")["video"]
    assert (video["width"], video["height"]) == (108, 192)
    status = json.loads(director("-p", str(project), "--json", "status", check=True).stdout)
    assert all(job["status"] == "cached" for job in status["jobs"])  # status reads the same setting


def test_a_segment_costs_what_its_graph_scales_every_frame(tmp_path):
    """The scheduler starts the costliest segments first: a dolly's graph scales two layers on every frame and its
    frames cost three times a still's; a clip file, or a damaged recipe, costs a still's."""
    from director.stages.segments import SEGMENT_START, segment_cost

    class Clip:
        def __init__(self, graph: str | None):
            self.folder = tmp_path / str(len(list(tmp_path.iterdir())))
            self.folder.mkdir()
            if graph is not None:
                (self.folder / "clip.json").write_text(json.dumps(
                    {"format": 1, "graph": graph, "inputs": [], "fps": 24, "frames": 48,
                     "encode": {"crf": 17, "preset": "ultrafast"}}))

        def has(self, role):
            return role == "graph" and (self.folder / "clip.json").exists()

        def file(self, role):
            return self.folder / ("clip.json" if role == "graph" else "clip.mp4")

    zoom = "scale=w='1084+t':h='1924+t':eval=frame"
    dolly = Clip(f"[0:v]{zoom}[a];[1:v]{zoom}[b];[a][b]overlay[out]")
    still = Clip("[0:v]null[out]")
    damaged = Clip("[0:v]movie=/etc/passwd[out]")
    (damaged.folder / "clip.json").write_text("{")
    costs = {name: segment_cost([clip], 100, 1080, 1920) - SEGMENT_START
             for name, clip in (("dolly", dolly), ("still", still), ("file", Clip(None)), ("damaged", damaged))}
    assert costs["dolly"] == pytest.approx(3 * costs["still"]) and costs["file"] == costs["damaged"] == costs["still"]
    assert segment_cost([still, dolly], 100, 1080, 1920) == segment_cost([dolly], 100, 1080, 1920)  # a dissolve
    assert segment_cost([dolly], 100, 540, 960) - SEGMENT_START == pytest.approx(costs["dolly"] / 4)


def test_a_lone_segment_encoded_in_halves_side_by_side_has_the_frames_of_one_encode(tmp_path, monkeypatch):
    """A segment alone on the machine (a seed change's) is drawn and encoded in two halves on two cores, the second
    from the clip's middle frame, and joined by stream copy: every segment so made (losslessly here) gives the
    episode of one encode per segment, frame for frame, subtitles and talking faces included; a clean decode."""
    from director.project import Project
    from director.runtime.render import render
    from director.stages import segments
    from director.store import steps

    project = make_project(tmp_path, DATA / "craft")
    with (project / "director.yaml").open("a") as f:
        f.write("encode: {qp: 0}\n")  # lossless: the halves' frames are the whole encode's, exactly
    director("-p", str(project), "render", check=True)
    whole = project / "whole.mp4"
    shutil.copy(project / "out/screenplay/episode.mp4", whole)
    for stage in ("segments", "assemble"):
        shutil.rmtree(project / ".director/cache" / stage)
    (project / "out/screenplay/episode.mp4").unlink()  # the same keys: out/ would keep the first render's
    split: list[int] = []
    real = segments.run_ffmpeg_side_by_side
    monkeypatch.setattr(segments, "run_ffmpeg_side_by_side", lambda runs, *a, **k: (split.append(len(runs)),
                                                                                    real(runs, *a, **k))[1])
    monkeypatch.setattr(steps, "cores", lambda: 2)  # as if each ran alone
    monkeypatch.setattr(segments, "SPLIT_COST", 0.0)
    render(Project.find(project))
    assert len(split) >= 5 and set(split) == {2}
    halves = project / "out/screenplay/episode.mp4"
    decode = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(halves), "-f", "null", "-"], capture_output=True,
                            text=True)
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    a, b = _frames(halves), _frames(whole)
    assert len(a) == len(b) > 100
    assert [k for k in range(len(a)) if not np.array_equal(a[k], b[k])] == []


def test_a_segment_burns_its_subtitles_with_the_whole_font_where_no_subset_was_made(tmp_path):
    """``fonts.subset_font`` gives None without uharfbuzz (or when its subsetter fails): the slice is still burned,
    with director's whole font."""
    from director.media.fonts import font_path
    from director.media.source import ClipSource, Placed
    from director.project import EncodeConfig
    from director.stages import segments

    class Still(ClipSource):
        skips = True

        def place(self, first, prefix, work, start=0):
            return Placed([], [], f"{first}:v", 1)

    req = segments.SegmentRequest(clip=None, look=segments.Look(48), first=0, last=48, subtitles="[Script Info]\n",
                                  fps=24, width=216, height=384, encode=EncodeConfig(), before=None, before_look=None)
    for fonts, named in ((None, segments.filter_value(str(font_path().parent))), (tmp_path / "fonts", "fonts")):
        args = segments._encode(req, Still(), tmp_path, 0, 48, fonts, 1, tmp_path / "segment.mp4")
        graph = args[args.index("-filter_complex") + 1]  # a subset is named inside ffmpeg's working folder
        assert "subtitles=filename=slice.ass" in graph and f":fontsdir={named}" in graph
    bare = segments.SegmentRequest(**{**req.__dict__, "subtitles": None})
    graph = segments._encode(bare, Still(), tmp_path, 0, 48, None, 1, tmp_path / "segment.mp4")
    assert "subtitles=" not in " ".join(graph)


@pytest.mark.parametrize("name", ["it's", "take [1]", "a;b,c:d", "back\\slash"])
def test_a_fonts_folder_with_filtergraph_characters_draws_the_same_subtitles(tmp_path, name):
    """The fonts folder's path goes into the filtergraph: escaped once only, a folder named ``it's`` lost the font
    (Chinese came out as tofu, silently) and ``take [1]`` failed every subtitled segment."""
    from director.media.fonts import font_path
    from director.stages.segments import burn_filter

    ass = tmp_path / "work" / "slice.ass"
    ass.parent.mkdir()
    ass.write_text("[Script Info]\nScriptType: v4.00+\nPlayResX: 216\nPlayResY: 384\n\n[V4+ Styles]\n"
                   "Format: Name, Fontname, Fontsize, PrimaryColour, Bold, Alignment, MarginV\n"
                   f"Style: Default,{FONT_FAMILY},40,&H00FFFFFF,0,2,40\n\n[Events]\n"
                   "Format: Layer, Start, End, Style, Text\nDialogue: 0,0:00:00.00,0:00:01.00,Default,你好 it's me\n",
                   encoding="utf-8")
    frames = {}
    for folder in (tmp_path / "plain", tmp_path / name):
        folder.mkdir()
        shutil.copy(font_path(), folder / font_path().name)
        proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=216x384:r=24:d=0.5",
                               "-vf", burn_filter("slice.ass", folder), "-frames:v", "1", "-f", "rawvideo",
                               "-pix_fmt", "gray", "-"], cwd=ass.parent, capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()
        frames[folder.name] = np.frombuffer(proc.stdout, np.uint8)
    assert frames["plain"].max() > 200  # the words are drawn...
    assert np.array_equal(frames["plain"], frames[name])  # ...in the same font from either folder


def _encoded(path, frames: int, preset: str, colour: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=96x160:rate=24,hue=H=t*{len(colour)}", "-frames:v", str(frames), "-c:v", "libx264",
                    "-preset", preset, "-qp", "20", "-pix_fmt", "yuv420p", "-video_track_timescale", "24000",
                    str(path)], check=True)


def _packets(path) -> list[str]:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-c", "copy", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


def test_the_preview_segments_read_as_one_stream_join_to_the_concat_demuxers_packets(tmp_path, monkeypatch):
    """media/mp4.annex_b: the preview's segments (x264 ultrafast: no B-frames) joined as one H.264 stream give the
    episode the concat demuxer gives, packet for packet (time stamps, sizes, contents); segments with B-frames are
    not read so (their time stamps are not the frames' numbers) and take the concat demuxer."""
    from director.media.aac import encode_aac
    from director.media.audio import write_wav
    from director.media.mp4 import annex_b, h264_track
    from director.project import EncodeConfig
    from director.stages import assemble

    segments = []
    for i, frames in enumerate((30, 7, 25)):  # lengths no GOP divides
        segments.append(tmp_path / f"s{i}.mp4")
        _encoded(segments[-1], frames, "ultrafast", "x" * (i + 1))
    # a lone segment encoded in halves, joined as segments.py joins them: its second half's key frame carries its
    # parameter sets in the picture (none are put in again)
    (tmp_path / "halves.txt").write_text("ffconcat version 1.0\nfile 's1.mp4'\nfile 's2.mp4'\n")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(tmp_path / "halves.txt"),
                    "-c", "copy", "-video_track_timescale", "24000", str(tmp_path / "s3.mp4")], check=True)
    segments.append(tmp_path / "s3.mp4")
    (tmp_path / "halves.txt").unlink()
    t = np.arange(48000 * 4) / 48000
    write_wav(tmp_path / "mix.wav", np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32) * 0.3, 48000)
    encode_aac(tmp_path / "mix.wav", tmp_path / "mix.m4a", "128k", len(t), 48000, 1)
    enc = EncodeConfig()
    assert annex_b(segments, tmp_path / "probe.h264") == 94
    (tmp_path / "probe.h264").unlink()
    assemble.join_segments(segments, 94, 24.0, tmp_path / "mix.m4a", enc, tmp_path / "stream.mp4")
    monkeypatch.setattr(assemble, "annex_b", lambda *a: None)  # the concat demuxer's join
    assemble.join_segments(segments, 94, 24.0, tmp_path / "mix.m4a", enc, tmp_path / "concat.mp4")
    one, other = _packets(tmp_path / "stream.mp4"), _packets(tmp_path / "concat.mp4")
    assert len([p for p in one if p.startswith("0,")]) == 94 and one == other
    decode = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "stream.mp4"), "-f", "null", "-"],
                            capture_output=True, text=True)
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    assert not list(tmp_path.glob(".*"))  # the stream and the listing are gone

    _encoded(tmp_path / "b.mp4", 30, "veryfast", "b")  # B-frames: composition offsets
    assert h264_track(tmp_path / "b.mp4") is None and annex_b([segments[0], tmp_path / "b.mp4"], tmp_path / "x.h264") is None
    assert not (tmp_path / "x.h264").exists()
    (tmp_path / "torn.mp4").write_bytes(segments[0].read_bytes()[:-200])  # its index cut short
    assert h264_track(tmp_path / "torn.mp4") is None
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(segments[0]), "-c", "copy", "-movflags",
                    "frag_keyframe", str(tmp_path / "frag.mp4")], check=True)  # samples outside the moov's tables
    assert h264_track(tmp_path / "frag.mp4") is None

    def never(*a):
        raise AssertionError("a frame rate the stream cannot number exactly read as one stream")

    monkeypatch.setattr(assemble, "annex_b", never)  # 24000/1001 typed in full: 999.999 ticks a frame at 23976
    assemble.join_segments(segments[:1], 30, 24000 / 1001, tmp_path / "mix.m4a", enc, tmp_path / "ntsc.mp4")


def test_a_stream_ffmpeg_refuses_is_joined_file_by_file(tmp_path, monkeypatch):
    """A file the reader passed but ffmpeg cannot read as one stream is joined by the concat demuxer, not lost."""
    from director.errors import StageFailed
    from director.media.aac import encode_aac
    from director.media.audio import write_wav
    from director.project import EncodeConfig
    from director.stages import assemble

    segment = tmp_path / "s.mp4"
    _encoded(segment, 12, "ultrafast", "x")
    write_wav(tmp_path / "mix.wav", np.zeros((48000, 2), np.float32), 48000)
    encode_aac(tmp_path / "mix.wav", tmp_path / "mix.m4a", "128k", 48000, 48000, 1)
    real, calls = assemble.run_ffmpeg, []

    def refusing(args, *rest, **kw):
        calls.append(args[:2])
        if args[:2] == ["-f", "h264"]:
            raise StageFailed("joining the episode's segments: invalid data")
        return real(args, *rest, **kw)

    monkeypatch.setattr(assemble, "run_ffmpeg", refusing)
    assemble.join_segments([segment], 12, 24.0, tmp_path / "mix.m4a", EncodeConfig(), tmp_path / "e.mp4")
    assert calls == [["-f", "h264"], ["-f", "concat"]]
    assert len([p for p in _packets(tmp_path / "e.mp4") if p.startswith("0,")]) == 12
    assert not list(tmp_path.glob(".*"))
