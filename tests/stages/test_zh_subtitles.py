"""Chinese subtitles broken by words, as short dramas do them (media/linebreak.py, stages/subtitles.py)."""
from __future__ import annotations

import json

import pysubs2
import pytest
import yaml

from director.media.fonts import font
from director.media.linebreak import NO_LINE_START, words, wrap, zh_drama
from tests.conftest import director, make_project

pytest.importorskip("jieba")

# (sentence, words that must never be split across two lines)
SENTENCES = [
    ("他欠了我四十万块钱，说好三天之内还清。", ["四十万", "三天"]),
    ("凌晨三点，周明远还一个人守在医院门口。", ["凌晨", "三点", "周明远", "医院"]),
    ("她的眼神和当年一模一样，让人莫名其妙地心慌。", ["眼神", "一模一样", "莫名其妙"]),
    ("2002年夏天，我们在车站第一次见面。", ["2002年", "夏天", "第一次"]),
    ("你必须在3天之内把这笔钱还给林晓雨！", ["3天", "林晓雨"]),
    ("这份合同价值1200万元，董事会明天上午九点开会。", ["1200万元", "董事会", "九点"]),
]
NAMES = ("周明远", "林晓雨")


@pytest.mark.parametrize("width_chars", [5, 7, 9, 12])
@pytest.mark.parametrize("sentence,whole", SENTENCES)
def test_lines_break_between_words_never_inside_them(sentence, whole, width_chars):
    fnt = font(40)
    max_width = fnt.getlength("中" * width_chars)
    lines = wrap(sentence, fnt.getlength, max_width, NAMES)
    assert "".join(lines) == sentence  # nothing lost or added
    for line in lines:
        hung = line.rstrip("".join(NO_LINE_START))  # closing punctuation hangs past the measure
        assert fnt.getlength(hung) <= max_width + 0.5, (line, width_chars)
        assert line[0] not in NO_LINE_START, lines
    for word in whole:
        assert any(word in line for line in lines), (word, lines)


def test_two_lines_are_balanced():
    fnt = font(40)
    sentence = "我等了你整整十年，你却连一句解释都没有。"
    lines = wrap(sentence, fnt.getlength, fnt.getlength("中" * 16), ())
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 3, lines


def test_numbers_stay_with_their_units_and_punctuation_with_its_word():
    assert "四十万" in words("欠了四十万块钱") or "四十万块钱" in words("欠了四十万块钱")
    assert any(w.startswith("3天") for w in words("3天之内"))
    assert all(w[0] not in NO_LINE_START for w in words("好，走吧。快！"))


def test_small_print_breaks_chinese_by_character_without_loading_jieba():
    """The storyboard's captions (``segment=False``): the punctuation rules hold, jieba's dictionary (~0.7 s,
    ~70 MB in the render's process) is never loaded; the subtitles' own breaking (``segment=True``) loads it."""
    import subprocess
    import sys

    probe = ("import json, sys; from director.media.fonts import font, wrap_text\n"
             "lines = wrap_text('我等了你整整十年，你却连一句解释都没有。' * 2, font(13), 150, 3, segment={})\n"
             "print(json.dumps([lines, 'jieba' in sys.modules]))")
    for segment, loads in ((False, False), (True, True)):
        out = subprocess.run([sys.executable, "-c", probe.format(segment)], capture_output=True, text=True,
                             check=True).stdout
        lines, loaded = json.loads(out)
        assert loaded == loads, out
        assert len(lines) == 3 and lines[-1].endswith("…") and not any(ln[0] in NO_LINE_START for ln in lines)


