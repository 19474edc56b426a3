"""The shared rules (headings, cues, splitting, ids), reading files, and the result through the real CLI."""
from __future__ import annotations

import codecs
import io
import json
import random
import shutil

import pytest
import yaml

from director.errors import ScreenplayError
from director.ids import is_id
from director.importers import import_script
from director.importers.convert import parse_cue, parse_heading, slug, transition_of
from director.media.linebreak import join, split_text
from director.screenplay import screenplay_problems
from tests.conftest import DATA as PROJECTS
from tests.conftest import director
from tests.importers.helpers import DATA, assert_valid, import_text


@pytest.mark.parametrize("heading, expected", [
    ("INT. HOSPITAL - CORRIDOR - NIGHT", ("HOSPITAL - CORRIDOR", "int", "night", "NIGHT")),
    ("ext. pier – early morning", ("pier", "ext", "dawn", "early morning")),
    ("INT./EXT. CAR - SAME TIME", ("CAR", "int/ext", "continuous", "SAME TIME")),
    ("I/E CAR - DAY (FLASHBACK)", ("CAR", "int/ext", "day", "DAY (FLASHBACK)")),
    ("EST. CITY", ("CITY", "est", None, None)),
    ("EXT. PIER - MAGIC HOUR", ("PIER", "ext", "sunset", "MAGIC HOUR")),
    ("EXT. PIER - WITCHING HOUR", ("PIER", "ext", None, "WITCHING HOUR")),
    ("INT. 医院 - 深夜", ("医院", "int", "night", "深夜")),
    ("1-2 医院走廊 夜 内", ("医院走廊", "int", "night", None)),
    ("第3场 天台 黄昏 外景", ("天台", "ext", "dusk", None)),
    ("12、白天鹅宾馆/日/内外", ("白天鹅宾馆", "int/ext", "day", None)),
    ("内景 咖啡馆 - 日", ("咖啡馆", "int", "day", None)),  # the setting first, unnumbered: the most common
    ("外景 天台 夜", ("天台", "ext", "night", None)),
    ("内景．咖啡馆－日", ("咖啡馆", "int", "day", None)),
    ("内外景 出租车 - 深夜", ("出租车", "int/ext", "night", None)),
    ("内景 咖啡馆", ("咖啡馆", "int", None, None)),  # 内景 says it: no time needed
    ("内景—咖啡馆—日", ("咖啡馆", "int", "day", None)),
    ("外 天台 夜", ("天台", "ext", "night", None)),
])
def test_headings(heading, expected):
    assert parse_heading(heading) == expected


@pytest.mark.parametrize("heading, place, flashback", [
    ("INT. KITCHEN - NIGHT - FLASHBACK", ("KITCHEN", "int", "night"), True),
    ("EXT. PARK - DAY - CONTINUOUS", ("PARK", "ext", "day"), False),
    ("FLASHBACK - MIA'S CHILDHOOD KITCHEN", ("MIA'S CHILDHOOD KITCHEN", None, None), True),
    ("int. kitchen - night (flashback)", ("kitchen", "int", "night"), True),
    ("INT. APARTMENT - NIGHT.", ("APARTMENT", "int", "night"), False),
    ("INT. FLASHBACK - KITCHEN - DAY", ("KITCHEN", "int", "day"), True),
    ("EXT. PARK - CONTINUOUS", ("PARK", "ext", "continuous"), False),
    ("内景 咖啡馆 - 日（闪回）", ("咖啡馆", "int", "day"), True),
])
def test_what_a_heading_says_about_its_scene_is_not_its_place_or_time(heading, place, flashback):
    """The importer audit: ``- FLASHBACK`` after the time made a place "kitchen-night" set in the day, ``.FLASHBACK
    - MIA'S KITCHEN`` a place "flashback", ``DAY - CONTINUOUS`` lost the day and ``NIGHT.`` the night."""
    from director.importers.convert import heading_markers

    text, said = heading_markers(heading)
    assert parse_heading(text)[:3] == place and said == flashback


@pytest.mark.parametrize("action", ["外面下着雨。", "内 心 很乱", "外 面 的人", "外 早上 很冷", "外 下 雨 夜",
                                    "内 她 哭 夜", "外 婆婆 夜里 来了", "外婆来了", "内心 很乱 夜"])
def test_a_sentence_that_starts_with_a_setting_word_is_not_a_heading(action):
    assert parse_heading(action)[1:3] == (None, None)


def test_a_numbered_chinese_sentence_is_not_a_heading():
    assert parse_heading("1. 他说：我们走吧。")[1:3] == (None, None)


