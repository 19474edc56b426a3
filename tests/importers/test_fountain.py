"""Fountain 1.1 syntax -> screenplay YAML, on hand-written scripts."""
from __future__ import annotations

import re

import pytest

from director.screenplay import MAX_ACTION_CHARS, MAX_LINE_CHARS
from tests.importers.helpers import DATA, assert_valid, beats, import_text, imported, lines, messages


@pytest.fixture(scope="module")
def ferry():
    return imported("night_ferry.fountain")


def test_every_fixture_validates_and_reads_back_as_its_dict(tmp_path):
    for name in ("night_ferry.fountain", "hospital_zh.fountain", "two_scenes.fountain"):
        assert_valid(imported(name), tmp_path)


def test_the_title_page_gives_the_title_and_keeps_the_rest_as_comments(ferry):
    assert ferry.screenplay_dict["title"] == "THE NIGHT FERRY Part One"  # indented lines, emphasis stripped
    for comment in ("# Credit: Written by", "# Author: Wen Halloway", "# Draft Date: 3 March 2025",
                    "# Contact: wen@example.org"):
        assert comment in ferry.yaml_text


def test_headings_name_places_and_times(ferry):
    scenes = ferry.screenplay_dict["scenes"]
    assert [s["id"] for s in scenes] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert [s["location"] for s in scenes] == ["harbour-pier", "ticket-office", "maras-kitchen",
                                               "jonass-van", "ferry-deck", "lighthouse"]
    assert [s.get("flashback", False) for s in scenes] == [False, False, True, False, False, False]
    assert [s.get("time") for s in scenes] == ["night", "continuous", "morning", "continuous", "dusk", None]
    places = ferry.screenplay_dict["locations"]
    assert places["harbour-pier"]["description"] == "harbour pier, outside"          # EXT.
    assert places["ticket-office"]["description"] == "ticket office, inside"         # INT.
    assert places["jonass-van"]["description"] == "jonas's van, inside and outside"  # INT./EXT.
    assert places["ferry-deck"]["description"].endswith("inside and outside")        # I/E.
    assert places["maras-kitchen"]["description"] == "mara's kitchen"  # forced .FLASHBACK - HEADING: a flashback
    assert "- id: s2  # INT. TICKET OFFICE - CONTINUOUS (scene 2A) (night_ferry.fountain:36)" in ferry.yaml_text
    assert "EST. LIGHTHOUSE - WITCHING HOUR" in ferry.yaml_text
    assert "night_ferry.fountain:96:1: warning: 'WITCHING HOUR' in the heading is not a time of day" in messages(ferry)


def test_cues_become_characters_and_extensions_a_delivery(ferry):
    cast = ferry.screenplay_dict["characters"]
    assert list(cast) == ["mara", "ferryman", "jonas", "mccormack", "brick", "steel"]
    # MARA (30s, soaked raincoat) runs...: the script's introduction is her description (it draws her, and gives a
    # preview voice its gender where it says one); a character the script never introduces keeps the TODO
    assert cast["mara"] == {"name": "Mara", "description": "30s, soaked raincoat"}
    assert cast["ferryman"]["description"] == "TODO: describe FERRYMAN"
    assert cast["mccormack"]["name"] == "McCORMACK"  # forced @ keeps the writer's case
    said = {(line["who"], line["text"]): line.get("delivery") for line in lines(ferry)}
    assert said[("ferryman", "Last crossing was at midnight, miss.")] == "os"
    assert said[("mara", "I should have walked away.")] == "vo"
    assert said[("jonas", "Well?")] is None  # (CONT'D) is dropped, not a delivery
    # (on the phone): Mara, in the van, is the one we see talking into it -- on screen, not a phone's voice
    assert said[("mara", "Can you hear me? I'm on my way.")] is None
    assert "CONT'D" not in messages(ferry)


def test_parentheticals_belong_to_the_words_after_them(ferry):
    first = lines(ferry, 0)
    assert first[0] == {"who": "mara", "text": "Wait! Please wait!", "emotion": "breathless",
                        "parenthetical": "(breathless)"}
    assert first[2:] == [{"who": "mara", "text": "It's not midnight yet."},
                         {"who": "mara", "text": "It's not even close.", "parenthetical": "(checking her watch)"}]


def test_dialogue_continues_over_a_two_space_line_and_dual_dialogue_stays_in_order(ferry):
    assert lines(ferry, 1)[0]["text"] == "You look like someone who needs a boat. And I know someone with a boat."
    kitchen = lines(ferry, 2)
    assert [(line["who"], line["text"]) for line in kitchen[1:]] == [("brick", "Toast again?"),
                                                                      ("steel", "Toast again!")]
    assert "# dual dialogue: said at the same time as the line before\n      - line: {who: steel" in ferry.yaml_text


def test_long_speeches_and_actions_are_split_at_sentences(ferry):
    van = ferry.screenplay_dict["scenes"][3]["beats"]
    actions = [b["action"] for b in van if "action" in b]
    speech = [b["line"]["text"] for b in van if b.get("line", {}).get("who") == "jonas"]
    assert len(actions) == 2 and all(len(a) <= MAX_ACTION_CHARS for a in actions)
    assert len(speech) == 2 and all(len(t) <= MAX_LINE_CHARS for t in speech)
    assert all(t.endswith((".", "!", "?")) for t in actions + speech)
    source = (DATA / "night_ferry.fountain").read_text().splitlines()
    assert " ".join(actions) == source[79 - 1] and " ".join(speech) == source[82 - 1]


def test_transitions_set_how_the_next_beat_enters(ferry):
    firsts = [s["beats"][0].get("transition") for s in ferry.screenplay_dict["scenes"]]
    # FADE IN:, CUT TO:, none, none, WIPE TO: (no such transition: a cut), > FADE TO BLACK.
    assert firsts == ["fade", "cut", None, None, "cut", "fade"]
    assert "night_ferry.fountain:88:1: warning: director has no transition like 'WIPE TO:'" in messages(ferry)


def test_notes_and_boneyard_are_removed_sections_and_synopses_kept_as_comments(ferry):
    text = ferry.yaml_text
    assert "BOAT CABIN" not in text and "changed my mind" not in text  # boneyard, several lines
    assert "# note: Maybe a horn blast here?" in text
    assert beats(ferry, 0)[1]["action"] == "The ramp lifts away. She stops at the edge."
    assert "  # section: Act One\n  # synopsis: Mara misses the last ferry" in text


