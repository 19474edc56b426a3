"""The rule planner: deterministic, complete coverage, hints honoured, locked shots kept."""
from __future__ import annotations

import json

import yaml

from director.plan.rules import RulePlanner, merge_locked
from director.screenplay import load_screenplay
from director.shots import plan_problems
from tests.conftest import ROOT, director, make_project, planned_with_a_hand_edit


def test_plan_twice_is_byte_identical(tmp_path):
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    first = (project / "shots/screenplay.yaml").read_bytes()
    (project / "shots/screenplay.yaml").unlink()
    director("-p", str(project), "plan", check=True)
    assert (project / "shots/screenplay.yaml").read_bytes() == first


def test_every_beat_covered_exactly_once_in_the_examples():
    for path in ("projects/demo/screenplay.yaml", "projects/zh-demo/screenplay.yaml", "tests/data/short/screenplay.yaml",
                 "templates/vertical-drama/screenplay.yaml", "templates/vertical-drama-zh/screenplay.yaml"):
        sp = load_screenplay(ROOT / path).screenplay
        shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
        assert plan_problems(sp, shots) == []
        covered = [b for s in shots for b in s.beats]
        assert sorted(covered) == sorted(ref for ref, _, _ in sp.beats())


def test_coverage_craft_on_the_demo():
    sp = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay
    shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
    by_beat = {b: s for s in shots for b in s.beats}
    assert by_beat["arrival/1"].size in ("WS", "EWS") and by_beat["arrival/1"].move != "static"
    assert by_beat["arrival/3"].characters[0] == "mia"          # the speaker is framed
    assert by_beat["handoff/3"].angle == "ots"                  # the conversation turns: over the shoulder
    assert by_beat["handoff/5"].size == "CU"                    # the reveal moves in
    assert by_beat["handoff/6"] is by_beat["handoff/5"]         # narration over the current picture
    assert by_beat["handoff/4"] is by_beat["handoff/5"]         # the sfx rides on the next shot


def test_hints_and_transitions_are_honoured(tmp_path):
    sp = load_screenplay(ROOT / "tests/data/short/screenplay.yaml").screenplay
    shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
    by_beat = {b: s for s in shots for b in s.beats}
    assert by_beat["two/1"].transition == "dissolve"
    assert by_beat["two/3"].transition == "fade"


def test_locked_hand_edited_shot_survives_replanning(tmp_path):
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    path = project / "shots/screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    shot = next(s for s in data["shots"] if s["id"] == "handoff-02")
    shot.update(locked=True, size="ECU", move="zoom-in", prompt="My own prompt.", duration=4.2, seed=7)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    # the writer edits the screenplay: a new line before the locked one, and a changed action
    sp_path = project / "screenplay.yaml"
    text = sp_path.read_text().replace('      - line: {who: ren, text: "You\'re late.", emotion: cold}',
                                       '      - line: {who: mia, text: "Delivery.", emotion: breathless}\n'
                                       '      - line: {who: ren, text: "You\'re late.", emotion: cold}')
    sp_path.write_text(text)
    director("-p", str(project), "plan", check=True)
    after = yaml.safe_load(path.read_text())["shots"]
    kept = [s for s in after if s["id"] == "handoff-02"]
    assert len(kept) == 1
    assert kept[0]["size"] == "ECU" and kept[0]["prompt"] == "My own prompt." and kept[0]["locked"]
    # the locked shot covered handoff/2, Ren's line; the new line took that ref, and the shot follows its line
    # (it stayed on handoff/2 and framed Mia's new line as Ren's close-up, with nothing said)
    assert kept[0]["beats"] == ["handoff/3"], kept[0]
    new_line = next(s for s in after if "handoff/2" in s["beats"])
    assert not new_line.get("locked") and new_line["id"] != "handoff-02"
    refs = [b for s in after for b in s["beats"]]
    assert sorted(refs) == sorted(set(refs)) and "handoff/7" in refs