@pytest.mark.parametrize("cue, expected", [
    ("LIN", ("LIN", [])), ("LIN (V.O.) (CONT'D)", ("LIN", ["V.O."])), ("DR. O'NEIL(O.S.)", ("DR. O'NEIL", ["O.S."])),
    ("HANS (on the radio)", ("HANS", ["on the radio"])), ("林晚（画外音）", ("林晚", ["画外音"])),
    ("MARA (CONT’D)", ("MARA", [])),
])
def test_cues(cue, expected):
    assert parse_cue(cue) == expected


@pytest.mark.parametrize("words, value", [("CUT TO:", "cut"), ("SMASH CUT TO:", "cut"), ("DISSOLVE TO:", "dissolve"),
                                          ("FADE IN:", "fade"), ("FADE TO BLACK.", "fade"), ("CUT TO BLACK.", "fade"),
                                          ("叠化", "dissolve"), ("WIPE TO:", None)])
def test_transitions(words, value):
    assert transition_of(words) == value


@pytest.mark.parametrize("name, ident", [("LIN", "lin"), ("DR. SMITH", "dr-smith"), ("JOSÉ MARÍA", "jose-maria"),
                                         ("林晚", "林晚"), ("ИВАН", "иван"), ("MARY_JANE", "mary-jane"),
                                         ("???", ""), ("X" * 80, "x" * 64)])
def test_slugs_are_ids(name, ident):
    assert slug(name) == ident and (is_id(ident) or not ident)


def test_split_text_breaks_after_sentences_then_clauses_then_words():
    text = "One two three. Four five six! Seven eight nine?"
    assert split_text(text, 30) == ["One two three. Four five six!", "Seven eight nine?"]
    assert split_text("alpha beta, gamma delta, epsilon", 15) == ["alpha beta,", "gamma delta,", "epsilon"]
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    chinese = "我不走。" * 40
    pieces = split_text(chinese, 50)
    assert "".join(pieces) == chinese and all(len(p) <= 50 and p.endswith("。") for p in pieces)
    assert join("你好", "世界") == "你好世界" and join("Hello", "world") == "Hello world"


def test_reading_errors_name_the_file(tmp_path):
    cases = {"missing.fountain": (None, "missing.fountain:1:1: no such file"),
             "binary.fountain": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is binary"),
             "script.pdf": (b"%PDF-1.7\n", "the file is a PDF, not a screenplay; export it"),
             # not plainly a script in any encoding: the one it most looks like, and how to convert it
             "odd.fountain": (b"INT. ROOM - DAY\n\n" + bytes(range(0x81, 0xFF)) * 2,
                              "odd.fountain:3:1: the file is not UTF-8 text (invalid start byte); it looks like "
                              "GBK/GB18030; convert it with: iconv -f GB18030 -t UTF-8 odd.fountain > fixed.fountain"),
             "empty.fountain": (b"\n\n", "empty.fountain:1:1: the script is empty"),
             "title_only.fountain": (b"Title: Nothing Yet\nAuthor: Me\n", "the script is empty"),
             "notes.txt": (b"Buy milk.\nCall Jo.\n", "notes.txt:1:1: no scene headings found")}
    with open(tmp_path / "huge.fountain", "wb") as huge:
        huge.truncate(5 * 1024 * 1024)
    cases["huge.fountain"] = (None, "huge.fountain:1:1: the file is 5.2 MB; a screenplay is at most 4 MB")
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ScreenplayError) as caught:
            import_script(tmp_path / name)
        assert message in str(caught.value), name


def test_a_script_saved_as_gbk_or_big5_is_read_as_it_is_with_a_warning(tmp_path):
    """The Chinese studio's audit: Windows Notepad saved a Chinese script as GBK, and import refused it with an
    iconv command (Windows has none). A file that plainly reads as a script in one encoding is read so, and said."""
    cases = {"gbk.txt": ("1-1 医院走廊 夜 内\n\n林晚：你好。\n\n顾言：嗯，再见。\n", "gbk", "GBK/GB18030"),
             # GB18030 decodes nearly any bytes: a Big5 script was told to convert from it (garbled: ず春 〡柏繻)
             "big5.txt": ("內景 咖啡館 - 日\n\n陳默：你來了。\n\n林晚：嗯，我來了。\n", "big5", "Big5"),
             "cp1252.fountain": ("INT. CAFÉ - DAY\n\nJOSÉ\nOlá, señor.\n", "cp1252", "Windows-1252")}
    for name, (text, encoding, said) in cases.items():
        (tmp_path / name).write_bytes(text.encode(encoding))
        result = import_script(tmp_path / name)
        utf8 = tmp_path / f"utf8-{name}"
        utf8.write_text(text, encoding="utf-8")
        assert result.screenplay_dict["scenes"] == import_script(utf8).screenplay_dict["scenes"], name
        assert str(result.warnings[0]).startswith(f"{tmp_path / name}:1:1: warning: the file is not UTF-8: it was "
                                                  f"read as {said}, which it looks like"), result.warnings