def test_centered_text_emphasis_lyrics_forced_action_and_page_breaks(ferry):
    assert beats(ferry, 5)[0]["action"] == "THE END"  # >THE END< alone in its scene: no picture to show it over
    assert beats(ferry, 0)[0]["action"].startswith("Rain hammers the empty pier.")  # *empty*
    kitchen = beats(ferry, 2)
    assert kitchen[0]["action"] == "SUDDENLY Mara and her sister laugh over burnt toast."  # !SUDDENLY is no cue
    assert kitchen[1]["line"]["text"] == "Breakfast is served, your majesties. Toast and tea, toast and tea!"
    assert kitchen[-1]["action"] == "Row, row, row your boat"  # a lyric outside dialogue; === after it
    assert not re.search(r"[*_~]", str(ferry.screenplay_dict))


def test_each_beat_names_its_line_in_the_script(ferry):
    source = (DATA / "night_ferry.fountain").read_text().splitlines()
    found = re.findall(r"- (?:action|line|narration|card): (.*)  # night_ferry\.fountain:(\d+)", ferry.yaml_text)
    assert len(found) == len(beats(ferry))
    for text, number in found:
        words = re.findall(r"\w+", text.split("text: ")[-1])[:1]
        assert " ".join(words) in re.sub(r"\W+", " ", source[int(number) - 1]), (text, number)


def test_chinese_script(tmp_path):
    result = imported("hospital_zh.fountain")
    sp = result.screenplay_dict
    assert sp["title"] == "夜班" and sp["language"] == "zh-CN"
    assert list(sp["characters"]) == ["林晚", "陈默"]
    assert sp["locations"] == {"医院走廊": {"description": "医院走廊，室内"},
                               "医院天台": {"description": "医院天台，室外"}}
    assert [(s["location"], s["time"]) for s in sp["scenes"]] == [("医院走廊", "night"), ("医院天台", "night"),
                                                                  ("医院走廊", "continuous")]
    assert lines(result, 0) == [{"who": "林晚", "text": "有人吗？", "emotion": "whisper", "parenthetical": "（压低声音）"},
                                {"who": "陈默", "text": "别回头。", "delivery": "vo"}]
    assert beats(result, 1)[-1] == {"narration": "那一夜，她第一次听见他的声音。"}  # @旁白 is the narrator
    assert beats(result, 2)[0]["transition"] == "dissolve"  # > 叠化
    assert result.warnings == []


def test_notes_inside_a_speech_do_not_end_it_and_escaped_stars_stay(tmp_path):
    result = import_text(tmp_path, "INT. ROOM - DAY\n\nLIN\n[[louder?]]\nI \\*really\\* mean it.\n[[a note\n"
                                   "over two lines]]\nHonest.\n")
    assert lines(result) == [{"who": "lin", "text": "I *really* mean it. Honest."}]
    assert result.yaml_text.endswith("# script.fountain:5\n# note: a note\n# over two lines\n")  # after the beat


def test_what_cannot_be_carried_over_is_a_located_warning(tmp_path):
    result = import_text(tmp_path, "Lin waits.\n\nINT. ROOM - DAY\n\nINT. HALL - NIGHT\n\nBO\nHi.\n(smiles)\n\n"
                                   "NARRATOR\n(softly)\nLater.\n\nBO (ECHOING)\nHello?\n\n/* unfinished\n\nold\n")
    text = messages(result)
    assert "script.fountain:1:1: warning: 1 paragraph(s) before the first scene heading are left out" in text
    assert "script.fountain:3:1: warning: the scene 'INT. ROOM - DAY' has no action or dialogue" in text
    assert "script.fountain:9:1: warning: the parenthetical (smiles) has no words after it" in text
    assert "script.fountain:13:1: warning: narration has no parenthetical; (softly) is left out" in text
    assert "script.fountain:15:1: warning: the extension (ECHOING) of BO says no delivery or emotion" in text
    assert "script.fountain:18:1: warning: the boneyard /* is never closed" in text
    assert beats(result, 0) == [{"action": "Establishing: room, inside."}]
    assert beats(result, 1)[1:] == [{"narration": "Later."},
                                    {"line": {"who": "bo", "text": "Hello?", "parenthetical": "(ECHOING)"}}]
    assert_valid(result, tmp_path)


def test_a_chinese_short_drama_script_written_name_colon_line_speaks(tmp_path):
    """The importer audit: most 短剧 scripts write a speech on one line (苏晴：……), mark action with △, list the
    scene's people (人物：) and captions (字幕：); every one of them was action, with no warning -- an episode without a
    spoken word -- and 【第2场】, 第三场 and 场景4：天台（夜/外） were not headings."""
    result = import_text(tmp_path, "1-1 日 内 医院走廊\n\n人物：苏晴、医生\n\n△苏晴攥着化验单，手在发抖。\n\n"
                                   "苏晴：医生，求求您，再想想办法……\n医生（叹气）：手术费三十万，明天之前交齐。\n\n"
                                   "苏晴OS：我该去哪里找三十万？\n\n字幕：三天后\n\n【第2场】陆氏集团总裁办公室 夜 内\n\n"
                                   "△陆景琛站在落地窗前。\n陆景琛：让她进来。\n张妈：少奶奶，您回来了。\n\n"
                                   "第三场 医院 夜 内\n\n旁白：那一夜，她做了决定。\n\n场景4：天台（夜/外）\n\n"
                                   "他说：你来了。\n", name="script.fountain")
    sp = result.screenplay_dict
    assert [(s["location"], s.get("time")) for s in sp["scenes"]] == [
        ("医院走廊", "day"), ("陆氏集团总裁办公室", "night"), ("医院", "night"), ("天台", "night")]
    assert list(sp["characters"]) == ["苏晴", "医生", "陆景琛", "张妈"]  # 张妈 speaks once, and speaks
    assert beats(result, 0) == [
        {"action": "苏晴攥着化验单，手在发抖。"},
        {"line": {"who": "苏晴", "text": "医生，求求您，再想想办法……"}},
        {"line": {"who": "医生", "text": "手术费三十万，明天之前交齐。", "parenthetical": "（叹气）"}},
        {"line": {"who": "苏晴", "text": "我该去哪里找三十万？", "delivery": "inner"}}]
    assert beats(result, 1)[0] == {"card": {"kind": "caption", "text": "三天后"}}  # above a heading: the next scene's
    assert "# characters: 苏晴、医生" in result.yaml_text
    assert beats(result, 2) == [{"narration": "那一夜，她做了决定。"}]
    assert beats(result, 3) == [{"action": "他说：你来了。"}]  # prose, one 他说 alone: not a character
    assert "名字：台词" in messages(result)
    assert_valid(result, tmp_path)