def test_an_english_line_with_latin_names_never_loads_jieba():
    """The subtitles' breaking registers the cast's names with jieba only when a name is written in Han
    characters: an English episode never imports it (~18 ms of every render that burned subtitles)."""
    import subprocess
    import sys

    probe = ("import json, sys; from director.media.linebreak import words\n"
             "print(json.dumps([words({!r}, {!r}), 'jieba' in sys.modules]))")
    for text, names, loads in (("You're late again.", ("Mia", "Ren"), False), ("任先生，你迟到了。", ("任",), True)):
        out = subprocess.run([sys.executable, "-c", probe.format(text, names)], capture_output=True, text=True,
                             check=True).stdout
        pieces, loaded = json.loads(out)
        assert "".join(pieces) == text and loaded == loads, out


def test_short_drama_style_drops_end_punctuation_and_spaces_commas():
    assert zh_drama("凌晨三点，他还在医院。") == "凌晨三点 他还在医院"
    assert zh_drama("你疯了吗？") == "你疯了吗？"  # ? and ! carry meaning and stay
    assert zh_drama("晚上8：45，老地方。") == "晚上8：45 老地方"  # inside a number they stay


def test_half_width_punctuation_in_chinese_words_is_set_full_width():
    from director.media.linebreak import full_width

    assert full_width("你好,我是林晚.很高兴认识你!你叫什么名字?") == "你好，我是林晚。很高兴认识你！你叫什么名字？"
    assert full_width('"你走吧"，她说:"走!!"') == "“你走吧”，她说：“走！！”"
    assert full_width("价格是3.5元,现在8:45了") == "价格是3.5元，现在8:45了"  # numbers keep theirs
    assert full_width("Tony, OK. 等等...") == "Tony, OK. 等等..."  # after Latin words, and an ellipsis, as typed
    assert full_width("等一下:)") == "等一下:)"  # a face, not a colon


def test_a_long_run_of_dates_breaks_between_its_parts_never_inside_a_number_and_its_unit():
    from director.media.linebreak import DATE_UNIT, words

    units = words("他说：12月1日2日3日4日5日6日7日8日9日10日我都不在家")
    assert "".join(units) == "他说：12月1日2日3日4日5日6日7日8日9日10日我都不在家"
    dated = [u for u in units if "日" in u]
    assert len(dated) > 1 and all(len(u) <= DATE_UNIT + 1 and u[0] != "日" for u in dated), units


def test_a_chinese_episode_gets_word_broken_short_drama_subtitles(tmp_path):
    project = make_project(tmp_path, size=(216, 384))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    data["language"] = "zh-CN"
    data["characters"]["ana"]["name"] = "周明远"
    data["characters"]["bo"]["name"] = "林晓雨"
    data["scenes"][0]["beats"][1]["line"]["text"] = "凌晨三点，周明远还一个人守在医院门口，等着那四十万块钱。"
    data["scenes"][0]["beats"][2]["line"]["text"] = "林晓雨说好三天之内还清,对吧?"  # typed half-width
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(project), "render", "--until", "subtitles", check=True)
    subs = pysubs2.load(str(next((project / ".director" / "cache" / "subtitles").rglob("episode.ass"))))
    lines = [ln for e in subs for ln in e.text.split("\\N")]
    text = "".join(lines)
    for word in ("凌晨", "三点", "周明远", "医院", "四十万", "林晓雨", "三天"):
        assert any(word in ln for ln in lines), (word, lines)
    assert not any(ln.endswith(("。", "，")) for ln in lines) and "，" not in text  # zh-drama style (zh default)
    assert "," not in text and "?" not in text and "对吧？" in text  # the Chinese audit: set as Chinese punctuation
    assert all(ln and ln[0] not in NO_LINE_START for ln in lines)
    assert all(e.end - e.start >= 800 for e in subs), [(e.start, e.end) for e in subs]  # no cue under 0.8 s
    status = json.loads(director("-p", str(project), "--json", "status", check=True).stdout)
    assert status["to_run"] > 0  # the rest of the render is still ahead