def test_a_line_added_above_moves_a_shots_take_and_hand_edit_with_it_not_to_the_new_line(tmp_path):
    """Ids and refs are places (handoff-02, handoff/2): after a line was added above, the re-plan gave Ren's chosen
    take (its seed and its takes' record) to the new line's shot, and dropped the reveal's hand-written prompt as
    "replaced", although both shots cover the very beats they covered."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    director("-p", str(project), "shot", "regen", "handoff-02", "--seed", "7", check=True)
    director("-p", str(project), "shot", "set", "handoff-04", "prompt=Ren's hands on the torn parcel.", check=True)
    sp_path = project / "screenplay.yaml"
    sp_path.write_text(sp_path.read_text().replace(
        '      - line: {who: ren, text: "You\'re late.", emotion: cold}',
        '      - line: {who: mia, text: "Delivery.", emotion: breathless}\n'
        '      - line: {who: ren, text: "You\'re late.", emotion: cold}'))
    proc = director("-p", str(project), "plan", check=True)
    after = yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]
    by_beat = {b: s for s in after for b in s["beats"]}
    ren, new_line, reveal = by_beat["handoff/3"], by_beat["handoff/2"], by_beat["handoff/5"]
    assert ren["seed"] == 7 and ren["id"] != "handoff-02" and new_line["seed"] != 7
    assert reveal["prompt"] == "Ren's hands on the torn parcel." and reveal["beats"] == ["handoff/5", "handoff/6",
                                                                                          "handoff/7"]
    assert "replaced" not in proc.stdout + proc.stderr
    listed = json.loads(director("-p", str(project), "--json", "take", "list", ren["id"], check=True).stdout)
    assert [t["seed"] for t in listed["takes"]][-1] == 7 and len(listed["takes"]) == 2
    listed = json.loads(director("-p", str(project), "--json", "take", "list", new_line["id"], check=True).stdout)
    assert [t["seed"] for t in listed["takes"]] == [new_line["seed"]]


def _handoff(project) -> dict[str, dict]:
    return {s["id"]: s for s in yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]
            if s["scene"] == "handoff"}


def _locked_then_replanned(tmp_path, shot: str, old: str, new: str):
    """The demo planned, ``shot`` locked, ``old`` replaced by ``new`` in its screenplay, then planned again: (the
    handoff scene's shots by id, in order; the re-plan's process)."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    director("-p", str(project), "shot", "set", shot, "locked=true", check=True)
    sp = project / "screenplay.yaml"
    assert old in sp.read_text()
    sp.write_text(sp.read_text().replace(old, new))
    proc = director("-p", str(project), "plan", check=True)
    return _handoff(project), proc


def test_a_locked_shot_a_line_was_added_inside_keeps_its_beats_in_a_row(tmp_path):
    """The diff review: the locked reveal (handoff/4-6) followed its beats to 4, 6 and 7 around a line added after
    the thunder, and the line's shot played after it (timing runs shot by shot): Mia spoke after the narration."""
    by_id, proc = _locked_then_replanned(tmp_path, "handoff-04", "      - sfx: thunder\n",
                                         '      - sfx: thunder\n      - line: {who: mia, text: "Open it."}\n')
    shots = list(by_id.values())
    assert shots[3]["id"] == "handoff-04" and shots[3]["beats"] == ["handoff/4"] and shots[3]["locked"]
    assert [b for s in shots for b in s["beats"]] == [f"handoff/{n}" for n in range(1, 8)]  # in order, each once
    assert "a beat was added between its beats" in proc.stderr, proc.stderr


def test_a_locked_line_moved_within_its_scene_keeps_its_shot(tmp_path):
    """The diff review: two lines swapped left the locked shot of one with no beats, first in its scene ("no longer
    covers": difflib matched the other line, and this one counted as deleted)."""
    ren = '      - line: {who: ren, text: "You\'re late.", emotion: cold}\n'
    mia = '      - line: {who: mia, text: "The city was on fire.", emotion: defiant}\n'
    shots, proc = _locked_then_replanned(tmp_path, "handoff-03", ren + mia, mia + ren)
    assert shots["handoff-03"]["beats"] == ["handoff/2"] and "no longer covers" not in proc.stderr, proc.stderr
    assert list(shots)[:3] == ["handoff-01", "handoff-03", "handoff-02"]