def test_centered_text_over_a_scene_is_a_title_card(tmp_path):
    """>THE END< after the last action was a 2.5 s shot of an empty harbour, "THE END" in its prompt."""
    result = import_text(tmp_path, "EXT. HARBOR - DAY\n\nThe boat leaves.\n\n>THE END<\n", name="script.fountain")
    assert beats(result, 0) == [{"action": "The boat leaves."}, {"card": {"kind": "title", "text": "THE END"}}]
    assert_valid(result, tmp_path)


def test_an_unnumbered_chinese_heading_opens_its_scene(tmp_path):
    """内景 咖啡馆 - 日 was not a heading: its scene (dialogue too) was dropped with a warning, or read as action."""
    result = import_text(tmp_path, "内景 咖啡馆 - 日\n\n苏晴推门进来。\n\n苏晴\n（冷笑）\n你来晚了。\n\n"
                                   "外景 天台 夜\n\n苏晴\n回家吧。\n", name="script.fountain")
    sp = result.screenplay_dict
    assert [(s["location"], s["time"]) for s in sp["scenes"]] == [("咖啡馆", "day"), ("天台", "night")]
    assert lines(result, 1) == [{"who": "苏晴", "text": "回家吧。"}]
    assert_valid(result, tmp_path)


def test_dialogue_before_the_first_heading_is_named_in_the_warning(tmp_path):
    """A cast list at the top reads as dialogue (a name, then its description): left out with a warning that says
    how much of it was dialogue and where, and how a heading is written in either language."""
    result = import_text(tmp_path, "Lin waits.\n\nLIN\nWhere is everyone?\n\nINT. ROOM - DAY\n\nBO\nHi.\n")
    text = messages(result)
    assert "script.fountain:1:1: warning: 2 paragraph(s) before the first scene heading are left out, 1 of them " \
           "dialogue (from line 4); if they are a scene, add a heading above line 1" in text, text
    assert "内景" in text  # the example a Chinese script needs too


def test_ids_are_valid_distinct_and_safe_in_yaml(tmp_path):
    result = import_text(tmp_path, "INT. CAFÉ - DAY\n\nJOSÉ\nHola.\n\nEXT. CAFE - DAY\n\nO'NEIL\nHi.\n\n"
                                   "INT. NO - NIGHT\n\nNARRATOR'S DOG\nWoof.\n\nINT. 7-ELEVEN - DAY\n\nLin waits.\n")
    sp = result.screenplay_dict
    assert list(sp["locations"]) == ["cafe", "cafe-2", "no", "7-eleven"]
    assert list(sp["characters"]) == ["jose", "oneil", "narrators-dog"]
    assert "  \"no\": {description" in result.yaml_text and "location: \"7-eleven\"" in result.yaml_text
    assert_valid(result, tmp_path)


def test_a_lone_forced_cue_names_no_one_and_stays_action(tmp_path):
    """``@`` alone (a forced cue with no name) made a character with an empty name that validated."""
    result = import_text(tmp_path, "INT. ROOM - DAY\n\n@\nHello there.\n\nBO\nHi.\n")
    assert list(result.screenplay_dict["characters"]) == ["bo"]
    assert_valid(result, tmp_path)


def test_chinese_cues_need_no_at_sign(tmp_path):
    """Chinese has no capitals: a short line of Han characters above a speech is its cue where the name heads
    two speeches, carries an extension or is the narrator, and the import says so once (every such speech used
    to become action with no warning). A name heading one speech only is read as action, with a warning."""
    script = ("第1场 医院走廊 夜 内\n\n林晚推开门，走廊里空无一人。\n\n李小满（小声）\n导演说了，今晚不拍了。\n\n"
              "欧阳·纳兰 (V.O.)\n你终于来了。\n\n李小满\n嗯。\n\n旁白\n三年后，她站在了同一个地方。\n\n夜色很深\n"
              "雨一直没有停。\n\n!李小满\n站在门口，一动不动。\n")
    result = import_text(tmp_path, script)
    assert lines(result) == [{"who": "李小满", "text": "导演说了，今晚不拍了。", "emotion": "whisper",
                              "parenthetical": "（小声）"},
                             {"who": "欧阳-纳兰", "text": "你终于来了。", "delivery": "vo"},
                             {"who": "李小满", "text": "嗯。"}], lines(result)
    assert {"narration": "三年后，她站在了同一个地方。"} in beats(result, 0)
    actions = [b["action"] for b in beats(result, 0) if "action" in b]
    assert any(a.startswith("夜色很深") for a in actions), actions  # one speech, no extension: action
    assert any(a.startswith("李小满") for a in actions), actions  # forced action
    text = messages(result)
    assert "script.fountain:5:1: warning: read 3 Chinese name(s) without '@' as characters: 李小满、欧阳·纳兰、旁白" \
        in text, text
    assert "script.fountain:17:1: warning: '夜色很深' above a line was read as action" in text, text
    assert_valid(result, tmp_path)


def test_a_marker_line_with_a_note_in_brackets_stays_action(tmp_path):
    """闪回（三年前） above a line of action made a character 闪回 speaking the action."""
    result = import_text(tmp_path, "第1场 医院走廊 夜 内\n\n闪回（三年前）\n李小满站在雨中，浑身湿透。\n")
    assert not result.screenplay_dict["characters"] and not lines(result), result.yaml_text


def test_a_one_off_speaker_read_as_action_keeps_a_pause_and_one_with_a_parenthetical_speaks(tmp_path):
    """保姆 above 少爷，宵夜准备好了。 became the action 保姆少爷，宵夜准备好了。 (the name glued into the speech, and
    into the prompts); a name with a parenthetical line and words under it is a cue, one without words is action."""
    result = import_text(tmp_path, "第1场 客厅 夜 内\n\n保姆\n少爷，宵夜准备好了。\n\n司机\n（小心翼翼）\n老爷回来了。\n")
    actions = [b["action"] for b in beats(result, 0) if "action" in b]
    assert any(a.startswith("保姆，少爷，宵夜准备好了。") for a in actions), actions
    assert lines(result) == [{"who": "司机", "text": "老爷回来了。", "parenthetical": "（小心翼翼）"}], lines(result)