def test_a_long_english_line_changes_cue_between_clauses_keeping_every_space():
    from director.stages.subtitles import layout

    text = ("I drove all night through the rain, past the bridge and the old mill, and you were not there. "
            "Where were you when the lights went out over the whole city?")
    cues = layout(text, 0.0, 10.0, 216, 384, 0.034, 2)
    assert len(cues) > 1 and all(len(c.lines) <= 2 for c in cues)
    shown = " ".join(" ".join(c.lines) for c in cues)
    assert shown.split() == text.split()  # no word lost or glued to its neighbour


# (line, what must be shown whole in one line of one cue)
KEPT_WHOLE = [
    ("喂，是我。明天上午10:30，带上DNA检测报告。", "10:30"),
    ("晚上8：45在老地方见。", "8：45"),  # a colon typed with the Chinese input method
    ("全体3:2的比例投票通过了这个决定，你们还有什么话说？", "3:2"),
    ("我把1,000元全部给了他，还有3.1415926的利息你也得算清楚。", "1,000"),
    ("我把1,000元全部给了他，还有3.1415926的利息你也得算清楚。", "3.1415926"),
    # a date and a time of several parts (the Chinese audit: 晚上11点 | 59分 at 1080x1920)
    ("2025年12月31日晚上11点59分，我在微信、支付宝、抖音上都找不到你。", "晚上11点59分"),
    ("2025年12月31日晚上11点59分，我在微信、支付宝、抖音上都找不到你。", "2025年12月31日"),
    ("我们约好了5月20日下午3点在老地方见面，你可千万别迟到啊。", "下午3点"),
]


@pytest.mark.parametrize("max_lines", [1, 2])
@pytest.mark.parametrize("text,whole", KEPT_WHOLE)
def test_numbers_and_times_keep_their_punctuation_and_are_never_cut(text, whole, max_lines):
    """A cue change or a line break never falls inside 10:30 or 1,000, and the short-drama style does not
    turn their colon or comma into a space (a wrong time or sum on screen is an error viewers report)."""
    from director.stages.subtitles import layout

    cues = layout(text, 0.0, 6.0, 1080, 1920, 0.045, max_lines, (), "zh-drama")
    assert any(whole in line for c in cues for line in c.lines), [c.lines for c in cues]


def test_a_full_width_comma_between_numbers_is_a_pause_not_a_separator():
    from director.media.linebreak import clauses

    assert clauses("我今年18，2019年来的上海。") == ["我今年18，", "2019年来的上海。"]
    assert zh_drama("我今年18，2019年来的上海。") == "我今年18 2019年来的上海"


def test_a_web_address_stays_whole_where_it_fits_and_breaks_after_a_slash_or_dot_where_not():
    from director.media.linebreak import clauses
    from director.stages.subtitles import layout

    text = "地址是https://www.example.com/abc，你自己去看吧。"
    assert "地址是https://www.example.com/abc，" in clauses(text)
    cues = layout(text, 0.0, 6.0, 1080, 1920, 0.045, 1, (), "zh-drama")
    lines = [line for c in cues for line in c.lines]
    assert "".join(lines).startswith("地址是https://www.example.com/abc"), lines
    assert all(not line.startswith(("//", "ww", "ample")) for line in lines), lines


def test_closing_quotes_stay_with_their_clause_and_lose_the_full_stop_before_them():
    from director.media.linebreak import clauses
    from director.stages.subtitles import layout

    assert clauses("她说「我回来了。」然后就走了。") == ["她说「我回来了。」", "然后就走了。"]
    assert zh_drama("她说「我回来了。」") == "她说「我回来了」"  # not 我回来了 」
    for max_lines in (1, 2):
        cues = layout("她说「我回来了。」然后就走了，再也没有回头。", 0.0, 6.0, 1080, 1920, 0.045, max_lines, (),
                      "zh-drama")
        lines = [line for c in cues for line in c.lines]
        assert all(line[0] not in NO_LINE_START for line in lines) and "我回来了」" in "".join(lines), lines