def test_a_line_replaced_by_another_speakers_is_not_the_locked_shots_any_more(tmp_path):
    """The diff review: a beat "changed in place" kept its shot whoever spoke it: Ren's locked close-up framed the
    Mia line that replaced his."""
    shots, proc = _locked_then_replanned(tmp_path, "handoff-02", '{who: ren, text: "You\'re late.", emotion: cold}',
                                         '{who: mia, text: "Sorry I am late.", emotion: tired}')
    assert "handoff/2" not in shots["handoff-02"]["beats"] and "no longer covers" in proc.stderr


def test_a_deleted_lines_takes_go_with_it_and_a_shot_that_moved_keeps_its_picture(tmp_path):
    """The diff review: after Mia's line (handoff-03, two takes) was deleted, the reveal became handoff-03 and
    `take list` showed it Mia's seed 7; and a shot that only moved up took its new id's seed (a new picture)."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    reveal = _handoff(project)["handoff-04"]
    director("-p", str(project), "shot", "regen", "handoff-03", "--seed", "7", check=True)
    sp = project / "screenplay.yaml"
    sp.write_text("".join(line for line in sp.read_text().splitlines(keepends=True) if "The city was on fire" not in line))
    director("-p", str(project), "plan", check=True)
    now = _handoff(project)["handoff-03"]
    assert now["beats"] == ["handoff/3", "handoff/4", "handoff/5"] and now["seed"] == reveal["seed"]
    listed = json.loads(director("-p", str(project), "--json", "take", "list", "handoff-03", check=True).stdout)
    assert [t["seed"] for t in listed["takes"]] == [reveal["seed"]], listed


def test_a_locked_shot_whose_scene_was_renamed_is_saved_not_lost(tmp_path):
    """Renaming a scene's id dropped its locked shot, hand-written prompt and all, with a note and no copy."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    path = project / "shots/screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    next(s for s in data["shots"] if s["id"] == "handoff-02").update(locked=True, prompt="MY OWN WORDS")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    sp_path = project / "screenplay.yaml"
    sp_path.write_text(sp_path.read_text().replace("id: handoff", "id: handover"))
    proc = director("-p", str(project), "plan", check=True)
    assert "locked shot(s) handoff-02 left the plan" in proc.stderr, proc.stderr
    assert proc.stderr.count("handoff-02") == 1, proc.stderr  # said once (the planner's own note said it too)
    saved = next((project / ".director" / "backups").glob("screenplay-*.yaml"))
    assert "MY OWN WORDS" in saved.read_text() and "MY OWN WORDS" not in path.read_text()


def test_a_locked_shot_is_said_to_keep_a_description_the_screenplay_changed(tmp_path):
    """A locked shot keeps its prompt; when the costume or room it describes changes, the re-plan says which shot
    still draws the old one (it was kept silently), once, and not for a description that stayed."""
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    director("-p", str(project), "plan", check=True)
    path = project / "shots/screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    for shot in data["shots"]:
        shot["locked"] = shot["id"] in ("handoff-02", "arrival-01")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    who = {s["id"]: s["characters"] for s in data["shots"]}
    assert "ren" in who["handoff-02"] and "ren" not in who["arrival-01"]
    sp_path = project / "screenplay.yaml"
    sp_path.write_text(sp_path.read_text().replace("tall man in a grey suit", "tall man in a black suit"))
    status = director("-p", str(project), "status", check=True)
    plan = director("-p", str(project), "plan", check=True)
    for output in (status.stdout + status.stderr, plan.stdout + plan.stderr):  # status says it, then the plan
        said = [line for line in output.splitlines() if "is locked" in line]
        assert len(said) == 1 and "shot handoff-02 is locked" in said[0] and "description of ren changed" in said[0], output
    again = director("-p", str(project), "plan", check=True)  # planned since: nothing new to say
    assert "is locked" not in again.stdout + again.stderr
    assert yaml.safe_load(path.read_text())["shots"][1]["prompt"] == data["shots"][1]["prompt"]