def test_a_short_line_above_a_bracketed_sound_is_action_not_a_character(tmp_path):
    result = import_text(tmp_path, "INT. 客厅 - 夜\n\n夜深了\n（窗外传来狗叫声）\n")
    assert not result.screenplay_dict["characters"], result.yaml_text
    actions = [b["action"] for b in beats(result, 0) if "action" in b]
    assert any("窗外传来狗叫声" in a for a in actions), actions


def test_a_script_that_would_make_a_screenplay_too_large_to_read_is_refused_with_how_to_split_it(tmp_path):
    """A 1.8 MB Fountain file of 40,000 scenes became a 14 MB screenplay that every command then refused (the
    reader's limit is 4 MB): the import said nothing."""
    from director.errors import ScreenplayError
    from director.importers import import_script

    path = tmp_path / "huge.fountain"
    path.write_text("".join(f"INT. ROOM {i} - DAY\n\nBO\nHi.\n\n" for i in range(40000)), encoding="utf-8")
    assert path.stat().st_size < 4 * 1024 * 1024
    with pytest.raises(ScreenplayError) as err:
        import_script(path)
    assert "over the 4 MB director reads; split it into episodes" in str(err.value), str(err.value)


def test_the_one_on_the_phone_is_seen_and_the_voice_over_is_the_far_end(tmp_path):
    """The new-user audit: "(on the phone)" made Maya's own on-screen line a phone voice (band-limited, nobody in
    frame), and the caller (V.O.) was framed in his own close-up. In a screenplay the parenthetical marks the one
    we watch; the V.O. of that scene is the voice through the phone. The next scene starts without a call."""
    result = import_text(tmp_path, "INT. KITCHEN - NIGHT\n\nMAYA\n(on the phone)\nHello?\n\nDR. OKAFOR (V.O.)\n"
                                   "The results came back.\n\nINT. CAR - NIGHT\n\nMAYA (V.O.)\nI drove.\n\n"
                                   "EXT. ROOF - NIGHT\n\n林晓\n（接电话）\n喂？\n\n周医生（V.O.）\n结果出来了。\n")
    first, second, third = (lines(result, i) for i in (0, 1, 2))
    assert first[0]["who"] == "maya" and first[0].get("delivery") in (None, "on"), first
    assert first[0]["parenthetical"] == "(on the phone)"
    assert first[1]["delivery"] == "phone", first
    assert [line["delivery"] for line in second] == ["vo"], second
    assert third[0].get("delivery") in (None, "on") and third[1]["delivery"] == "phone", third
    assert_valid(result, tmp_path)


def test_cue_extensions_and_parentheticals_say_who_is_on_the_phone_and_how_a_line_is_spoken(tmp_path):
    """The importer audit: MIA (ON THE PHONE) on the cue made the one we watch a phone voice; her own V.O. after it
    went through the phone; (ON THE RADIO) read as "on" screen; MIA (SHOUTING) was dropped with a warning;
    (into phone; angry) and (to Ben, sarcastic) set no emotion; （冷冷地） none either."""
    result = import_text(tmp_path, "INT. APARTMENT - NIGHT\n\nMIA (ON THE PHONE)\nWhere are you?\n\nHANS (V.O.)\n"
                                   "At the station.\n\nMIA (SHOUTING)\nCome home now!\n\nMIA (V.O.)\nHe never answered."
                                   "\n\nHANS (ON THE RADIO)\nUnit four, respond.\n\nMIA\n(into phone; angry)\nI said now."
                                   "\n\nBEN\n(to Mia, sarcastic)\nGreat plan.\n\nLIN\n（冷冷地）\n你来了。\n")
    said = [(line["who"], line.get("delivery"), line.get("emotion")) for line in lines(result, 0)]
    assert said == [("mia", None, None), ("hans", "phone", None), ("mia", None, "angry"), ("mia", "vo", None),
                    ("hans", "radio", None), ("mia", None, "angry"), ("ben", None, "sarcastic"),
                    ("lin", None, "cold")], said
    assert lines(result, 0)[2]["parenthetical"] == "(SHOUTING)"
    assert result.warnings == []
    assert_valid(result, tmp_path)


def test_a_beat_or_a_pause_in_a_speech_is_a_pause(tmp_path):
    """(beat) between two sentences of a speech was thrown away: the lines ran together, 0 s apart."""
    result = import_text(tmp_path, "INT. ROOM - DAY\n\nRAY\nKnow her?\n(beat)\nTake your time.\n\nLIN\n（停顿）\n"
                                   "我不知道。\n(long pause)\n\nShe leaves.\n")
    assert beats(result, 0) == [{"line": {"who": "ray", "text": "Know her?"}}, {"pause": 0.6},
                                {"line": {"who": "ray", "text": "Take your time."}}, {"pause": 1.0},
                                {"line": {"who": "lin", "text": "我不知道。"}}, {"pause": 2.0},
                                {"action": "She leaves."}]
    assert result.warnings == [] and "- pause: 0.6  # script.fountain:5" in result.yaml_text
    assert_valid(result, tmp_path)


def test_a_chinese_title_page_and_a_key_before_the_title_are_read(tmp_path):
    """标题：… with a full-width colon, or Format: before Title:, was no title page: the title became the file's
    name and the page "1 paragraph before the first scene heading"."""
    result = import_text(tmp_path, "标题：总裁的替身新娘\n作者：王小丽\n\n1-1 日 内 医院走廊\n\n苏晴：你好。\n")
    assert result.screenplay_dict["title"] == "总裁的替身新娘" and "# Author: 王小丽" in result.yaml_text
    assert result.warnings == [] or all("paragraph" not in str(w) for w in result.warnings)
    english = import_text(tmp_path, "Format: short drama\nTitle: The Pact\n\nINT. ROOM - DAY\n\nJo waits.\n")
    assert english.screenplay_dict["title"] == "The Pact" and "# Format: short drama" in english.yaml_text
    chinese_cast = import_text(tmp_path, "人物：苏晴、医生\n\n1-1 日 内 医院走廊\n\n苏晴：你好。\n")
    assert chinese_cast.screenplay_dict["title"] == "script"  # a cast line is no title page


