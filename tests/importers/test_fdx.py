"""Final Draft (.fdx) -> screenplay YAML, and the XML it refuses."""
from __future__ import annotations

import time

import pytest

from director.errors import ExitCode, ScreenplayError
from tests.importers.helpers import assert_valid, beats, import_text, imported, lines, messages


@pytest.fixture(scope="module")
def ferry():
    return imported("night_ferry.fdx")


def test_the_script_validates_and_reads_back_as_its_dict(ferry, tmp_path):
    assert_valid(ferry, tmp_path)


def test_the_title_page_gives_the_title_and_the_rest_are_comments(ferry):
    assert ferry.screenplay_dict["title"] == "THE NIGHT FERRY"
    assert "# Written by Wen Halloway\ntitle:" in ferry.yaml_text


def test_paragraph_types_map_to_scenes_and_beats(ferry):
    sp = ferry.screenplay_dict
    assert [(s["id"], s["location"], s["time"]) for s in sp["scenes"]] == [("s1", "harbour-pier", "night"),
                                                                           ("s2", "ticket-office", "continuous")]
    assert beats(ferry, 0) == [
        {"action": "Rain hammers the empty pier. Mara runs for the ramp & slips.", "transition": "fade"},  # Text runs
        {"line": {"who": "mara", "text": "Wait! Please wait!", "emotion": "breathless",
                  "parenthetical": "(breathless)"}},
        {"line": {"who": "ferryman", "text": "Last crossing was at midnight, miss.", "delivery": "os"}},  # no note
    ]
    office = beats(ferry, 1)
    # a shot that says what it shows is a beat of its own (one that only frames is the next beat's hint: below)
    assert office[0] == {"action": "CLOSE ON THE COIN TRAY", "shot": {"size": "CU"}, "transition": "dissolve"}
    assert office[1] == {"action": "Coins, buttons, a ferry token."}  # General
    assert [(line["who"], line["text"], line.get("delivery")) for line in lines(ferry, 1)] == [
        ("brick", "Toast again?", None), ("steel", "Toast again!", None), ("mara", "I should have walked away.", "vo")]
    assert office[-1] == {"action": "Mara decides."}
    assert "night_ferry.fdx:74:1: warning: paragraph type 'Outline 1' is read as action" in messages(ferry)


def test_dual_dialogue_scene_numbers_and_acts_are_comments(ferry):
    text = ferry.yaml_text
    assert "# dual dialogue: said at the same time as the line before\n      - line: {who: steel" in text
    assert "- id: s2  # INT. TICKET OFFICE - SAME (scene 2A) (night_ferry.fdx:43)" in text
    assert "  # new act: ACT ONE\n  - id: s1" in text


def test_each_beat_names_the_line_of_its_paragraph(ferry):
    assert '- action: "Coins, buttons, a ferry token."  # night_ferry.fdx:49' in ferry.yaml_text
    assert "- line: {who: steel, text: \"Toast again!\"}  # night_ferry.fdx:63" in ferry.yaml_text


