"""Short-drama craft in one rendered episode (tests/data/craft): a time caption and an intro card burned into the
picture, an intercut phone call staged in two places, a pause, inner monologue, V.O. and a flashback's look --
checked as a viewer would, on frames of the MP4 and in the subtitle files."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pysubs2
import pytest
import yaml

from director.media.probe import video_frame
from director.media.source import clip_file
from director.project import Project
from tests.conftest import DATA, director, make_project


@pytest.fixture(scope="module")
def craft(tmp_path_factory):
    from director.runtime.render import explain

    project = make_project(tmp_path_factory.mktemp("craft"), DATA / "craft", size=None)
    director("-p", str(project), "render", check=True)
    ctx, _, _ = explain(Project.find(project))
    return project, ctx


def _frame(project, seconds: float) -> np.ndarray:
    return np.asarray(video_frame(project / "out/screenplay/episode.mp4", seconds), dtype=np.float32)


def _events(ctx) -> list[tuple[float, float, str, str]]:
    """(start, end, style, text) of every event of the burned ASS."""
    out = []
    for line in ctx.entry("subtitles", "episode").role("ass").read_text(encoding="utf-8").splitlines():
        if line.startswith("Dialogue:"):
            _, start, end, style, _, _, _, _, _, text = line.split(",", 9)

            def sec(t: str) -> float:
                h, m, s = t.split(":")
                return int(h) * 3600 + int(m) * 60 + float(s)
            out.append((sec(start), sec(end), style, text))
    return out


def test_cards_are_in_the_subtitle_files_with_their_own_styles(craft):
    project, ctx = craft
    events = _events(ctx)
    caption = next(e for e in events if e[2] == "Caption")
    intro = next(e for e in events if e[2] == "Intro")
    assert caption[0] == 0 and "2025年冬" in caption[3] and caption[1] - caption[0] == pytest.approx(2.0)
    assert intro[3].startswith("林晚\\N") and intro[3].endswith("实习医生")  # the name above the role
    inner = next(e for e in events if "他到底想干什么" in e[3])
    assert inner[2] == "Default" and "{\\i1}" in inner[3]
    # the SRT holds what is said, its cues one after another (the intro card overlapped a line); the cards have their
    # own SRT, an intro as a viewer reads it
    srt = pysubs2.SSAFile.from_string(ctx.entry("subtitles", "episode").role("srt").read_text(encoding="utf-8"))
    assert not any("2025年冬" in e.text or "实习医生" in e.text for e in srt.events)
    assert all(a.end <= b.start for a, b in zip(srt.events, srt.events[1:])), [(e.start, e.end) for e in srt.events]
    assert any(e.start < intro[1] * 1000 and intro[0] * 1000 < e.end for e in srt.events)  # a line beside the card
    cards = pysubs2.SSAFile.from_string(ctx.entry("subtitles", "episode").role("cards_srt").read_text(encoding="utf-8"))
    assert [e.plaintext for e in cards.events] == ["【2025年冬 · 深夜】", "林晚\n实习医生"]
    published = project / "out" / "screenplay" / "episode.cards.srt"
    assert published.read_text(encoding="utf-8") == ctx.entry("subtitles", "episode").role("cards_srt").read_text(
        encoding="utf-8")


def _yellow(frame: np.ndarray) -> int:
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    return int(((r > 215) & (g > 170) & (b < 120) & (r - b > 110)).sum())


def _white(frame: np.ndarray) -> int:
    return int((frame.min(axis=-1) > 225).sum())


def test_frame_grabs_show_the_cards_while_they_are_up_and_not_after(craft):
    project, ctx = craft
    events = _events(ctx)
    caption = next(e for e in events if e[2] == "Caption")
    intro = next(e for e in events if e[2] == "Intro")
    h = ctx.sp.format.height
    band = slice(round(h * 0.115), round(h * 0.2))  # the caption's box, below the animatic's header
    during, after = _frame(project, caption[0] + 1.0), _frame(project, caption[1] + 0.3)
    assert _white(during[band, : ctx.sp.format.width // 2]) > 5 * max(1, _white(after[band, : ctx.sp.format.width // 2]))
    lower_left = (slice(h // 2, round(h * 0.8)), slice(0, ctx.sp.format.width // 2))
    up = _frame(project, (intro[0] + intro[1]) / 2)
    gone = _frame(project, intro[1] + 0.5)
    assert _yellow(up[lower_left]) > 20 and _yellow(gone[lower_left]) == 0  # the name in the card's yellow


def test_the_intercut_call_shows_each_speaker_in_their_own_place(craft):
    project, ctx = craft
    shots = yaml.safe_load((project / "shots/screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    chen = [s for s in shots if "chen" in s["characters"]]
    lin = [s for s in shots if s["scene"] == "call" and "lin" in s["characters"]]
    assert chen and all(s["location"] == "office" and s["characters"] == ["chen"] for s in chen)
    assert lin and all(s.get("location") in (None, "flat") and "chen" not in s["characters"] for s in lin)
    from director.shots import placed, talking_speakers
    from director.stages.keyframes import frame_request
    by_id = {s.id: s for s in ctx.shots}
    # the caller talks into the phone on screen at their own place: a talking (lip-synced) close shot
    assert talking_speakers(ctx.sp, by_id[chen[0]["id"]]) == ("chen",)
    # a planner that gives no place (the LLM's answer) gets each shot's place from its beats
    scene = ctx.sp.scenes[0]
    bare = [by_id[s["id"]].model_copy(update={"location": None}) for s in shots if s["scene"] == "call"]
    assert [s.location for s in placed(ctx.sp, scene, bare)] == [s.get("location") for s in shots
                                                                   if s["scene"] == "call"]
    assert frame_request(ctx, by_id[chen[0]["id"]]).location_id == "office"  # what the keyframe backend is asked
    assert frame_request(ctx, by_id[lin[0]["id"]]).location_id == "flat"


def test_the_phone_call_is_band_limited_and_the_inner_voice_is_not(craft):
    """The intercut call's phone lines lose what a phone cannot carry (above 3.4 kHz); the inner monologue of
    the same scene keeps its full band (a spectral look at the episode's mix)."""
    from director.media.audio import read_wav

    project, ctx = craft
    mix, rate = read_wav(ctx.entry("mix", "episode").role("audio"))
    mono = mix.mean(axis=1) if mix.ndim > 1 else mix

    def high_share(placement) -> float:
        a, b = int(placement.start * rate), int((placement.start + placement.duration) * rate)
        spectrum = np.abs(np.fft.rfft(mono[a:b])) ** 2
        freqs = np.fft.rfftfreq(b - a, 1 / rate)
        return float(spectrum[freqs > 4000].sum() / spectrum.sum())
    by_text = {ctx.beats[p.ref].text: p for p in ctx.placements()}
    phone, inner = high_share(by_text["码头见。"]), high_share(by_text["他到底想干什么？"])
    assert phone < 0.01 < inner, (phone, inner)


def test_a_pause_beat_holds_silence_before_the_next_line(craft):
    project, ctx = craft
    spans = sorted((p.start, p.start + p.duration, ctx.beats[p.ref].text) for p in ctx.placements())
    before = next(s for s in spans if s[2] == "码头见。")
    after = next(s for s in spans if s[2] == "你是谁？")
    assert after[0] - before[1] >= 1.0 + ctx.config.timing.gap - 0.05


def test_an_overlapping_line_starts_before_the_previous_one_ends(craft):
    from director.stages.timing import fit

    project, ctx = craft
    spans = {ctx.beats[p.ref].text: (p.start, p.start + p.duration) for p in ctx.placements()}
    question, answer = spans["你是谁？"], spans["明天你就知道了。"]
    assert answer[0] == pytest.approx(question[1] - 0.3, abs=1 / 24 + 0.01)  # across the cut: a J-cut
    # never before the line it overlaps starts, and the next line waits for the longer of the two
    frames, offsets = fit([1.0, 0.2, 1.0], 24, 0.05, 0.15, 0.15, 0.8, overlaps=(0.0, 3.0, 0.0))
    assert offsets == [0.05, 0.05, 1.2]


def test_the_flashback_is_desaturated_with_darkened_corners(craft, tmp_path):
    """The episode's frame of the flashback shot against the same frame of its clip before the grade."""
    project, ctx = craft
    memory = next(s for s in ctx.shots if s.scene == "memory")
    local = ctx.frames(memory) / ctx.sp.format.fps / 2
    graded = _frame(project, ctx.starts()[memory.id] + local)
    clip = clip_file(ctx.entry("clips", memory.id).path, tmp_path / "clip.mp4")
    raw = np.asarray(video_frame(clip, local), dtype=np.float32)

    def chroma(frame):
        return float((frame.max(axis=-1) - frame.min(axis=-1)).mean())

    def corners(frame):
        h, w = frame.shape[:2]
        corner = np.mean([frame[:h // 8, :w // 8].mean(), frame[-h // 8:, -w // 8:].mean()])
        return corner / frame[h * 3 // 8: h * 5 // 8, w * 3 // 8: w * 5 // 8].mean()
    assert chroma(graded) < 0.6 * chroma(raw), (chroma(graded), chroma(raw))  # saturation 0.25, then warmed
    assert corners(graded) < 0.85 * corners(raw), (corners(graded), corners(raw))


def test_an_editor_gets_the_flashback_graded_as_the_episode_shows_it(craft, tmp_path):
    """The exported flashback clip was in full colour, and nothing in the draft or timelines said it was one: an
    editor lost the look without knowing."""
    import json

    import opentimelineio as otio

    project, ctx = craft
    memory = next(s for s in ctx.shots if s.scene == "memory")
    other = next(s for s in ctx.shots if s.scene != "memory")
    done = json.loads(director("-p", str(project), "--json", "export", "--format", "otio", "-o", str(tmp_path),
                               check=True).stdout)["exports"][0]
    folder = Path(done["path"]).parent
    exported = {p.stem.split("-", 1)[1]: p for p in (folder / "media" / "shots").glob("*.mp4")}

    def chroma(path, shot):
        frame = np.asarray(video_frame(path, ctx.frames(shot) / ctx.sp.format.fps / 2), dtype=np.float32)
        return float((frame.max(axis=-1) - frame.min(axis=-1)).mean())
    raw = clip_file(ctx.entry("clips", memory.id).path, tmp_path / "clip.mp4")
    assert chroma(exported[memory.id], memory) < 0.6 * chroma(raw, memory)  # graded, as in the episode
    plain = clip_file(ctx.entry("clips", other.id).path, tmp_path / "other.mp4")
    assert chroma(exported[other.id], other) == pytest.approx(chroma(plain, other), rel=0.1)  # the rest as made
    timeline = otio.adapters.read_from_file(done["path"])
    looks = {c.name.split("-", 1)[1]: c.metadata.get("director", c.metadata).get("look")
             for c in timeline.find_clips() if c.name.split("-", 1)[-1] in (memory.id, other.id)}
    assert "flashback" in (looks.get(memory.id) or "") and not looks.get(other.id), looks


def test_card_and_intercut_mistakes_are_named_at_validate(tmp_path):
    project = make_project(tmp_path, DATA / "craft", size=None)
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scenes"][0]["intercut"] = ["flat", "offce"]
    data["scenes"][0]["beats"][2]["card"].pop("who")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = director("-p", str(project), "validate")
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert "scene.intercut 'offce' is not a location (did you mean 'office'?" in out.stderr
    assert "an intro card introduces a character: add who:" in out.stderr
    assert out.stderr.count("screenplay.yaml:") >= 2


def test_long_and_multiline_cards_are_broken_to_fit_the_frame(tmp_path):
    from director.media.fonts import font
    from director.stages.subtitles import CardCue, write_subtitles

    long = "短信：明天晚上八点，老地方见，不要告诉任何人，尤其是你的丈夫。"
    cards = (CardCue("insert", "", long, 0.0, 2.0), CardCue("insert", "", "第一行\n第二行", 2.0, 4.0),
             CardCue("intro", "林晚", "实习医生", 4.0, 6.0))
    write_subtitles([], 216, 384, 0.034, tmp_path / "s.srt", tmp_path / "s.ass", cards)
    events = [ln.split(",", 9)[9] for ln in (tmp_path / "s.ass").read_text(encoding="utf-8").splitlines()
              if ln.startswith("Dialogue:")]
    assert len(events) == 3 and all("\n" not in e for e in events)
    pieces = events[0].split("\\N")
    assert len(pieces) >= 2 and "".join(pieces) == long
    room = 216 * (1 - 2 * 0.15)
    assert all(font(14).getlength(p) <= room for p in pieces)
    assert events[1] == "第一行\\N第二行"
    assert events[2].startswith("林晚\\N{\\fs") and events[2].endswith("实习医生")


def test_a_closing_card_is_held_for_its_whole_length(tmp_path):
    project = make_project(tmp_path, DATA / "craft", size=None)
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scenes"][-1]["beats"].append({"card": {"kind": "title", "text": "未完待续"}})
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    director("-p", str(project), "render", check=True)
    from director.media.probe import probe
    from director.runtime.render import explain

    ctx, _, _ = explain(Project.find(project))
    title = next(e for e in _events(ctx) if e[2] == "Title")
    assert title[1] - title[0] == pytest.approx(2.5, abs=0.01)
    assert probe(project / "out/screenplay/episode.mp4")["video"]["duration"] >= title[1] - 0.05


def test_a_shot_list_planned_before_the_format_grew_is_still_current(tmp_path):
    """A screenplay using none of the new fields keeps the digest an older director wrote: no re-plan on upgrade."""
    from director.screenplay import load_screenplay
    from director.shots import legacy_screenplay_digest, load_shot_list, save_shot_list

    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    shots_path = project / "shots/screenplay.yaml"
    sp = load_screenplay(project / "screenplay.yaml").screenplay
    old = load_shot_list(shots_path, sp)
    edited = [old.shots[0].model_copy(update={"prompt": "my own words"}), *old.shots[1:]]  # an unlocked edit
    save_shot_list(shots_path, old.model_copy(update={"screenplay": legacy_screenplay_digest(sp), "shots": edited}))
    out = director("-p", str(project), "status")
    assert "re-planned" not in out.stdout + out.stderr
    director("-p", str(project), "render", check=True)
    assert load_shot_list(shots_path, sp).shots[0].prompt == "my own words"
    assert legacy_screenplay_digest(load_screenplay(DATA / "craft/screenplay.yaml").screenplay) is None


def test_overlapping_lines_go_on_separate_text_tracks_in_a_jianying_draft(craft):
    """Segments on one Jianying track never overlap (a cue that would goes on a further text track); the draft's
    cues are the episode's burned cues, where a line spoken over another is held after it; the cards are a text
    track of their own, at their times (editable there: the clips carry no burned text)."""
    import json
    from pathlib import Path

    import jsonschema

    from director.runtime.jianying import read_draft
    from tests.runtime.test_export import DRAFT_SCHEMA

    project, ctx = craft
    done = json.loads(director("-p", str(project), "--json", "export", "--format", "jianying", check=True).stdout)
    folder = Path(done["exports"][0]["path"])
    jsonschema.validate(json.loads((folder / "draft_content.json").read_text(encoding="utf-8")), DRAFT_SCHEMA)
    back = read_draft(folder)
    texts = [t for t in back["tracks"] if t["type"] == "text" and t["name"].startswith("subtitles")]
    assert texts
    for track in texts:
        items = sorted(track["items"], key=lambda i: i["start"])
        assert all(a["start"] + a["frames"] <= b["start"] for a, b in zip(items, items[1:]))
    assert sum(len(t["items"]) for t in texts) == len([e for e in _events(ctx) if e[2] == "Default"])
    cards = next(t for t in back["tracks"] if t["name"] == "cards")["items"]
    burned = [e for e in _events(ctx) if e[2] in ("Caption", "Intro")]
    assert [(c["start"], c["text"]) for c in cards] == [
        (round(e[0] * 24), re.sub(r"\\N\{\\fs\d+\\c&HFFFFFF&\}", "\n", e[3])) for e in burned]
    draft = json.loads((folder / "draft_content.json").read_text(encoding="utf-8"))
    meta = json.loads((folder / "draft_meta_info.json").read_text(encoding="utf-8"))
    assert draft["name"] == meta["draft_name"] == folder.name  # a card's text once took the draft's name
    intro = next(json.loads(m["content"]) for m in draft["materials"]["texts"] if "\n" in json.loads(m["content"])["text"])
    name, role = intro["styles"]  # as burned: the name large and yellow on its own line, its role smaller and white
    assert name["range"][1] == intro["text"].index("\n") and role["range"][1] == len(intro["text"])
    assert name["size"] > role["size"] and name["fill"]["content"]["solid"]["color"] != [1.0, 1.0, 1.0]
    otio = json.loads(director("-p", str(project), "--json", "export", "--format", "otio", check=True).stdout)
    timeline = Path(otio["exports"][0]["path"]).read_text(encoding="utf-8")
    assert "人物介绍卡" in timeline and "实习医生" in timeline  # a marker where each card goes (in Chinese: a zh episode)


def test_a_card_gives_way_to_the_next_one(tmp_path):
    """The Chinese studio's audit: an intro card (2.5 s) still up when the title card came showed both at once."""
    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    sp = yaml.safe_load(path.read_text(encoding="utf-8"))
    beats = sp["scenes"][0]["beats"]
    beats[1:1] = [{"card": {"kind": "intro", "who": "ana", "text": "courier"}},
                  {"card": {"kind": "title", "text": "EPISODE ONE"}}]
    path.write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True), encoding="utf-8")
    director("-p", str(project), "render", "--until", "subtitles", check=True)
    cards = pysubs2.load(str(next((project / ".director/cache/subtitles").rglob("cards.srt"))))
    shown = [(e.start, e.end, e.plaintext) for e in cards.events]
    assert [t for *_, t in shown] == ["Ana\ncourier", "EPISODE ONE"], shown
    assert shown[0][1] == shown[1][0] and shown[1][1] > shown[1][0], shown  # one at a time: the title after it


@pytest.mark.parametrize("cards, end, shown", [
    # a card a frame after another is on its moment: after it, not a 0.04 s flash of the first
    ([("intro", 0.0, 3.0), ("caption", 0.04, 3.0)], 20, [(0.0, 3.0), (3.0, 6.0)]),
    # two cards at the episode's last moment: both kept (over each other), none pushed past the end and lost
    ([("caption", 18.0, 3.0), ("insert", 18.0, 3.0)], 20, [(18.0, 20.0), (18.0, 20.0)]),
    # a card still up when the next comes gives way; a card moved later is not the measure of the next one
    ([("title", 0.0, 3.0), ("intro", 0.0, 3.0), ("caption", 2.0, 2.5)], 20, [(0.0, 3.0), (3.0, 6.0), (2.0, 4.5)]),
    ([("title", 0.0, 3.0), ("caption", 1.0, 2.5)], 20, [(0.0, 1.0), (1.0, 3.5)]),
])
def test_cards_placed_one_at_a_time_are_never_lost_flashed_or_pushed_far(cards, end, shown):
    """The diff review of the one-card-at-a-time rule (cards_of)."""
    from types import SimpleNamespace as NS

    from director.stages.subtitles import cards_of

    beats = {f"b{i}": NS(card=NS(kind=k, text=k, seconds=s, who=None)) for i, (k, _, s) in enumerate(cards)}
    ctx = NS(starts=lambda: {"__end__": end}, cue_times=lambda: [(f"b{i}", c[1]) for i, c in enumerate(cards)],
             beats=beats, sp=NS(card_name=lambda c: ""))
    assert [(c.start, c.end) for c in cards_of(ctx)] == shown