def test_lines_that_direct_the_cut_are_cards_transitions_or_comments_not_empty_shots(tmp_path):
    """The importer audit: SUPER:, INTERCUT WITH:, BEGIN/END FLASHBACK, BACK TO SCENE, （黑场）, 切至： and 闪回（三年前）
    each became a 2.5 s shot of nothing with its words in the prompt."""
    result = import_text(tmp_path, 'INT. OFFICE - DAY\n\nMia reads.\n\nSUPER: "TOKYO, 1999"\n\nINTERCUT WITH:\n\n'
                                   "BEGIN FLASHBACK:\n\nMia, younger.\n\nEND FLASHBACK.\n\nBACK TO SCENE\n\n"
                                   "外景 天台 夜\n\n苏晴站着。\n\n（黑场）\n\n切至：\n\n闪回（三年前）\n\n苏晴：你还记得吗？\n\n苏晴：我记得。\n")
    assert beats(result, 0) == [{"action": "Mia reads."}, {"card": {"kind": "caption", "text": "TOKYO, 1999"}},
                                {"action": "Mia, younger."}]
    assert beats(result, 1) == [{"action": "苏晴站着。"},
                                {"card": {"kind": "caption", "text": "三年前"}, "transition": "fade"},
                                {"line": {"who": "苏晴", "text": "你还记得吗？"}}, {"line": {"who": "苏晴", "text": "我记得。"}}]
    assert "# direction: INTERCUT WITH:" in result.yaml_text and "# direction: BACK TO SCENE" in result.yaml_text
    assert_valid(result, tmp_path)


def test_a_character_introduced_in_action_is_described_and_a_chinese_empty_scene_is_established_in_chinese(tmp_path):
    """The importer audit: every description was a TODO, so the preview voices took random genders (the female lead
    苏晴 spoke as a young man); an empty Chinese scene got "Establishing: 咖啡馆，室内."; a closing FADE OUT. warned."""
    from director.backends.preview.voice import assign_voices

    result = import_text(tmp_path, "内景 咖啡馆 - 日\n\n苏晴（25岁，倔强的女实习生）推门进来。陈默（30岁，冷峻的男总裁）抬头。\n\n"
                                   "苏晴\n（小声）\n你好。\n\n陈默\n坐。\n\n苏晴\n谢谢。\n\n陈默\n嗯。\n\n"
                                   "外景 天台 - 夜\n\nFADE OUT.\n")
    cast = result.screenplay_dict["characters"]
    assert cast["苏晴"]["description"] == "25岁，倔强的女实习生" and cast["陈默"]["description"] == "30岁，冷峻的男总裁"
    voices = assign_voices({i: (c["description"], None, None) for i, c in cast.items()})
    assert voices["苏晴"].preset.startswith("female") and voices["陈默"].preset.startswith("male"), voices
    assert beats(result, 1) == [{"action": "天台，室外，全景。"}]
    assert not any("transition" in str(w) for w in result.warnings), result.warnings
    assert_valid(result, tmp_path)


def test_review_a_colon_inside_a_speech_or_a_one_off_label_is_no_speaker(tmp_path):
    """The review: 我只说一句：你走吧。 inside @苏晴's speech became a character 我只说一句; 手机屏幕显示：妈妈来电 and
    第一集：重生归来 became characters with lines."""
    result = import_text(tmp_path, "第一集：重生归来\n\n内景 医院 - 日\n\n@苏晴\n我只说一句：你走吧。\n\n"
                                   "手机屏幕显示：妈妈来电\n\n短信内容：我到了\n")
    assert list(result.screenplay_dict["characters"]) == ["苏晴"]
    assert beats(result, 0) == [{"line": {"who": "苏晴", "text": "我只说一句：你走吧。"}},
                                {"action": "手机屏幕显示：妈妈来电"}, {"action": "短信内容：我到了"}]


def test_review_long_runs_of_spaces_take_no_time(tmp_path):
    """The review: several optional spaces in a row backtracked over a run of them (400 spaces: 12 s; a 100 KB
    SUPER: line 33 s)."""
    import time

    text = ("内景 医院 - 日\n\n苏晴" + " " * 400 + "x\n\n苏晴" + "\u3000" * 300 + "你好\n\n（" + " " * 800 + "闪回\n\n"
            "SUPER: a" + " " * 100_000 + "b\n\nINT. ROOM - DAY" + " (FLASHBACK)" * 8000 + "\n\nJo waits.\n")
    started = time.perf_counter()
    import_text(tmp_path, text)
    assert time.perf_counter() - started < 5


def test_review_a_super_under_a_heading_waits_for_the_scenes_picture_and_the_phone_and_emotion_words(tmp_path):
    """The review: SUPER: right under a heading became an action of its words; BEN (OVER THE PHONE) became on screen;
    "(quietly angry)" calm; (WHISPERING) (beat) lost both; BEN (still asleep) was Ben's description."""
    result = import_text(tmp_path, 'EXT. TOKYO STREET - NIGHT\n\nSUPER: "TOKYO, 1999"\n\nMIA (20s, yellow raincoat) '
                                   "runs. BEN (still asleep) snores.\n\nBEN (OVER THE PHONE)\nWhere are you?\n\nMIA\n"
                                   "(quietly angry)\nHome.\n\nMIA (WHISPERING)\n(beat)\nNow.\n\nBEN\nOK.\n")
    # the caption before the scene's first picture: a card rides on the shot of the beat after it (the Chinese
    # studio's audit: 字幕：三天后 put after it showed over the scene's second shot)
    assert beats(result, 0)[:2] == [{"card": {"kind": "caption", "text": "TOKYO, 1999"}},
                                    {"action": "MIA (20s, yellow raincoat) runs. BEN (still asleep) snores."}]
    said = [(line["who"], line.get("delivery"), line.get("emotion")) for line in lines(result, 0)]
    assert said[:2] == [("ben", "phone", None), ("mia", None, "angry")], said
    assert {"pause": 0.6} in beats(result, 0) and said[2] == ("mia", None, "whisper"), (beats(result, 0), said)
    cast = result.screenplay_dict["characters"]
    assert cast["mia"]["description"] == "20s, yellow raincoat" and cast["ben"]["description"].startswith("TODO")