def test_a_clause_longer_than_a_cue_is_shared_evenly_between_its_cues():
    """Not a full cue and then an orphaned word or two up for 0.8 s."""
    from director.stages.subtitles import layout

    whole = "我从来没有想过有一天会在这样一个下着大雨的深夜站在你家门口一直等你回来然后告诉你所有"
    for text in (whole[:21], whole[:24], whole):  # each left 的 / 的深夜站 / 你所有 alone in a cue
        for max_lines in (1, 2):
            cues = layout(text, 0.0, 8.0, 1080, 1920, 0.045, max_lines, (), "zh-drama")
            sizes = [len("".join(c.lines)) for c in cues]
            assert len(cues) > 1 and min(sizes) >= 0.6 * max(sizes), [c.lines for c in cues]
            assert "".join("".join(c.lines) for c in cues) == text


def test_a_two_line_cue_breaks_at_a_clause_where_one_fits():
    fnt = font(40)
    lines = wrap("烧掉了她的名字、身份和本该属于她的一切", fnt.getlength, fnt.getlength("中" * 12), ())
    assert lines[0].endswith("、"), lines


def test_a_dotted_name_breaks_only_at_its_dots():
    parts = words("欧阳·纳兰·慕容雪儿·冰清玉洁·上官婉儿")
    assert "慕容雪儿·" in parts and "上官婉儿" in parts, parts
    fnt = font(40)
    lines = wrap("欧阳·纳兰·慕容雪儿·冰清玉洁·上官婉儿", fnt.getlength, fnt.getlength("中" * 9), ())
    assert all(line.endswith("·") for line in lines[:-1]), lines


def test_a_clause_longer_than_a_cue_keeps_its_space_before_the_next():
    from director.stages.subtitles import layout

    text = "The meeting with Mr. Smith that was planned for three p.m. was cancelled, so we went home."  # p.m.was
    for max_lines in (1, 2):
        cues = layout(text, 0.0, 10.0, 1080, 1920, 0.045, max_lines)
        assert " ".join(" ".join(c.lines) for c in cues).split() == text.split(), [c.lines for c in cues]


def test_a_titles_full_stop_ends_no_clause():
    from director.media.linebreak import clauses

    assert clauses("Ask Mr. Smith and Dr. Li at 3 p.m. tomorrow. Then go.") == [
        "Ask Mr. Smith and Dr. Li at 3 p.m. tomorrow. ", "Then go."]


@pytest.mark.parametrize("text,pause", [("这台iPhone 15 Pro Max里的照片，你怎么解释？", "照片 你怎么"),
                                        ("董事长，这是第三季度的财务报表，请您过目，有什么问题随时叫我。", "报表 请您")])
def test_a_clause_carried_into_the_next_cue_keeps_its_pause(text, pause):
    """The text carried from a full cue to the next had lost its ， (styled away) and no space stood for it."""
    from director.stages.subtitles import layout

    lines = [line for ml in (1, 2) for c in layout(text, 0, 6, 1080, 1920, 0.034, ml, (), "zh-drama") for line in c.lines]
    assert not any(pause.replace(" ", "") in line for line in lines), lines  # 报表请您: the pause gone


def test_a_run_of_latin_words_in_chinese_is_one_name():
    assert "iPhone 15 Pro Max" in words("这台iPhone 15 Pro Max里的照片，你怎么解释？")
    assert {"Mate 60 Pro", "14 Ultra"} <= set(words("我早就把华为Mate 60 Pro和小米14 Ultra都卖了"))
    assert words("Adobe Photoshop CC") == ["Adobe ", "Photoshop ", "CC"]  # English text still breaks at spaces


def test_an_abbreviations_full_stop_ends_a_clause_only_where_a_sentence_ends():
    from director.media.linebreak import clauses

    assert clauses("Not 10 a.m. Are you sure?") == ["Not 10 a.m. ", "Are you sure?"]
    assert clauses("The U.S. team lost at 10 a.m. sharp.") == ["The U.S. team lost at 10 a.m. sharp."]