def test_a_prompt_ends_each_sentence_once_and_says_the_time_in_its_words(tmp_path):
    """A Chinese action kept its 。 and got a "." too ("林晚盯着手机屏幕。."); the time was the writer's 深夜, and a
    CONTINUOUS scene's prompt said "continuous"."""
    path = tmp_path / "zh.yaml"
    path.write_text("title: 夜\ncharacters:\n  lin: {name: 林晚, description: 年轻女子}\n"
                    "locations:\n  flat: {description: 狭小的出租屋。}\nscenes:\n"
                    "  - {id: a, location: flat, time: 深夜, beats: [{action: 林晚盯着手机屏幕。}]}\n"
                    "  - {id: b, location: flat, time: CONTINUOUS, description: 灯灭了, beats: [{action: She waits}]}\n",
                    encoding="utf-8")
    sp = load_screenplay(path).screenplay
    shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
    prompts = " ".join(s.prompt for s in shots)
    assert "。." not in prompts and "林晚盯着手机屏幕。" in prompts and "She waits." in prompts, prompts
    assert "狭小的出租屋, night." in prompts and "深夜" not in prompts and "continuous" not in prompts, prompts
    assert "灯灭了." in prompts


def test_the_episodes_silent_first_shot_is_the_three_second_hook():
    from director.plan.craft import craft_score

    for path in ("projects/demo/screenplay.yaml", "projects/zh-demo/screenplay.yaml"):
        sp = load_screenplay(ROOT / path).screenplay
        shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
        beats = {ref: beat for ref, _, beat in sp.beats()}
        assert shots[0].duration == 3.0 and not any(beats[r].spoken for r in shots[0].beats)
        assert craft_score(sp, shots)["hook"] > 0
        # the same scene second in the episode keeps its first shot's estimated length
        swapped = sp.model_copy(update={"scenes": [sp.scenes[1], sp.scenes[0]]})
        assert RulePlanner(swapped, "ep").plan_scene(sp.scenes[0])[0].duration > 3.0


def test_an_opening_that_speaks_is_not_cut_to_the_hook():
    data = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay.model_dump(exclude_none=True)
    data["scenes"][0]["beats"].insert(1, {"narration": {"text": "Every night the rain takes something from this "
                                                               "city, and tonight it wants her too."}})
    sp = type(load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay).model_validate(data)
    first = RulePlanner(sp, "ep").plan_scene(sp.scenes[0])[0]
    assert "arrival/2" in first.beats and first.duration > 3.0  # the narration plays over it, whole


# a flat at night, a daughter, her mother and a caller: the off-screen and phone tests' cast
FAMILY = """title: 夜
language: zh-CN
characters:
  qing: {name: 苏晴, description: young woman}
  mother: {name: 苏母, description: older woman}
  gu: {name: 顾承泽, description: man in a suit}
locations:
  home: {description: a small old flat}
  office: {description: a glass office}
scenes:
  - id: s1
    location: home
    time: night
"""


def _planned(tmp_path, text: str):
    """(screenplay, shots, beat ref -> its shot) of a screenplay planned by the rules, checked as a plan."""
    path = tmp_path / "screenplay.yaml"
    path.write_text(text, encoding="utf-8")
    sp = load_screenplay(path).screenplay
    shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
    assert plan_problems(sp, shots) == []
    return sp, shots, {b: s for s in shots for b in s.beats}


def test_a_voice_off_screen_or_on_the_phone_frames_who_hears_it(tmp_path):
    """An off-screen (画外) or phone line framed its speaker in the room (the caller stood in the flat) and then
    stood at the next speaker's shoulder."""
    _, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - line: {who: qing, text: 妈，我回来了。}
      - line: {who: mother, text: 可是……, delivery: 画外}
      - line: {who: gu, text: 苏晴，明天上午十点，来我办公室。, delivery: phone}
      - line: {who: qing, text: 好的，顾总。}
      - line: {who: gu, text: 别迟到。, delivery: phone}