def test_names_keep_their_capitals_after_an_apostrophe_or_hyphen_and_a_numbered_english_line_is_action(tmp_path):
    """The importer audit: O'BRIEN became O'brien and JEAN-LUC Jean-luc; "3 hours later - dusk" was read as a
    numbered Chinese-style heading and opened a scene."""
    result = import_text(tmp_path, "INT. BAR - NIGHT\n\nO'BRIEN\nHi.\n\nJEAN-LUC\nHello.\n\n3 hours later - dusk\n\n"
                                   "O'BRIEN\nStill here?\n")
    cast = result.screenplay_dict["characters"]
    assert [c["name"] for c in cast.values()] == ["O'Brien", "Jean-Luc"]
    assert len(result.screenplay_dict["scenes"]) == 1 and {"action": "3 hours later - dusk"} in beats(result, 0)


def test_a_cue_naming_two_speakers_has_both_say_the_line(tmp_path):
    """The importer audit: MIA AND JOSÉ became a third character; each of them says it, together. A pair that never
    speaks alone stays a name (TOM AND JERRY)."""
    result = import_text(tmp_path, "INT. BAR - NIGHT\n\nMIA\nHi.\n\nJOSÉ\nHello.\n\nMIA AND JOSÉ\nSurprise!\n\n"
                                   "TOM AND JERRY\nNo.\n")
    assert list(result.screenplay_dict["characters"]) == ["mia", "jose", "tom-and-jerry"]
    assert lines(result, 0)[2:4] == [{"who": "mia", "text": "Surprise!"},
                                     {"who": "jose", "text": "Surprise!"}]
    assert_valid(result, tmp_path)


# The importer audit (sixteenth round): ordinary 短剧 layouts read as one paragraph of action or a fake character,
# with no warning and exit 0.

def test_a_script_typed_without_blank_lines_keeps_its_scenes_and_speeches(tmp_path):
    result = import_text(tmp_path, "INT. CAFE - NIGHT\nMia sits.\nMIA\nHello.\nREN\n(quietly)\nGo.\n"
                                   "EXT. STREET - NIGHT\nREN\nFine.\n")
    assert [s["location"] for s in result.screenplay_dict["scenes"]] == ["cafe", "street"]
    assert [(x["who"], x["text"]) for x in lines(result)] == [("mia", "Hello."), ("ren", "Go."), ("ren", "Fine.")]
    assert beats(result, 0)[0] == {"action": "Mia sits."}
    assert "no blank lines" in messages(result)
    assert_valid(result, tmp_path)


def test_a_title_page_run_into_the_body_and_a_heading_after_action_are_both_read(tmp_path):
    result = import_text(tmp_path, "标题：雨夜\n编剧：王\n1-1 咖啡馆 日 内\n苏晴：你好。\n陈默：嗯。\n"
                                   "陈默看着她。\n1-2 街道 夜 外\n苏晴：走吧。\n")
    assert result.screenplay_dict["title"] == "雨夜"
    assert [s["location"] for s in result.screenplay_dict["scenes"]] == ["咖啡馆", "街道"]
    assert beats(result, 0)[-1] == {"action": "陈默看着她。"}
    assert_valid(result, tmp_path)


def test_a_name_and_colon_on_its_own_line_heads_the_speech_under_it_and_a_leading_parenthetical_is_no_words(
        tmp_path):
    result = import_text(tmp_path, "内景 咖啡馆 - 夜\n\n林晚：\n你好。\n\n陈默：\n（低声）走吧。\n\n林晚：（冷笑）好。\n")
    said = lines(result)
    assert [(x["who"], x["text"]) for x in said] == [("林晚", "你好。"), ("陈默", "走吧。"), ("林晚", "好。")]
    assert said[1]["emotion"] == "whisper" and said[2]["emotion"] == "sarcastic"
    assert_valid(result, tmp_path)


@pytest.mark.parametrize("heading", ["场景二：街道（夜/外）", "场景二 街道 夜 外", "二、街道 夜 外", "第1集第2场 街道 夜 外"])
def test_more_chinese_heading_styles_start_a_scene(tmp_path, heading):
    result = import_text(tmp_path, f"1-1 咖啡馆 日 内\n\n苏晴：你好。\n\n{heading}\n\n苏晴：走吧。\n\n陈默：嗯。\n")
    scenes = result.screenplay_dict["scenes"]
    assert [(s["location"], s.get("time")) for s in scenes] == [("咖啡馆", "day"), ("街道", "night")]
    assert "场景二" not in result.screenplay_dict["characters"]


def test_a_chinese_cue_with_two_extensions_is_a_cue(tmp_path):
    result = import_text(tmp_path, "内景 咖啡馆 - 夜\n\n陈默（画外音）（续）\n第九句。\n\n陈默\n第十句。\n")
    assert [(x["who"], x["text"], x.get("delivery")) for x in lines(result)] == [
        ("陈默", "第九句。", "vo"), ("陈默", "第十句。", None)]


def test_os_in_brackets_is_inner_voice_typed_deliveries_and_one_character_times_are_read(tmp_path):
    """The importer audit: 苏晴（OS）： was off screen where 苏晴OS： is inner voice; (V.O) and (O.S) were spoken on
    screen, lip-synced; 晚 in a heading named a second place, 咖啡馆-晚."""
    result = import_text(tmp_path, "1-1 咖啡馆 晚 内\n\n苏晴（OS）：他不会来了。\n\n苏晴：你好。\n\n"
                                   "2-1 咖啡馆 日 内\n\n陈默(V.O)\n嗯。\n\n陈默 (O/S)\n好。\n\n陈默（继续）\n走。\n")
    assert [(x["who"], x.get("delivery")) for x in lines(result)] == [
        ("苏晴", "inner"), ("苏晴", None), ("陈默", "vo"), ("陈默", "os"), ("陈默", None)]
    assert [(s["location"], s.get("time")) for s in result.screenplay_dict["scenes"]] == [
        ("咖啡馆", "evening"), ("咖啡馆", "day")]
    assert "parenthetical" not in lines(result)[-1]


def test_shouted_action_is_no_character_a_full_width_at_forces_a_cue_and_utf16_without_a_bom_is_read(tmp_path):
    """The importer audit: BOOM! and SUDDENLY, A SCREAM. above a line of action became characters speaking it;
    ＠苏晴 (a Chinese input method's @) was action; UTF-16 saved without a BOM was called binary."""
    text = ("INT. CAFE - NIGHT\n\nBOOM!\nThe door explodes.\n\nSUDDENLY, A SCREAM.\nMia turns.\n\n"
            "MR. SMITH\nHello.\n\n＠苏晴\n第十句。\n")
    result = import_text(tmp_path, text)
    assert beats(result, 0)[:2] == [{"action": "BOOM! The door explodes."}, {"action": "SUDDENLY, A SCREAM. Mia turns."}]
    assert [(x["who"], x["text"]) for x in lines(result)] == [("mr-smith", "Hello."), ("苏晴", "第十句。")]
    assert_valid(result, tmp_path)
    from director.importers import import_script

    for codec in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{codec}.fountain"
        path.write_bytes(text.encode(codec))
        assert {**import_script(path).screenplay_dict, "title": "script"} == result.screenplay_dict