def _fdx(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<FinalDraft Version="5">\n{body}\n</FinalDraft>\n'


def test_malformed_xml_names_the_line_and_column():
    with pytest.raises(ScreenplayError) as caught:
        imported("malformed.fdx")
    assert str(caught.value).endswith("malformed.fdx:5:48: not well-formed XML: mismatched tag")
    assert caught.value.exit_code == ExitCode.INVALID


def test_a_doctype_is_refused_before_any_entity_expands():
    start = time.perf_counter()
    with pytest.raises(ScreenplayError, match=r"doctype\.fdx:2:1: the file has a DOCTYPE declaration"):
        imported("doctype.fdx")
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("text, message", [
    ('<?xml version="1.0"?>\n<html><body/></html>\n', "script.fdx:2:1: not a Final Draft script: the document "
                                                      "holds <html> where <FinalDraft> was expected"),
    (_fdx("<Content><Paragraph Type=\"Action\"><Text/></Paragraph></Content>"),
     "script.fdx:1:1: the script is empty"),
    (_fdx("<Content><Paragraph Type=\"Action\"><Text>Lin waits.</Text></Paragraph></Content>"),
     "script.fdx:3:1: no scene headings found"),
    ('<?xml version="1.0"?>\n<FinalDraft><Content><Paragraph Type="Action"><Text>&nbsp;</Text>',
     "script.fdx:2:53: not well-formed XML: undefined entity"),
])
def test_what_is_not_a_final_draft_script_is_a_located_error(tmp_path, text, message):
    with pytest.raises(ScreenplayError) as caught:
        import_text(tmp_path, text, "script.fdx")
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_shot_paragraph_frames_the_next_beat_and_one_left_at_the_end_is_kept(tmp_path):
    """`Shot: WIDE SHOT` before a line was an action beat of its own (the planner gave it an empty 2.5 s shot of
    the words) and the line kept the planner's size."""
    def para(kind: str, text: str) -> str:
        return f'<Paragraph Type="{kind}"><Text>{text}</Text></Paragraph>'
    body = "".join([para("Scene Heading", "INT. GARAGE - NIGHT"), para("Shot", "CLOSE ON MAX"),
                    para("Action", "Max wipes his hands."), para("Shot", "INSERT - THE NOTE: I KNOW"),
                    para("Shot", "WIDE SHOT"), para("Character", "MAX"),
                    para("Dialogue", "Who's there?"), para("Shot", "ANGLE ON THE DOOR")])
    result = import_text(tmp_path, _fdx(f"<Content>{body}</Content>"), "shot.fdx")
    assert beats(result, 0) == [{"action": "Max wipes his hands.", "shot": {"size": "CU"}},  # Max: named later
                                # a shot that says what it shows stays a beat the planner reads
                                {"action": "INSERT - THE NOTE: I KNOW", "shot": {"size": "ECU"}},
                                {"line": {"who": "max", "text": "Who's there?"}, "shot": {"size": "WS"}},
                                {"action": "ANGLE ON THE DOOR"}]
    assert "# shot: WIDE SHOT\n      - line:" in result.yaml_text
    assert_valid(result, tmp_path)


def test_a_title_taken_from_the_file_name_is_one_clean_line(tmp_path):
    result = import_text(tmp_path, "INT. A - DAY\n\nMIA\nHi.\n", "y\nnarrator: x\t#.fountain")
    assert result.screenplay_dict["title"] == "y narrator: x #"
    assert_valid(result, tmp_path)


def test_a_windows_1252_file_without_a_declaration_is_told_what_it_looks_like(tmp_path):
    """The importer audit: a Windows-1252 FDX without an encoding declaration failed with "not well-formed (invalid
    token)" and no word of its encoding."""
    from director.importers import import_script

    path = tmp_path / "cafe.fdx"
    path.write_bytes('<FinalDraft DocumentType="Script" Version="5"><Content><Paragraph Type="Scene Heading">'
                     '<Text>INT. CAFÉ - DAY</Text></Paragraph></Content></FinalDraft>'.encode("cp1252"))
    with pytest.raises(ScreenplayError) as caught:
        import_script(path)
    assert "not UTF-8" in str(caught.value) and "Windows-1252" in str(caught.value)


def test_a_scenes_summary_is_kept_as_its_synopsis(tmp_path):
    """The importer audit: Final Draft's scene summary was dropped, where a Fountain synopsis is kept."""
    result = import_text(tmp_path, '<?xml version="1.0" encoding="UTF-8"?><FinalDraft DocumentType="Script" '
                                   'Version="5"><Content><Paragraph Type="Scene Heading"><SceneProperties><Summary>'
                                   '<Paragraph><Text>Mia learns the truth.</Text></Paragraph></Summary>'
                                   '</SceneProperties><Text>INT. CAFE - DAY</Text></Paragraph>'
                                   '<Paragraph Type="Action"><Text>Mia waits.</Text></Paragraph></Content></FinalDraft>',
                         name="s.fdx")
    assert "# synopsis: Mia learns the truth." in result.yaml_text
    assert beats(result, 0) == [{"action": "Mia waits."}]


@pytest.mark.parametrize("encoding", ["GBK", "gb2312", "GB18030"])
def test_a_chinese_fdx_declaring_a_multi_byte_encoding_is_read(tmp_path, encoding):
    """The importer audit: expat reads no multi-byte encoding but UTF-8/16, and an FDX declaring GBK stopped on
    "internal error: ValueError: multi-byte encodings are not supported"."""
    from director.importers import import_script

    body = _fdx('<Content><Paragraph Type="Scene Heading"><Text>内景 咖啡馆 - 夜</Text></Paragraph>'
                '<Paragraph Type="Character"><Text>林晚</Text></Paragraph>'
                '<Paragraph Type="Dialogue"><Text>你好。</Text></Paragraph></Content>').split("\n", 1)[1]
    path = tmp_path / "zh.fdx"
    path.write_bytes(f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode(encoding))
    result = import_script(path)
    assert [(x["who"], x["text"]) for x in lines(result)] == [("林晚", "你好。")]
    assert_valid(result, tmp_path)
    path.write_bytes(f'<?xml version="1.0"?>\n{body}'.encode("gbk"))  # undeclared: told it is GBK, not cp1252
    with pytest.raises(ScreenplayError) as caught:
        import_script(path)
    assert "GBK" in str(caught.value) and "windows-1252" not in str(caught.value).lower()


def test_two_framing_shots_in_a_row_frame_the_beat_and_chinese_shot_sizes_are_read(tmp_path):
    """The importer audit: WIDE SHOT then ANGLE ON 陈默 made an empty action beat "WIDE SHOT" (which also took the
    scene's transition); 特写 林晚, 近景, 全景 became action beats of those words."""
    def para(kind: str, text: str) -> str:
        return f'<Paragraph Type="{kind}"><Text>{text}</Text></Paragraph>'
    body = "".join([para("Scene Heading", "内景 咖啡馆 - 夜"), para("Shot", "WIDE SHOT"), para("Shot", "特写 林晚"),
                    para("Character", "林晚"), para("Dialogue", "你好。"), para("Shot", "近景"),
                    para("Character", "林晚"), para("Dialogue", "走吧。"), para("Shot", "全景"),
                    para("Action", "两人离开。")])
    result = import_text(tmp_path, _fdx(f"<Content>{body}</Content>"), "zh.fdx")
    assert beats(result, 0) == [{"line": {"who": "林晚", "text": "你好。"}, "shot": {"size": "CU"}},
                                {"line": {"who": "林晚", "text": "走吧。"}, "shot": {"size": "MCU"}},
                                {"action": "两人离开。", "shot": {"size": "WS"}}]
    assert_valid(result, tmp_path)


@pytest.mark.parametrize("encoding", ["punycode", "undefined", "rot13"])
def test_a_declared_encoding_that_is_no_text_encoding_is_a_located_error(tmp_path, encoding):
    """The diff review: encoding="undefined" or "punycode" stopped on an internal error (a UnicodeError that is
    no UnicodeDecodeError; rot13 is no text encoding at all)."""
    from director.importers import import_script

    path = tmp_path / "odd.fdx"
    path.write_bytes(f'<?xml version="1.0" encoding="{encoding}"?><FinalDraft><Content/></FinalDraft>'.encode())
    with pytest.raises(ScreenplayError) as caught:
        import_script(path)
    assert "encoding" in str(caught.value)
