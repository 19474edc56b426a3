"""Chinese: speech in Mandarin, subtitles wrapped by measured width, a font that has every glyph."""
from __future__ import annotations

import re

import subprocess

import pysubs2

from director.media.ffmpeg import ffmpeg_exe
from director.media.fonts import FONT_FAMILY, cmap_codepoints, font, font_path, missing_glyphs
from director.screenplay import load_screenplay
from director.stages.subtitles import layout, write_subtitles
from tests.conftest import ROOT, director, make_project


def test_font_covers_every_character_of_the_chinese_screenplay():
    sp = load_screenplay(ROOT / "projects/zh-demo/screenplay.yaml").screenplay
    text = "".join(b.text for _, _, b in sp.beats()) + "".join(c.name for c in sp.characters.values())
    assert missing_glyphs(text) == []
    assert missing_glyphs("常用汉字：的一是不了人我在有他这为之大来以个中上们") == []


def _font(path, cmap: dict[int, str]) -> None:
    """A tiny TrueType font mapping ``cmap`` (fontTools writes format 4 for the BMP, and format 12 as well when a
    character lies beyond it)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    names = [".notdef", *sorted(set(cmap.values()) - {".notdef"})]
    pen = TTGlyphPen(None)
    pen.moveTo((0, 0)), pen.lineTo((0, 100)), pen.lineTo((100, 0)), pen.closePath()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf({n: pen.glyph() for n in names})
    fb.setupHorizontalMetrics({n: (500, 0) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Tiny", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.save(str(path))


def test_the_cmap_reader_finds_the_characters_fonttools_finds(tmp_path):
    """``cmap_codepoints`` reads the font's cmap itself (fontTools took 0.3 s on the render's path): the bundled
    font's 44k characters, a format-4 font whose glyphs are out of order (its index array, not a delta) and a
    format-12 font with a character beyond the BMP give exactly what fontTools gives."""
    from fontTools.ttLib import TTFont

    real = TTFont(str(font_path()), lazy=True)
    expected = {c for c, name in real.getBestCmap().items() if real.getGlyphID(name) != 0}
    assert cmap_codepoints(font_path()) == expected and len(expected) > 40000
    # 0x44 is mapped to glyph 0, the "missing" box: not a character the font has
    bmp = {0x41: "b", 0x42: "a", 0x43: "c", 0x44: ".notdef", 0x4E00: "han", 0x4E01: "ding", 0x4E03: "qi"}
    _font(tmp_path / "bmp.ttf", bmp)
    assert {t.format for t in TTFont(str(tmp_path / "bmp.ttf"))["cmap"].tables} == {4}
    assert cmap_codepoints(tmp_path / "bmp.ttf") == set(bmp) - {0x44}
    wide = {**bmp, 0x1F600: "grin", 0x20000: "ext", 0x20001: ".notdef"}
    _font(tmp_path / "wide.ttf", wide)
    assert 12 in {t.format for t in TTFont(str(tmp_path / "wide.ttf"))["cmap"].tables}
    assert cmap_codepoints(tmp_path / "wide.ttf") == set(wide) - {0x44, 0x20001}


def test_cjk_is_wrapped_by_measured_width_into_at_most_two_lines():
    text = "整座城市都着火了，我是从火里穿过来的，你知道这一路有多难吗？你根本不知道。"
    cues = layout(text, 0.0, 6.0, 1080, 1920, 0.034, 2)
    fnt = font(round(1920 * 0.034))
    assert len(cues) >= 2 and all(len(c.lines) <= 2 for c in cues)
    assert all(fnt.getlength(line) <= 1080 * 0.84 for c in cues for line in c.lines)
    assert "".join(line for c in cues for line in c.lines) == text
    assert not any(line.startswith(("，", "。", "？")) for c in cues for line in c.lines)
    assert cues[0].start == 0.0 and abs(cues[-1].end - 6.0) < 1e-3


def test_libass_selects_the_cjk_font_and_finds_every_glyph(tmp_path):
    cues = layout("你迟到了。城市着火了。", 0.0, 1.0, 216, 384, 0.05, 2)
    write_subtitles(cues, 216, 384, 0.05, tmp_path / "s.srt", tmp_path / "s.ass")
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "verbose", "-f", "lavfi", "-i",
                           "color=c=black:s=216x384:d=1", "-vf", f"subtitles=s.ass:fontsdir={font_path().parent}",
                           "-f", "null", "-"], cwd=tmp_path, capture_output=True, text=True)
    log = proc.stderr
    assert proc.returncode == 0
    assert f"fontselect: ({FONT_FAMILY}" in log and "NotoSansCJK" in log.split("fontselect:")[1]
    assert "Glyph 0x" not in log  # libass reports every glyph it cannot find


def test_chinese_episode_renders_with_chinese_subtitles(tmp_path):
    project = make_project(tmp_path, ROOT / "projects/zh-demo")
    director("-p", str(project), "render", check=True)
    subs = pysubs2.load(str(project / "out/screenplay/episode.srt"))
    assert subs[0].plaintext == "还剩十秒 来得及！"  # the zh-drama style (Chinese default): internal comma as a space
    assert all(len(e.plaintext.split("\n")) <= 2 for e in subs)
    import av

    with av.open(str(project / "out/screenplay/episode.mp4")) as mp4:  # the sound's language, tagged (it was und)
        assert mp4.streams.audio[0].language == "chi", mp4.streams.audio[0].metadata
    # the storyboard a Chinese crew shares is in Chinese (it said Narrator:, (inner), talking: ... (lip sync))
    page = (project / "out/screenplay/storyboard.html").read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in page and "— 分镜</title>" in page and "（口型同步）" in page
    assert "Narrator" not in page and "lip sync" not in page and "] " not in page and "card:" not in page
    assert re.search(r"<p>[\u4e00-\u9fff]{1,4}(?:（[^）]+）)?：[^ ]", page)  # 陈默：你迟到了。 (a full-width colon)


def test_a_line_in_another_script_is_voiced_in_its_own_language(tmp_path):
    """A Chinese line in an English screenplay was voiced by English eSpeak: "Chinese letter" for every character,
    ten seconds of it, and the shot stretched to fit; an English line in a Chinese one is voiced in English."""
    import json
    import wave

    from director.media.linebreak import spoken_language

    assert spoken_language("你们两个，先进来喝杯茶吧。", "en") == "zh-CN"
    assert spoken_language("OK, let's go!", "zh-CN") == "en"
    assert spoken_language("他说 OK 就走了", "zh-CN") == "zh-CN" and spoken_language("Hi, 小王", "en") == "en"
    project = make_project(tmp_path)
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text(encoding="utf-8").replace("Only since Tuesday.", "你们两个，先进来喝杯茶吧。"),
                  encoding="utf-8")
    director("-p", str(project), "render", "--until", "voice", check=True)
    voiced = {}
    for manifest in (project / ".director" / "cache" / "voice").glob("*/*/manifest.json"):
        inputs = json.loads(manifest.read_text())["inputs"]
        with wave.open(str(manifest.parent / "voice.wav")) as w:
            voiced[inputs["text"]] = (inputs["language"], w.getnframes() / w.getframerate())
    language, seconds = voiced["你们两个，先进来喝杯茶吧。"]
    assert language == "zh-CN" and seconds < 5, voiced
    assert voiced["Are you following me?"][0] == "en"