def test_a_damaged_utf8_file_and_english_with_curly_quotes_are_never_read_as_mojibake(tmp_path):
    """The diff review: a UTF-8 script with one stray Latin-1 byte was re-read whole as Shift-JIS (林晚 -> 譫玲劒), and
    Windows-1252 English with a curly apostrophe as Shift-JIS (Mia’s -> Mia痴)."""
    damaged = "1-1 医院走廊 夜 内\n\n林晚：你回来了。\n\n顾言：嗯。\n\nJOSÉ waits.\n".encode("utf-8").replace(
        "É".encode("utf-8"), b"\xc9")
    (tmp_path / "damaged.fountain").write_bytes(damaged)
    with pytest.raises(ScreenplayError, match="damaged.fountain:7:1: the file is not UTF-8 text"):
        import_script(tmp_path / "damaged.fountain")
    (tmp_path / "curly.fountain").write_bytes("INT. ROOM - DAY\n\nMia’s here. I don’t know.\n".encode("cp1252"))
    result = import_script(tmp_path / "curly.fountain")
    assert result.screenplay_dict["scenes"][0]["beats"] == [{"action": "Mia’s here. I don’t know."}]
    assert "read as Windows-1252" in str(result.warnings[0])


def test_utf16_and_a_bom_are_read(tmp_path):
    text = "INT. ROOM - DAY\r\n\r\nLin waits.\r\n"
    for name, raw in (("utf16.fountain", codecs.BOM_UTF16_LE + text.encode("utf-16-le")),
                      ("bom.fountain", codecs.BOM_UTF8 + text.encode())):
        (tmp_path / name).write_bytes(raw)
        assert import_script(tmp_path / name).screenplay_dict["scenes"][0]["beats"] == [{"action": "Lin waits."}]


def test_the_title_falls_back_to_the_file_name_and_text_is_printable(tmp_path):
    result = import_text(tmp_path, "INT. ROOM - DAY\n\nLin\x07 waits\u2028 \"quoted\" # not a comment: yes\n",
                         "my_pilot.fountain")
    assert result.screenplay_dict["title"] == "my_pilot"
    assert result.screenplay_dict["scenes"][0]["beats"] == [{"action": 'Lin waits "quoted" # not a comment: yes'}]
    assert_valid(result, tmp_path)