""")
    assert by_beat["s1/2"].characters == ["qing"] and "listens" in by_beat["s1/2"].prompt  # 画外: who hears it
    assert by_beat["s1/3"] is by_beat["s1/2"] and "on the phone" not in by_beat["s1/3"].prompt  # one shot of her
    assert "gu" not in by_beat["s1/4"].characters  # no caller's shoulder in the flat
    assert by_beat["s1/5"].characters == ["qing"]
    for shot in shots:
        assert "mother" not in shot.characters and "gu" not in shot.characters
        assert "苏母" not in shot.prompt and "顾承泽" not in shot.prompt  # a named speaker would be drawn


def test_a_voice_over_is_never_drawn_talking_on_screen(tmp_path):
    """The importer audit: GHOST (V.O.) after a line got an over-the-shoulder shot of Ghost, "Ghost speaks": a V.O.
    is heard over the picture, which holds on who is there."""
    _, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - line: {who: qing, text: 妈，我回来了。}
      - line: {who: mother, text: 你终于回来了。, delivery: vo}
      - line: {who: qing, text: 妈？}
""")
    assert by_beat["s1/2"].characters == ["qing"], by_beat["s1/2"]
    assert all("mother" not in s.characters and "苏母" not in s.prompt for s in shots), shots


def test_a_voice_off_screen_in_an_intercut_stays_at_the_place_on_screen_and_frames_who_is_there(tmp_path):
    """An off-screen voice in an intercut claimed the second place (an empty office); after an action showing
    someone, it framed an empty room."""
    sp, _, by_beat = _planned(tmp_path, FAMILY + """    intercut: [home, office]
    beats:
      - action: 苏晴坐在床边发呆。
      - line: {who: mother, text: 吃饭了。, delivery: 画外}
      - line: {who: qing, text: 来了。}
      - line: {who: gu, text: 明天见。, delivery: phone}
""")
    assert sp.beat_locations(sp.scenes[0])[:3] == ["home", "home", "home"]  # the voice claims no place
    assert by_beat["s1/2"].characters == ["qing"] and (by_beat["s1/2"].location or "home") == "home"
    assert by_beat["s1/4"].characters[0] == "gu"  # the caller of an intercut is seen at his own place


def test_a_third_speaker_in_an_intercut_speaks_where_the_picture_is(tmp_path):
    """Speakers after the intercut's places were taken went to the last place: the mother who walks into the flat
    was drawn in the office."""
    sp, _, by_beat = _planned(tmp_path, FAMILY + """    intercut: [home, office]
    beats:
      - line: {who: qing, text: 喂？, delivery: phone}
      - line: {who: gu, text: 明天见。, delivery: phone}
      - line: {who: qing, text: 好。, delivery: phone}
      - action: 苏母推门进来。
      - line: {who: mother, text: 谁的电话？}
""")
    assert sp.beat_locations(sp.scenes[0]) == ["home", "office", "home", "home", "home"]
    assert (by_beat["s1/5"].location or "home") == "home" and "glass office" not in by_beat["s1/5"].prompt


def test_sounds_play_over_the_picture_they_belong_to(tmp_path):
    """A scene that opens on a sound and a line put the sound under the line, after the 2 s establishing shot (2 s
    of room tone before the hook); a door right after "she walks in" fired under her first words instead."""
    _, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - sfx: 雷
      - line: {who: qing, text: 三年前你毁了我。}
      - action: 苏母推门进来。
      - sfx: 门
      - line: {who: mother, text: 谁的电话？}
      - sfx: 脚步
""")
    assert by_beat["s1/1"] is shots[0] and "s1/2" not in shots[0].beats  # the thunder over the opening picture
    assert by_beat["s1/4"] is by_beat["s1/3"] and by_beat["s1/4"] is not by_beat["s1/5"]  # the door on her entrance
    assert by_beat["s1/6"] is by_beat["s1/5"]  # a sound after a line: as before, where the picture is


def test_an_intro_card_a_scene_opens_on_waits_for_the_shot_of_its_character(tmp_path):
    """An audit: a scene opening on a sound, an intro card and the character's line showed 顾氏集团总裁 over the empty
    establishing shot, gone before he appeared. The sound stays on the opening picture; the card is his shot's."""
    _, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - sfx: 雷
      - card: {kind: intro, who: mother, text: 苏家主母}
      - line: {who: mother, text: 谁的电话？}