# What the sixteenth round's importer rules must leave alone (its diff review found each read wrongly).

def test_a_script_of_long_hard_wrapped_speeches_is_not_read_as_typed_without_blank_lines(tmp_path):
    speech = "When I was a boy, my father took\nme to the sea every summer and\nwe would sit on the rocks.\n"
    result = import_text(tmp_path, f"INT. CHURCH - NIGHT\n\nFATHER DOYLE\n{speech}\nDoyle closes the book.\n\n"
                                   f"MARY\n{speech}\nThey leave.\n")
    assert [x["text"] for x in lines(result)] == [" ".join(speech.split())] * 2
    assert "no blank lines" not in messages(result)


def test_names_ending_in_an_initial_or_a_suffix_are_cues_and_a_shouted_sentence_is_not(tmp_path):
    result = import_text(tmp_path, "INT. CAFE - NIGHT\n\nJOHN JR.\nHello.\n\nAGENT K.\nHi.\n\nDR. NO\nNo.\n\n"
                                   "THE DOOR EXPLODES.\nEveryone ducks.\n")
    assert [x["who"] for x in lines(result)] == ["john-jr", "agent-k", "dr-no"]
    assert beats(result, 0)[-1] == {"action": "THE DOOR EXPLODES. Everyone ducks."}


def test_a_chinese_title_page_ends_at_the_first_heading_or_speech(tmp_path):
    result = import_text(tmp_path, "标题：雨夜\n编剧：王\n场景一：咖啡馆（日/内）\n苏晴：你好。\n陈默：嗯。\n苏晴：走吧。\n")
    assert result.screenplay_dict["title"] == "雨夜" and len(lines(result)) == 3


def test_what_a_prop_shows_under_its_label_stays_action_and_a_phone_number_is_words(tmp_path):
    result = import_text(tmp_path, "1-1 咖啡馆 日 内\n\n苏晴：你好。\n\n陈默：嗯。\n\n苏晴：走吧。\n\n手机屏幕显示：\n妈妈来电\n\n"
                                   "陈默：(555) 是谁？\n\n二、计划 晚\n")
    assert "手机屏幕显示" not in result.screenplay_dict["characters"]
    assert {"action": "手机屏幕显示：妈妈来电"} in beats(result, 0) and lines(result)[-1]["text"] == "(555) 是谁？"
    assert len(result.screenplay_dict["scenes"]) == 1  # a list's item with a one-character time is no heading


def test_chinese_utf16_without_a_bom_is_read_with_characters_whose_low_byte_is_zero(tmp_path):
    from director.importers import import_script

    text = "1-1 咖啡馆 日 内\n\n苏晴：一个人？\n\n陈默：一直都是。\n\n苏晴：走吧。\n"
    path = tmp_path / "zh16.fountain"
    path.write_bytes(text.encode("utf-16-le"))
    assert [x["text"] for x in lines(import_script(path))] == ["一个人？", "一直都是。", "走吧。"]


@pytest.mark.parametrize("heading", ["1-2 天台·日·外", "1-2 天台・日・外", "第2场：天台（日·外）", "场景2：天台（日·外）",
                                     "1－2 天台 日 外", "1-2【天台】日 外", "1-2 天台 日外", "1-2 天台 外日"])
def test_chinese_headings_as_studios_type_them_open_their_scene(tmp_path, heading):
    """The Chinese studio's audit: headings written with ·, a full-width minus, the place in 【】 or 日外 run together
    were action, folding the rooftop's scene into the corridor's, without a word."""
    result = import_text(tmp_path, f"1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n\n{heading}\n\n林晚：再见。\n")
    assert [(s["location"], s["time"]) for s in result.screenplay_dict["scenes"]] == [("医院走廊", "night"),
                                                                                      ("天台", "day")]
    assert result.screenplay_dict["locations"]["天台"]["description"].endswith("室外")
    assert_valid(result, tmp_path)


def test_a_name_dot_place_stays_one_place():
    from director.importers.convert import chinese_heading

    assert chinese_heading("1-1 约翰·史密斯的家·夜·内") == ("约翰·史密斯的家", "int", "night", "1-1")


def test_one_line_speakers_a_studio_writes_speak_and_the_rest_are_said(tmp_path):
    """The Chinese studio's audit: 护士A：, 保安1：, Tony：, 林晚、顾言：, a two-line script and @欧阳娜娜： were action --
    the line's voice and subtitle gone -- and nothing said which lines were kept as action."""
    result = import_text(tmp_path, "1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n\n护士A：病人家属在吗？\n\n"
                                   "保安1：站住！\n\nTony：你好。\n\n林晚、顾言：好。\n\n@欧阳娜娜：我来了。\n\n"
                                   "司马相如：走。\n\n手机屏幕显示：妈妈来电\n\n顾言：（沉默）\n\n林晚：（冷笑）\n\n△林晚走了。\n")
    names = result.screenplay_dict["characters"]
    said = [(names[b["line"]["who"]]["name"], b["line"]["text"]) if "line" in b else b for b in beats(result)]
    assert said == [("林晚", "你好。"), ("顾言", "嗯。"), ("护士A", "病人家属在吗？"), ("保安1", "站住！"), ("Tony", "你好。"),
                    ("林晚", "好。"), ("顾言", "好。"), ("欧阳娜娜", "我来了。"), {"action": "司马相如：走。"},
                    {"action": "手机屏幕显示：妈妈来电"}, {"pause": 1.5}, {"action": "林晚走了。"}]
    said = messages(result)
    assert "'司马相如：…' was read as action" in said and "'@司马相如：…'" in said  # the one to check
    assert "手机屏幕显示" not in said  # what a prop shows is action, as it should be
    assert "the parenthetical （冷笑） has no words after it" in said  # bracket-only: a direction, never spoken
    assert names["林晚"]["description"] == "TODO: 描述林晚的长相、年龄和衣着"  # the TODO in the script's language
    two = import_text(tmp_path, "1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n", name="two.fountain")
    assert [(line["who"], line["text"]) for line in lines(two)] == [("林晚", "你好。"), ("顾言", "嗯。")]
    english = import_text(tmp_path, "INT. ROOM - DAY\n\nNote: she runs.\n\nWarning: wet floor.\n", name="en.fountain")
    assert beats(english) == [{"action": "Note: she runs."}, {"action": "Warning: wet floor."}]
    assert_valid(result, tmp_path)