def test_imported_scripts_validate_and_render_with_the_cli(tmp_path):
    """`director import` writes the screenplay; it validates and renders, its dissolve from a run of shots into a
    single shot included (that join once failed in ffmpeg on mismatched time bases)."""
    project = tmp_path / "show"
    project.mkdir()
    shutil.copy(PROJECTS / "short/director.yaml", project)
    summary = json.loads(director("--json", "import", str(DATA / "two_scenes.fountain"), "-o",
                                  str(project / "screenplay.yaml"), check=True).stdout)
    assert summary["scenes"] == 2 and summary["warnings"] == []
    with open(project / "screenplay.yaml", "a", encoding="utf-8") as f:
        f.write('format: {aspect: "9:16", width: 216, height: 384, fps: 24}\n')
    out = json.loads(director("-p", str(project), "--json", "validate", check=True).stdout)
    assert out["valid"] is True
    director("-p", str(project), "render", check=True, timeout=120)
    assert (project / "out/screenplay/episode.mp4").stat().st_size > 0
    shots = yaml.safe_load((project / "shots/screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert [s["transition"] for s in shots][-1] == "dissolve"  # a run of several shots dissolves into one shot
    # an existing output is kept unless --force; a broken script is a file:line error (exit 3), no traceback
    again = director("import", str(DATA / "two_scenes.fountain"), "-o", str(project / "screenplay.yaml"))
    assert again.returncode == 2 and "--force" in again.stderr
    bad = director("import", str(DATA / "malformed.fdx"))
    assert bad.returncode == 3 and "malformed.fdx:5:" in bad.stderr and "Traceback" not in bad.stderr
    printed = director("import", str(DATA / "two_scenes.fountain"), "-o", "-", cwd=tmp_path, check=True)
    assert printed.stdout.startswith("# Imported from two_scenes.fountain") and not (tmp_path / "-").exists()


def test_a_script_piped_in_imports_as_its_file_would(tmp_path):
    """`director import -` reads standard input (a script pasted from a writing app): Fountain or FDX told by its
    content, its source named <stdin>; nothing piped in, or another encoding, is a located error a user can act on."""
    fountain = (DATA / "two_scenes.fountain").read_text(encoding="utf-8")
    out = tmp_path / "piped.yaml"
    summary = json.loads(director("--json", "import", "-", "-o", str(out), stdin=fountain, check=True).stdout)
    from_file = import_script(DATA / "two_scenes.fountain").screenplay_dict
    piped = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert summary["scenes"] == len(from_file["scenes"]) == 2 and piped["scenes"] == from_file["scenes"]
    assert out.read_text(encoding="utf-8").startswith("# Imported from <stdin>")
    assert piped["characters"] == from_file["characters"]
    empty = director("import", "-", stdin="")
    assert empty.returncode == 3 and "<stdin>:1:1: standard input was empty" in empty.stderr
    # in the library: an FDX piped in is read as FDX; another encoding names the iconv for the pipe; an endless pipe stops
    fdx = import_script(None, io.BytesIO((DATA / "night_ferry.fdx").read_bytes())).screenplay_dict
    assert fdx["scenes"] and fdx["title"] != "-"
    with pytest.raises(ScreenplayError, match=r"<stdin>:1:1: .*\| iconv -f GB18030 -t UTF-8 \| director import -"):
        import_script(None, io.BytesIO(bytes(range(0x81, 0xFF)) * 2))
    with pytest.raises(ScreenplayError, match="standard input holds over 4 MB; a screenplay is at most 4 MB"):
        import_script(None, io.BytesIO(b"a" * (5 * 1024 * 1024)))


def test_a_file_named_dash_a_closed_stdin_and_an_fdx_in_utf16_or_opening_on_a_comment(tmp_path, monkeypatch):
    """The diff review: `import ./-` read standard input (the argument became the path "-"), a closed standard
    input was an internal error, and a UTF-16 or comment-first FDX piped in was read as Fountain."""
    (tmp_path / "-").write_text((DATA / "two_scenes.fountain").read_text(encoding="utf-8"), encoding="utf-8")
    named = director("import", "./-", cwd=tmp_path, stdin="")
    assert named.returncode == 0 and named.stdout.startswith("# Imported from - by"), named.stderr
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(ScreenplayError, match="<stdin>:1:1: standard input is closed"):
        import_script(None)
    fdx = (DATA / "night_ferry.fdx").read_text(encoding="utf-8")
    expected = import_script(DATA / "night_ferry.fdx").screenplay_dict["scenes"]
    for raw in (fdx.encode("utf-16"),  # still declaring UTF-8, as iconv leaves it
                fdx.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
                ("<!-- exported -->\n" + fdx.split("?>", 1)[1]).encode("utf-8")):
        assert import_script(None, io.BytesIO(raw)).screenplay_dict["scenes"] == expected


@pytest.mark.parametrize("what, script", [
    ("parenthetical", "INT. ROOM - DAY\n\nANNA\n(" + "softly " * 20000 + ")\nHello.\n"),
    ("parenthetical", "INT. ROOM - DAY\n\nANNA\n" + "(quietly)\n" * 15000 + "Hello.\n"),
    ("title", "Title: " + "Long " * 30000 + "\n\nINT. ROOM - DAY\n\nAnna waits.\n"),
    ("place in the heading", "INT. " + "ROOM " * 30000 + "- DAY\n\nAnna waits.\n"),
    ("character's name", "INT. ROOM - DAY\n\n@" + "Anna" * 30000 + "\nHello.\n"),
])
def test_an_over_long_value_is_cut_with_a_warning_and_the_screenplay_validates(tmp_path, what, script):
    """The importer wrote values past the validator's 100,000 characters (every command then refused the file);
    a title, place, name or parenthetical longer than a screenplay holds is cut at a word and said."""
    result = import_text(tmp_path, script)
    assert [w.message for w in result.warnings if "characters long" in w.message] == [
        next(w.message for w in result.warnings if w.message.startswith(f"the {what} is "))]
    assert_valid(result, tmp_path)
    assert max(len(line) for line in result.yaml_text.splitlines()) < 2000
    assert all(len(w.message) <= 700 for w in result.warnings)  # a warning quoting the text: its start and advice
    if what == "parenthetical":
        assert result.yaml_text.count("…)") == 1  # cut inside its brackets, closed again


def test_two_places_cut_to_the_same_words_stay_two_and_comments_and_warnings_are_bounded(tmp_path):
    room = "ROOM " * 60
    result = import_text(tmp_path, f"Title: X\nNotes: {'note ' * 30000}\n\nINT. {room}ONE - DAY\n\nAnna waits.\n\n"
                                   f"INT. {room}TWO - NIGHT\n\nBo waits.\n\nANNA (WEIRD {'X' * 30000})\nHi.\n")
    assert len(result.screenplay_dict["locations"]) == 2
    assert max(len(line) for line in result.yaml_text.splitlines()) < 1000
    assert all(len(w.message) <= 700 for w in result.warnings) and any("WEIRD" in w.message for w in result.warnings)
    assert_valid(result, tmp_path)


@pytest.mark.parametrize("text, kept", [
    ("a" * 198 + "e\u0301" + "z" * 10, "a" * 198 + "…"),  # é as e + accent: both or neither
    ("a" * 197 + "👨\u200d👩\u200d👧" + "z" * 10, "a" * 197 + "…"),  # a family joined by ZWJ
    ("a" * 197 + "🇨🇳🇫🇷" + "z", "a" * 197 + "🇨🇳…"),  # flags are pairs of regional indicators
    ("a" * 198 + "🇨🇳🇫🇷" + "z", "a" * 198 + "…"),
    ("a" * 198 + "👍🏽" + "z" * 10, "a" * 198 + "…"),  # a skin tone belongs to its hand
    ("林" * 300, "林" * 199 + "…"),
])
def test_a_cut_never_splits_a_character_as_a_reader_sees_it(text, kept):
    from director.importers.convert import shortened

    assert shortened(text, 200) == kept


def test_a_new_project_starts_from_a_script(tmp_path):
    made = json.loads(director("--json", "new", str(tmp_path / "ward"), "--from", str(DATA / "hospital_zh.fountain"),
                               check=True, cwd=tmp_path).stdout)
    assert made["template"] == "vertical-drama-zh"  # a Chinese script picks the Chinese template (it took English)
    text = (tmp_path / "ward/screenplay.yaml").read_text(encoding="utf-8")
    assert "language: zh-CN" in text and "hospital_zh.fountain:" in text
    assert json.loads(director("-p", str(tmp_path / "ward"), "--json", "validate", check=True).stdout)["valid"]
    failed = director("new", str(tmp_path / "nothing"), "--from", str(DATA / "doctype.fdx"), cwd=tmp_path)
    assert failed.returncode == 3 and not (tmp_path / "nothing").exists()


_LINES = ["INT. ROOM - DAY", "EXT. PIER - NIGHT #3#", ".FORCED", "INT. " + "Y" * 900, "LIN", "LIN (V.O.)", "BO ^",
          "@lin", "(beat)", "（低声）", "Hello there.", "CUT TO:", "> FADE OUT.", ">THE END<", "[[note", "]]", "/*",
          "*/", "# Act", "= synopsis", "===", "~la la", "!BANG", "  ", "", "", "", "Title: X", "    indented",
          "1. 医院 夜 内", "@旁白", "NARRATOR", "INT. NO - YES", "**bold** _u_ *i*", "\\*", "a" * 350, "Word. " * 150,
          "林晚", "\t", "\x07\u2028\x85", "I/E", "INT.", "INT. - - -", "(", "()", "@", "^", ">", "...", ".", "!", "~",
          "#", "=", "MARA (CONT'D) (O.S.)", "INT. Ä - DAY", "INT. ___ - DAY", "NO", "yes: no # [x] {y}"]


def test_any_mix_of_fountain_lines_imports_valid_or_fails_cleanly(tmp_path):
    """Seeded random scripts from lines that stress the reader: a clean error or a screenplay that validates."""
    rng = random.Random(7)
    imported = 0
    for case in range(300):
        path = tmp_path / f"case{case}.fountain"
        path.write_text("\n".join(rng.choice(_LINES) for _ in range(rng.randint(0, 30))), encoding="utf-8")
        try:
            result = import_script(path)
        except ScreenplayError:
            continue
        target = tmp_path / "screenplay.yaml"
        target.write_text(result.yaml_text, encoding="utf-8")
        assert [p for p in screenplay_problems(target)[1] if "still a TODO" not in p.message] == [], path.read_text()
        imported += 1
    assert imported > 100