def test_a_cue_ends_at_a_sentences_end_rather_than_start_the_next_inside_it():
    """朕的江山 岂容你们 / 这些乱臣贼子染指？来人 then 给朕拿下！ alone: the question is one cue, the order the next."""
    from director.stages.subtitles import layout

    cues = layout("朕的江山，岂容你们这些乱臣贼子染指？来人，给朕拿下！", 0, 6, 540, 960, 0.034, 2, (), "zh-drama")
    assert [c.lines for c in cues] == [("朕的江山", "岂容你们这些乱臣贼子染指？"), ("来人 给朕拿下！",)]


@pytest.mark.parametrize("text,words_kept", [("你那个LOUIS VUITTON MONOGRAM的包是假的！", ["MONOGRAM"]),
                                              ("时才终于见到了他的主治医生也就是那个从美国回来的Dr. Watson。", ["Watson"])])
def test_a_latin_word_is_never_cut_where_a_space_or_its_own_end_would_do(text, words_kept):
    from director.stages.subtitles import layout

    for max_lines in (1, 2, 3):
        lines = [ln for c in layout(text, 0, 4, 540, 960, 0.034, max_lines, (), "zh-drama") for ln in c.lines]
        assert all(any(w in ln for ln in lines) for w in words_kept), lines


def _burn(tmp_path, language: str, name: str):
    """A one-cue ASS written by director for ``language``, burned by ffmpeg/libass: (frame, libass's log)."""
    import subprocess

    import numpy as np
    from PIL import Image

    from director.media.ffmpeg import ffmpeg_exe
    from director.media.fonts import font_path
    from director.stages.subtitles import SubtitleCue, write_subtitles

    folder = tmp_path / name
    folder.mkdir()
    write_subtitles([SubtitleCue(0.0, 2.0, ("骨 角 说 门 直",))], 320, 180, 0.15, folder / "s.srt", folder / "s.ass",
                    language=language)
    proc = subprocess.run([ffmpeg_exe(), "-v", "verbose", "-f", "lavfi", "-i", "color=c=black:s=320x180:d=1",
                           "-vf", f"subtitles=s.ass:fontsdir={font_path().parent}", "-frames:v", "1", "f.png"],
                          cwd=folder, capture_output=True, text=True, check=True)
    return np.asarray(Image.open(folder / "f.png").convert("L"), dtype=np.int16), proc.stderr, \
        (folder / "s.ass").read_text(encoding="utf-8")


def test_zh_cn_subtitles_draw_simplified_forms_and_zh_tw_traditional(tmp_path):
    """Noto Sans CJK picks a region's glyph forms by language (OpenType locl); libass reads the ASS Language header
    but keeps only two letters, so zh-CN writes `zh` and zh-TW writes none (the font's own forms are Taiwan's)."""
    from PIL import Image, ImageDraw, features

    simplified, log_cn, ass_cn = _burn(tmp_path, "zh-CN", "cn")
    traditional, log_tw, ass_tw = _burn(tmp_path, "zh-TW", "tw")
    assert "Language: zh" in ass_cn and "Language" not in ass_tw
    # libass took director's font (the log names the face it selected), and drew different glyphs for the two
    assert "fontselect: (Noto Sans CJK TC Bold" in log_cn and "NotoSansCJKtc-Bold" in log_cn
    assert (abs(simplified - traditional) > 60).sum() > 50
    # the difference is the font's own Simplified forms: Pillow (HarfBuzz) draws zh-Hans and the default apart too
    if features.check("raqm"):
        fnt = font(40)
        drawn = []
        for lang in ("zh-Hans", None):
            im = Image.new("L", (260, 60))
            ImageDraw.Draw(im).text((5, 5), "骨角说", font=fnt, fill=255, language=lang)
            drawn.append(im.tobytes())
        assert drawn[0] != drawn[1]
    _, _, ass_ja = _burn(tmp_path, "ja", "ja")
    assert "Language: ja" in ass_ja