""")
    assert shots[0].beats == ["s1/1"] and not shots[0].characters  # the thunder over the room
    assert by_beat["s1/2"] is by_beat["s1/3"] and "mother" in by_beat["s1/3"].characters
    # with someone else speaking first, the card stays on the next shot: moved to his later shot, it took that shot
    # before hers and his answer was heard before her question (a Chinese studio's second pass); validate says
    # where to put it instead
    sp, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - card: {kind: intro, who: gu, text: 顾氏集团总裁}
      - line: {who: qing, text: 你来干什么？}
      - line: {who: gu, text: 来接你。}
""")
    order = [ref for shot in shots for ref in shot.beats]
    assert order == sorted(order, key=lambda ref: int(ref.split("/")[1])), order  # the screenplay's order
    assert by_beat["s1/1"] is by_beat["s1/2"]


def test_music_and_sounds_after_the_opening_action_start_with_the_episode(tmp_path):
    """A writer's usual opening (an action, then its music and rain) put both on the next shot: every episode of a
    series had a silent 3 s hook. Music starting and sounds right after an action now play over it; a music stop
    still waits for the picture after it."""
    _, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - action: 苏晴独自坐在窗边。
      - music: {mood: 温馨}
      - sfx: rain
      - line: {who: qing, text: 妈，我回来了。}
      - action: 苏晴转身离开。
      - music: {stop: true}
      - line: {who: mother, text: 回来。}
""")
    assert by_beat["s1/2"] is shots[0] and by_beat["s1/3"] is shots[0]  # over the hook
    assert shots[0].beats == ["s1/1", "s1/2", "s1/3"]
    assert by_beat["s1/6"] is by_beat["s1/7"] and by_beat["s1/6"] is not by_beat["s1/5"]  # the stop: after her exit
    # music after an action that carries a transition or a shot hint is the next shot's: the dissolve went into the
    # action's shot, and its ECU hint turned the action's wide shot into one
    _, _, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - line: {who: qing, text: 妈，我回来了。}
      - action: 苏母转过身。
      - {music: {mood: 悲伤}, transition: dissolve, shot: {size: ECU}}
      - line: {who: mother, text: 回来就好。}
""")
    assert by_beat["s1/3"] is by_beat["s1/4"] and by_beat["s1/3"] is not by_beat["s1/2"]
    assert by_beat["s1/2"].size != "ECU" and by_beat["s1/2"].transition == "cut"
    assert by_beat["s1/3"].transition == "dissolve" and by_beat["s1/3"].size == "ECU"