def test_a_time_jump_caption_shows_over_the_first_shot_of_its_scene(tmp_path):
    """The Chinese studio's audit: 字幕：三天后 under a heading burned over the scene's second shot (put after the
    first picture, it rode on the shot after it), and above a heading over the last shot of the scene before."""
    for script in ("1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n\n1-2 天台 日 外\n\n字幕：三天后\n\n△风很大。\n\n顾言：嗯。\n",
                   "1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n\n字幕：三天后\n\n1-2 天台 日 外\n\n△风很大。\n\n顾言：嗯。\n"):
        result = import_text(tmp_path, script)
        assert [next(iter(b)) for b in beats(result, 0)] == ["line", "line"]
        assert beats(result, 1)[:2] == [{"card": {"kind": "caption", "text": "三天后"}}, {"action": "风很大。"}]
        assert_valid(result, tmp_path)


def test_a_chinese_scripts_marked_lines_become_what_they_mark(tmp_path):
    """The Chinese studio's audit: 【字幕】, 音效：, 【BGM：】, 特写：, 【闪回】, （本集完）, 苏晴【冷笑】：, 林晚（内心OS）：
    and 画外音： were drawn as action panels (or made a character named 画外音)."""
    result = import_text(tmp_path, "1-1 医院走廊 夜 内\n\n【闪回】\n\n【字幕】三年前\n\n△风很大。\n\n音效：雷声\n\n"
                                   "【BGM：悲伤】\n\n林晚：你好。\n\n苏晴【冷笑】：嗯。\n\n林晚（内心OS）：他不会来了。\n\n"
                                   "特写：林晚的眼睛\n\n【特写】苏晴\n\n苏晴：走吧。\n\n（字幕：三天后）\n\n音效：奇怪的声音\n\n"
                                   "画外音：那一夜，她做了决定。\n\n（本集完）\n")
    scene = result.screenplay_dict["scenes"][0]
    assert scene["flashback"] is True and list(result.screenplay_dict["characters"]) == ["林晚", "苏晴"]
    assert beats(result) == [
        {"card": {"kind": "caption", "text": "三年前"}}, {"action": "风很大。"}, {"sfx": "雷声"}, {"music": {"mood": "悲伤"}},
        {"line": {"who": "林晚", "text": "你好。"}},
        {"line": {"who": "苏晴", "text": "嗯。", "emotion": "sarcastic", "parenthetical": "（冷笑）"}},
        {"line": {"who": "林晚", "text": "他不会来了。", "delivery": "inner"}},
        {"action": "林晚的眼睛", "shot": {"size": "CU"}},
        {"line": {"who": "苏晴", "text": "走吧。"}, "shot": {"size": "CU"}},
        {"card": {"kind": "caption", "text": "三天后"}}, {"narration": "那一夜，她做了决定。"}]
    assert "the sound '奇怪的声音' is not one director knows; it is kept as a comment" in messages(result)
    assert "# direction: （本集完）" in result.yaml_text and "# sfx: 奇怪的声音" in result.yaml_text
    assert_valid(result, tmp_path)


def test_a_book_title_at_the_top_is_the_title_with_its_episode(tmp_path):
    """The Chinese studio's audit: 《替身新娘》 and 第一集 above the first heading were dropped for the file's name."""
    for script, title in (("《替身新娘》\n\n第一集\n\n1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n", "替身新娘 第一集"),
                          ("《替身新娘》第2集\n1-1 医院走廊 夜 内\n林晚：你好。\n顾言：嗯。\n", "替身新娘 第2集"),
                          ("《替身新娘》\n\n1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯。\n", "替身新娘")):
        result = import_text(tmp_path, script, name="ep.txt")
        assert result.screenplay_dict["title"] == title and len(lines(result)) == 2
        assert not [w for w in result.warnings if "before the first scene heading" in w.message]
        assert_valid(result, tmp_path)


def test_review_a_marked_line_keeps_what_follows_and_times_and_labels_are_no_speakers(tmp_path):
    """The diff review: 【音效：敲门声】林晚猛地抬起头。 dropped the action, 【特写】林晚：… the speech, 【闪回】（三年前） its
    caption; 晚上8：30，… made a character 晚上8 and 镜头1： one named 镜头1; an English `Montage:` above its action
    made a character who spoke it."""
    result = import_text(tmp_path, "1-1 医院走廊 夜 内\n\n【闪回】（三年前）\n\n林晚：他怎么还不回来？\n\n顾言：别等了。\n\n"
                                   "【音效：敲门声】林晚猛地抬起头。\n\n【特写】林晚：我不会放弃的。\n\n晚上8：30，林晚看了看表。\n\n"
                                   "镜头1：林晚推门而入。\n\n下午3:00，顾言来到公司。\n\n她低头一看：手机上没有任何消息。\n")
    assert result.screenplay_dict["scenes"][0]["flashback"] is True
    assert list(result.screenplay_dict["characters"]) == ["林晚", "顾言"]
    assert beats(result)[3:] == [
        {"sfx": "敲门声"}, {"action": "林晚猛地抬起头。"},
        {"line": {"who": "林晚", "text": "我不会放弃的。"}, "shot": {"size": "CU"}},
        {"action": "晚上8：30，林晚看了看表。"}, {"action": "镜头1：林晚推门而入。"}, {"action": "下午3:00，顾言来到公司。"},
        {"action": "她低头一看：手机上没有任何消息。"}]
    assert beats(result)[0] == {"card": {"kind": "caption", "text": "三年前"}}
    assert "她低头一看" not in messages(result)  # prose, not a name: no advice to make it speak
    english = import_text(tmp_path, "EXT. PARK - DAY\n\nMontage:\nMia runs.\n\nMIA\nCatch me!\n\nMontage:\nThey rest.\n",
                          name="en.fountain")
    assert list(english.screenplay_dict["characters"]) == ["mia"]
    assert_valid(result, tmp_path)