@pytest.mark.parametrize("language", ["zh-CN", "zh-TW"])
def test_a_segment_burns_with_its_slice_of_the_font_and_draws_the_same_pixels(tmp_path, language):
    """A segment hands libass a subset of the font with only its slice's characters (``fonts.subset_font``: ~60
    ms less per burn). Every frame is the same as with the whole font: Simplified and Traditional forms (locl),
    a card's style, Latin and punctuation, the outline and shadow."""
    import subprocess

    import numpy as np

    from director.media.ffmpeg import ffmpeg_exe
    from director.media.fonts import FONT_FILE, cmap_codepoints, subset_font
    from director.stages.segments import burn_filter
    from director.stages.subtitles import SubtitleCue, write_subtitles

    write_subtitles([SubtitleCue(0.0, 0.6, ("骨头说，角门直！", "OK — 42%?")), SubtitleCue(0.6, 1.2, ("「再给我一天」…",))],
                    540, 960, 0.034, tmp_path / "s.srt", tmp_path / "s.ass", language=language)
    ass = (tmp_path / "s.ass").read_text(encoding="utf-8")
    fonts = subset_font(ass, tmp_path / "fonts")
    assert fonts is not None and [p.name for p in fonts.iterdir()] == [FONT_FILE]
    assert (fonts / FONT_FILE).stat().st_size < 200_000  # the whole font is 17 MB
    assert {ord(ch) for ch in "骨说角再」…%"} <= cmap_codepoints(fonts / FONT_FILE)
    frames = []
    for folder in (None, fonts):
        run = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=540x960:r=4:d=1.2",
                              "-vf", burn_filter("s.ass", folder), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                             cwd=tmp_path, capture_output=True, check=True)
        frames.append(np.frombuffer(run.stdout, np.uint8).reshape(-1, 960, 540))
    assert len(frames[0]) == 5 and (frames[0] != 128).sum() > 5000  # text was drawn
    assert np.array_equal(frames[0], frames[1])


def test_a_dash_pair_ends_a_clause():
    """`——` was read as part of a clause: 三年前你毁了我——今天 | 我要你还回来！ broke after the word that followed it."""
    from director.media.linebreak import clauses
    from director.stages.subtitles import layout

    assert clauses("三年前你毁了我——今天我要你还回来！") == ["三年前你毁了我——", "今天我要你还回来！"]
    cues = layout("三年前你毁了我——今天我要你还回来！", 0.0, 4.0, 1080, 1920, 0.045, 2, (), "zh-drama")
    assert [line for c in cues for line in c.lines][0].endswith("——"), [c.lines for c in cues]


@pytest.mark.parametrize("text, width, kept", [
    ("她？一个从孤儿院出来的野丫头，也配站在这里？", 12, ["出来的"]),  # 的 started the second line
    ("就凭你？你以为拿着一份DNA报告和", 8, ["拿着"]),  # 拿|着
    ("而且她现在就住在你原来的房间里", 9, ["住在"]),  # 住|在
    ("他说明天晚上九点在公司门口等我", 7, ["晚上九点"]),  # 晚上|九点
    ("你拿着iPhone的时候想过我吗", 10, ["iPhone的"]),  # iPhone|的时候
])
def test_particles_coverbs_and_hours_stay_with_the_word_they_lean_on(text, width, kept):
    """A series' subtitles started lines with 的 and 着 and broke 住|在 and 上午|九点 (a post-production lead's
    check of four episodes)."""
    fnt = font(40)
    lines = wrap(zh_drama(text), fnt.getlength, fnt.getlength("中" * width), ())
    assert all(line[0] not in "的地得了着过吗呢吧" for line in lines), lines
    for word in kept:
        assert any(word in line for line in lines), (word, lines)