def test_a_sound_before_a_line_is_heard_before_the_words(tmp_path):
    """The line after a sound in its shot started 0.05 s after it: a ring or a door covered the first words."""
    import json

    from director.stages.timing import SFX_LEAD

    (tmp_path / "screenplay.yaml").write_text(FAMILY + """    beats:
      - line: {who: qing, text: 妈。}
      - sfx: 电话
      - line: {who: mother, text: 谁的电话？}
""", encoding="utf-8")
    director("-p", str(tmp_path), "render", "--until", "timing", check=True)
    shots = yaml.safe_load((tmp_path / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    shot = next(s for s in shots if "s1/2" in s["beats"])
    assert shot["beats"] == ["s1/2", "s1/3"]
    state = json.loads((tmp_path / ".director" / "state" / "screenplay.json").read_text())
    key = state["jobs"][f"timing:{shot['id']}"]["key"]
    timing = json.loads(next((tmp_path / ".director" / "cache" / "timing").glob(f"*/{key}/timing.json")).read_text())
    assert timing["voices"][0]["offset"] == round(0.05 + SFX_LEAD, 4)


def test_a_sound_after_the_last_line_is_held_before_the_cut(tmp_path):
    """A car door after a scene's last words fired 0.15 s before the cut and played over the next scene."""
    import json

    from director.stages.timing import SFX_HOLD

    (tmp_path / "screenplay.yaml").write_text(FAMILY + """    beats:
      - line: {who: qing, text: 我走了。}
      - sfx: 车门
  - id: s2
    location: office
    time: day
    beats:
      - line: {who: gu, text: 她来了吗？}
""", encoding="utf-8")
    director("-p", str(tmp_path), "render", "--until", "timing", check=True)
    shots = yaml.safe_load((tmp_path / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    shot = next(s for s in shots if "s1/2" in s["beats"])
    assert shot["beats"][-1] == "s1/2"
    state = json.loads((tmp_path / ".director" / "state" / "screenplay.json").read_text())
    key = state["jobs"][f"timing:{shot['id']}"]["key"]
    timing = json.loads(next((tmp_path / ".director" / "cache" / "timing").glob(f"*/{key}/timing.json")).read_text())
    voice = timing["voices"][-1]
    assert timing["duration"] >= voice["offset"] + voice["duration"] + SFX_HOLD, timing


def test_a_window_looking_out_is_still_a_room():
    """外 alone made a room with 窗外 (outside the window) an exterior: wide crane moves over a small flat; and the
    mix gave an outdoor playground a room's tone."""
    from director.plan.rules import is_exterior
    from director.stages.mix import room_kind

    assert not is_exterior("狭小的出租屋，窗外下着雨") and not is_exterior("总裁办公室，落地窗外是城市夜景")
    assert is_exterior("阳光下的学校操场") and room_kind("school", "阳光下的学校操场") == "street"
    assert room_kind("office", "总裁办公室，落地窗外是城市夜景") == "room"


def test_a_speakers_own_voice_off_screen_never_rides_on_a_shot_of_them(tmp_path):
    _, _, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - line: {who: qing, text: 我回来了。}
      - line: {who: mother, text: 饭凉了。, delivery: 画外}
      - line: {who: qing, text: 来了！, delivery: 画外}
""")
    assert by_beat["s1/2"].characters == ["qing"]  # her mother heard over her
    assert "qing" not in by_beat["s1/3"].characters  # she herself off screen: not over a shot of her


def test_a_title_look_or_voice_edit_keeps_a_rules_plan_and_its_hand_edits(tmp_path):
    """A title, style.look or voice change re-planned every shot (no planner reads a voice, the rule planner no
    title or look), replacing the hand edits in the shot list; a character's description is in the prompts, so it
    still re-plans."""
    project, shots_file, _ = planned_with_a_hand_edit(tmp_path, "MY HAND-WRITTEN PROMPT")
    sp_path = project / "screenplay.yaml"
    sp = yaml.safe_load(sp_path.read_text())
    sp["title"] = sp["title"] + " (director's cut)"
    sp.setdefault("style", {})["look"] = "cold blue night, hard rim light"
    for character in sp["characters"].values():
        character["voice"] = {"preset": "elder_male"}
    sp_path.write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
    status = director("-p", str(project), "status", check=True)
    assert "re-planned" not in status.stderr, status.stderr
    director("-p", str(project), "render", "--until", "keyframes", check=True)
    assert "MY HAND-WRITTEN PROMPT" in shots_file.read_text()
    who = next(iter(sp["characters"]))
    sp["characters"][who]["description"] += ", a scar over one eye"
    sp_path.write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
    assert "re-planned" in director("-p", str(project), "status", check=True).stderr


def test_a_character_the_action_names_in_any_case_is_in_the_plans_digest(tmp_path):
    """The rule planner frames a character an action names by its id in any case ("the Cat"); the digest took
    only quoted ids and exact names, so a change to that character kept a stale plan."""
    from director.shots import plan_digest

    path = tmp_path / "screenplay.yaml"
    text = """title: t
characters:
  ana: {name: Ana, description: woman in a green coat}
  cat: {description: a black cat}
locations:
  home: {description: a small flat}
scenes:
  - id: s1
    location: home
    time: night
    beats:
      - action: Ana opens the door on the Cat.
"""
    path.write_text(text, encoding="utf-8")
    before = load_screenplay(path).screenplay
    shots, _ = merge_locked(before, "ep", RulePlanner(before, "ep"), [])
    assert "cat" in shots[0].characters
    path.write_text(text.replace("a black cat", "a white cat"), encoding="utf-8")
    after = load_screenplay(path).screenplay
    assert plan_digest(before, "rules") != plan_digest(after, "rules")


def test_a_long_speech_pushes_in_slowly_instead_of_holding_a_still(tmp_path):
    """A post-production check found a 10 s static close-up over one long line: a still picture under a speech.
    A speech the plan expects to run past 6 s gets a slow push-in; a short one stays static, a hint still wins."""
    long = "你知道这三年我是怎么过来的吗？每天晚上我都在等你的电话，可你一次都没有打来。"
    _, _, by_beat = _planned(tmp_path, FAMILY + f"""    beats:
      - line: {{who: qing, text: 妈，我回来了。}}
      - line: {{who: mother, text: {long}}}
      - {{line: {{who: qing, text: {long}}}, shot: {{move: static}}}}
      - line: {{who: gu, text: {long}, delivery: phone}}
""")
    assert by_beat["s1/1"].move == "static"
    assert by_beat["s1/2"].move == "dolly-in" and by_beat["s1/2"].duration > 6
    assert by_beat["s1/3"].move == "static"  # the writer's hint
    assert by_beat["s1/4"].move == "dolly-in" and by_beat["s1/4"].characters == ["qing"]  # who listens, pushed in on


def test_the_takes_record_moves_once_per_plan_and_gives_no_shot_anothers_takes(tmp_path):
    """The diff review: the record and the shot list are two writes; a re-plan stopped between them moved the
    takes again at the next one. Tagged with the plan it follows, a second move is none; an id that no shot of
    the last list became loses what was listed under it (another shot's takes)."""
    from director.plan import _move_takes
    from director.project import Project
    from director.store.files import write_json

    project = Project.find(make_project(tmp_path))
    path = project.state_file("takes", "screenplay.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"version": 1, "takes": {"one-02": [1, 2], "one-03": [3, 4], "two-01": [5, 6]},
                      "keys": {"one-02": {"1": ["k1"]}, "one-03": {"3": ["k3"]}}})
    same = {"one-02": "one-03", "two-01": "two-01"}  # one-03's shot is gone; one-02's is one-03 now
    for _ in range(2):
        _move_takes(project, "screenplay", same, "plan-X")
        data = json.loads(path.read_text())
        assert data["takes"] == {"one-03": [1, 2], "two-01": [5, 6]} and data["keys"] == {"one-03": {"1": ["k1"]}}
    assert data["plan"] == "plan-X"


def test_an_emotion_validate_does_not_know_is_not_put_in_the_prompt_or_on_the_panel(tmp_path):
    """A series creator's audit: `scaredd` was warned of and voiced neutrally, yet the prompt said "苏晴 speaks,
    scaredd" to the image model and the panel's header drew it."""
    from director.stages.keyframes import caption

    sp, shots, by_beat = _planned(tmp_path, FAMILY + """    beats:
      - line: {who: qing, text: 你来干什么？, emotion: scaredd}
      - line: {who: gu, text: 来接你。, emotion: 冷笑}
""")
    assert "scaredd" not in by_beat["s1/1"].prompt and "苏晴 speaks." in by_beat["s1/1"].prompt
    assert "speaks, 冷笑" in by_beat["s1/2"].prompt  # a word the vocabulary knows stays the writer's

    class Ctx:
        beats = {sp.beat_ref(sp.scenes[0], i): b for i, b in enumerate(sp.scenes[0].beats)}

    Ctx.sp = sp
    assert caption(Ctx, by_beat["s1/1"]) == "苏晴" and caption(Ctx, by_beat["s1/2"]).endswith("(冷笑)")


def test_an_intro_card_before_someone_elses_line_is_a_warning_naming_where_it_shows(tmp_path):
    """A Chinese studio's second pass: an intro card before another's line, or for someone heard only on the phone,
    showed the name over the wrong face, and validate said nothing."""
    from director.screenplay import screenplay_problems

    path = tmp_path / "screenplay.yaml"
    for beats, words in (("""      - card: {kind: intro, who: gu, text: 顾氏集团总裁}
      - line: {who: qing, text: 你来干什么？}
      - line: {who: gu, text: 来接你。}
""", "'qing''s"),
                         ("""      - card: {kind: intro, who: gu, text: 顾氏集团总裁}
      - line: {who: gu, text: 喂？, delivery: phone}
""", "followed by no line of theirs"),
                         ("""      - card: {kind: intro, who: gu, text: 顾氏集团总裁}
      - line: {who: gu, text: 来接你。}
""", None)):
        path.write_text(FAMILY + "    beats:\n" + beats, encoding="utf-8")
        _, problems = screenplay_problems(path, tmp_path)
        said = [str(p) for p in problems if "intro card" in str(p)]
        assert (said == []) if words is None else (len(said) == 1 and words in said[0] and "warning" in said[0]), said