def test_a_short_drama_pause_is_a_clause_end_for_two_lines():
    """zh_drama writes a comma as a space; the balance no longer saw a clause there and broke mid-phrase."""
    fnt = font(40)
    lines = wrap(zh_drama("我已经等了你整整三年了，你为什么现在才回来"), fnt.getlength, fnt.getlength("中" * 12), ())
    assert lines == ["我已经等了你整整三年了", "你为什么现在才回来"], lines


def test_an_hour_is_kept_with_its_time_of_day_and_nothing_else_is():
    """The time-of-day rule glued any word starting with a numeral (晚上一起: 一起 then broke in two at a narrow
    measure) and a time with separators (上午10:30) into a unit wider than a line, which was then cut inside 10:30."""
    fnt = font(40)
    lines = wrap("他今天晚上一起去", fnt.getlength, fnt.getlength("中" * 3), ())
    assert any("一起" in line for line in lines), lines
    lines = wrap("明天上午10:30到公司来", fnt.getlength, fnt.getlength("中" * 4), ())
    assert any("10:30" in line for line in lines), lines


def test_a_line_that_fits_one_cue_only_by_breaking_mid_phrase_takes_two_cues_at_its_clauses():
    """苏晴！你给我站住！今天你 / 不把话说清楚 (a 2-line cue broken mid-phrase) where two cues at the clauses read
    as an editor cuts them; a lone word (老公) is never a cue of its own for that."""
    from director.stages.subtitles import layout

    cues = layout("苏晴！你给我站住！今天你不把话说清楚，哪儿也别想去！", 0.0, 5.0, 1080, 1920, 0.034, 2, (), "zh-drama")
    assert [c.lines for c in cues] == [("苏晴！你给我站住！",), ("今天你不把话说清楚", "哪儿也别想去！")], cues
    cues = layout("你以为换了个名字，我就认不出你了吗？苏晴，好久不见。", 0.0, 5.0, 1080, 1920, 0.034, 2,
                  ("苏晴",), "zh-drama")
    assert [c.lines for c in cues] == [("你以为换了个名字", "我就认不出你了吗？"), ("苏晴 好久不见",)], cues
    one = layout("老公，你今天怎么这么早就回来了呀？", 0.0, 5.0, 1080, 1920, 0.034, 2, (), "zh-drama")
    assert len(one) == 1, one
    short = layout("苏晴！你给我站住！今天你不把话说清楚，哪儿也别想去！", 0.0, 1.2, 1080, 1920, 0.034, 2, (), "zh-drama")
    assert len(short) == 1  # too short a line for two cues


def test_two_lines_prefer_a_sentences_end_and_no_word_alone():
    fnt = font(40)
    lines = wrap("你以为换了个名字，我就认不出你了吗？苏晴，好久不见", fnt.getlength, fnt.getlength("中" * 17), ())
    assert lines[0].endswith("吗？"), lines  # not 名字，| 我就...: the sentence ends first
    lines = wrap("老公，你今天怎么这么早就回来了呀？", fnt.getlength, fnt.getlength("中" * 14), ())
    assert lines[0] != "老公，", lines  # a 2:14 clause break is no balance


def test_fourteen_characters_fit_a_line_at_the_default_size():
    """A 14-character clause missed the 1080-wide measure by 3 px and broke mid-phrase."""
    from director.stages.subtitles import layout

    cues = layout("你不过是我花钱雇来的替身而已，别太把自己当回事了！", 0.0, 5.0, 1080, 1920, 0.034, 2, (), "zh-drama")
    assert cues[0].lines[0] == "你不过是我花钱雇来的替身而已", cues


def test_a_modifier_is_not_cut_from_its_noun_where_another_break_fits():
    """你居然用我送你的 / iPhone给别的男人发消息？: a line ending on 的 where the break after the noun fits too."""
    fnt = font(40)
    for text in ("你居然用我送你的iPhone给别的男人发消息？", "我已经把公司百分之五十一的股份转到你名下了"):
        lines = wrap(text, fnt.getlength, fnt.getlength("中" * 16), ())
        assert len(lines) == 2 and not lines[0].endswith("的"), lines
