"""Spoken words reach every subtitle file as written: braces and backslashes are text, never ASS's escapes or tags
(an audit found "Wait. {That} one" in the SRT as "Wait. \\ one", a line with ``{\\p1}`` gone from it, and
``C:\\new`` burned in as two lines)."""
from __future__ import annotations

import subprocess

import pytest

from director.media.ffmpeg import ffmpeg_exe
from director.media.fonts import font_path
from director.stages.subtitles import SubtitleCue, _escape, plain_text, write_subtitles

WORDS = ["Wait. {That} one is mine.", r"C:\new \Nfolder {\p1} end", r"a\{b} \h", "你好{吗}"]


@pytest.mark.parametrize("words", WORDS)
def test_the_srt_and_the_plain_text_say_the_words(tmp_path, words):
    write_subtitles([SubtitleCue(0.0, 1.0, (words,)), SubtitleCue(1.0, 2.0, ("two", words), italic=True)],
                    1080, 1920, 0.02, tmp_path / "s.srt", tmp_path / "s.ass")
    srt = (tmp_path / "s.srt").read_text(encoding="utf-8")
    assert srt == (f"1\n00:00:00,000 --> 00:00:01,000\n{words}\n\n"
                   f"2\n00:00:01,000 --> 00:00:02,000\n<i>two\n{words}</i>\n\n")
    assert plain_text(_escape(words)) == words


def _lines_drawn(tmp_path, words: str) -> int:
    """How many lines of text libass draws for ``words`` (bands of rows with ink) on a 1080x1920 frame."""
    write_subtitles([SubtitleCue(0.0, 1.0, (words,))], 1080, 1920, 0.02, tmp_path / "s.srt", tmp_path / "s.ass")
    frame = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=1080x1920:r=24:d=0.5",
                            "-vf", f"subtitles=s.ass:fontsdir={font_path().parent}", "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "gray", "-"], cwd=tmp_path, capture_output=True, check=True).stdout
    assert len(frame) == 1080 * 1920
    inked = [any(v > 128 for v in frame[y * 1080:(y + 1) * 1080]) for y in range(1920)]
    return sum(1 for y in range(1, 1920) if inked[y] and not inked[y - 1])


def test_libass_draws_backslashes_and_braces_as_written(tmp_path):
    assert _lines_drawn(tmp_path, "C new folder p1 end") == 1
    for words in (r"C:\new \Nfolder {\p1} end", r"a\hb \{x\} {\fs200}big"):
        assert _lines_drawn(tmp_path, words) == 1, words  # a \n, \N or {\p1} taken as ASS broke or hid the line


def test_libass_draws_a_line_as_wide_as_the_line_breaker_measured_it(tmp_path):
    """The ASS font size was the em the breaker measured, but libass fits the font's winAscent + winDescent into
    it: Chinese lines were drawn at 2/3 of that width (a 13-character line 566 px of the 845 measured), broken
    needlessly into two cues."""
    from director.media.fonts import font

    text = "否则你妈的医药费一分都没有"
    write_subtitles([SubtitleCue(0.0, 1.0, (text,))], 1080, 1920, 0.034, tmp_path / "s.srt", tmp_path / "s.ass")
    frame = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=1080x1920:r=24:d=0.5",
                            "-vf", f"subtitles=s.ass:fontsdir={font_path().parent}", "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "gray", "-"], cwd=tmp_path, capture_output=True, check=True).stdout
    columns = [x for x in range(1080) if any(frame[y * 1080 + x] > 128 for y in range(1200, 1800))]
    drawn, measured = columns[-1] - columns[0], font(round(1920 * 0.034)).getlength(text)
    assert 0.93 < drawn / measured < 1.07, (drawn, measured)


def test_the_cues_of_a_line_change_where_its_voice_pauses(tmp_path):
    """Cues split by share of characters changed ~0.2 s before the pause they split at: the first cue's last words
    were still being spoken when the second came up."""
    import numpy as np

    from director.backends.types import Artifact
    from director.media.audio import write_wav
    from director.stages.subtitles import at_pauses, pauses

    rate = 24000
    t = np.arange(int(2.0 * rate)) / rate
    voice = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    voice[int(1.0 * rate):int(1.2 * rate)] = 0  # a pause from 1.0 s to 1.2 s
    write_wav(tmp_path / "voice.wav", voice, rate)
    heard = pauses(Artifact("voice", "k", str(tmp_path), {"audio": "voice.wav"}))
    assert len(heard) == 1 and abs(heard[0] - 1.1) < 0.02, heard
    cues = [SubtitleCue(5.0, 5.8, ("first",)), SubtitleCue(5.8, 7.0, ("second",))]
    moved = at_pauses(cues, [5.0 + p for p in heard])
    assert abs(moved[0].end - 6.1) < 0.02 and moved[1].start == moved[0].end and moved[1].end == 7.0
    assert at_pauses(cues, [6.9]) == cues  # no pause near enough (or one that would leave a cue too short)


def test_an_arrow_in_the_words_is_no_timing_line(tmp_path):
    """A line reading "0:00:00,000 --> 9:00:00,000" was dropped by ffmpeg's SRT reader and read as a timing line by
    the studio's WebVTT."""
    from director.studio.app import vtt

    words = "0:00:00,000 --> 9:00:00,000"
    write_subtitles([SubtitleCue(0.0, 1.0, (words,)), SubtitleCue(1.0, 2.0, ("next",))], 1080, 1920, 0.02,
                    tmp_path / "s.srt", tmp_path / "s.ass")
    srt = (tmp_path / "s.srt").read_text(encoding="utf-8")
    assert srt.count(" --> ") == 2 and "-->" not in srt.split("\n")[2]
    import pysubs2

    assert [e.plaintext.replace("\u2060", "") for e in pysubs2.load(str(tmp_path / "s.srt"))] == [words, "next"]
    assert vtt("1\n00:00:00,000 --> 00:00:01,000\n0:00:00,000 --> 9:00:00,000\n").count("-->") == 1


def test_the_font_is_loaded_once_and_its_scale_read_without_fonttools():
    """An edit of this round dropped the cache of ``font`` (the 17 MB face loaded again for every measure), and the
    scale came from fontTools, whose import the render's path avoids (~0.1 s)."""
    import sys

    from director.media.fonts import font

    assert font(40) is font(40)
    code = "import sys; from director.media.fonts import libass_scale; s = libass_scale(); " \
           "print(round(s, 2), 'fontTools' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["1.48", "False"]


def test_an_intro_card_stands_clear_of_two_lines_of_subtitles(tmp_path):
    """A character's intro card sat right on the first subtitle's top once subtitles were drawn at full size (its
    place was fixed at 0.34 of the height; two lines of larger subtitles grew up to it)."""
    from director.stages.subtitles import CardCue

    cue = SubtitleCue(0.0, 1.0, ("林汐你终于回来了", "我们等了你整整三年"))
    size = 0.045  # a studio's larger subtitles (the intro's place was fixed, theirs grew up to it)
    write_subtitles([cue], 1080, 1920, size, tmp_path / "s.srt", tmp_path / "s.ass",
                    (CardCue("intro", "林汐", "被赶出家门的真千金", 0.0, 1.0),), None, "zh-CN")
    frame = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=1080x1920:r=24:d=0.5",
                            "-vf", f"subtitles=s.ass:fontsdir={font_path().parent}", "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], cwd=tmp_path, capture_output=True,
                           check=True).stdout
    rows = [frame[y * 3240:(y + 1) * 3240] for y in range(1920)]
    inked = [y for y in range(1920) if max(rows[y]) > 128]
    bands, start = [], inked[0]
    for a, b in zip(inked, inked[1:] + [None]):
        if b != a + 1:
            bands.append((start, a))
            start = b
    assert len(bands) == 4, bands  # the intro's name and role, the two subtitle lines
    role_bottom, first_top = bands[1][1], bands[2][0]
    assert first_top - role_bottom >= size * 1920, bands  # clear by an em at least, at any subtitle size


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001])
def test_the_srt_and_the_ass_show_each_cue_on_the_same_frames_with_no_one_frame_gap(tmp_path, fps):
    """The QC audit: pysubs2 wrote the ASS (burned) in centiseconds, the SRT in milliseconds, so a cue ending at
    91.707 s showed a frame the SRT had ended (91.71 s in the ASS); and a cue held to 0.8 s left a 33 ms gap, one
    blank frame between "Who?" and "Me."."""
    import pysubs2

    from director.stages.subtitles import CardCue, hold, on_frames

    lines = [(0.2083, 0.55, "Who?"), (1.0, 1.3, "Me."), (1.8333 + 0.034, 2.2, "Why?"), (2.75, 4.0, "Money."),
             (91.3, 91.707, "Later.")]
    cues, cards = on_frames(hold([SubtitleCue(a, b, (t,)) for a, b, t in lines]),
                            (CardCue("caption", "", "Night", 0.5071, 2.9),), fps)
    write_subtitles(cues, 1080, 1920, 0.045, tmp_path / "s.srt", tmp_path / "s.ass", cards, tmp_path / "c.ass")
    srt = pysubs2.load(str(tmp_path / "s.srt"))
    ass = [e for e in pysubs2.load(str(tmp_path / "s.ass")).events if e.style == "Default"]
    assert [e.plaintext for e in srt] == [e.plaintext for e in ass] == [t for *_, t in lines]

    def shown(events) -> list[set[int]]:  # the frames each event is on: start <= frame's time < end
        frames = range(round(93 * fps))
        return [{k for k in frames if e.start <= k / fps * 1000 < e.end} for e in events]

    on_srt, on_ass = shown(srt), shown(ass)
    assert on_srt == on_ass
    card = [e for e in pysubs2.load(str(tmp_path / "c.ass")).events]
    assert shown(card) == shown(pysubs2.load(str(tmp_path / "c.srt")).events)
    for a, b in zip(on_srt, on_srt[1:]):
        gap = min(b) - max(a) - 1
        assert gap == 0 or gap >= 2, (fps, sorted(a)[-1], sorted(b)[0])


def test_what_the_font_cannot_draw_is_left_out_of_the_burned_subtitles_not_the_srt(tmp_path):
    """The QC re-check: "You're late. 😡🔥" burned 🔥 as a box (and 😡 as whatever outline the machine's fonts had)."""
    import pysubs2

    write_subtitles([SubtitleCue(0.0, 1.0, ("You're late. 😡🔥",))], 1080, 1920, 0.045, tmp_path / "s.srt",
                    tmp_path / "s.ass")
    assert "😡🔥" in (tmp_path / "s.srt").read_text(encoding="utf-8")
    burned = [e.plaintext for e in pysubs2.load(str(tmp_path / "s.ass")).events]
    assert burned == ["You're late."], burned


def test_an_english_line_that_fits_one_two_line_cue_stays_one_cue():
    """The clause split is Chinese craft: an English line that fits two lines, broken mid-phrase, was cut into two
    cues at its comma (a broadcast QC finding)."""
    from director.stages.subtitles import layout

    cues = layout("We had a deal, and you broke it in front of everyone.", 0.0, 4.0, 1080, 1920, 0.034, 2)
    assert len(cues) == 1 and len(cues[0].lines) == 2, cues
    assert " ".join(cues[0].lines) == "We had a deal, and you broke it in front of everyone."
    longer = layout("Listen to me, we don't have much time before they find the car.", 0.0, 4.0, 1080, 1920, 0.034, 2)
    assert len(longer) == 2 and longer[0].lines == ("Listen to me,",), longer  # three lines' worth: cut at a clause


def test_a_title_is_never_the_last_word_of_a_subtitle_line():
    """Open the door, Mr. | Chen, I know you're in there (a title cut from its name)."""
    from director.stages.subtitles import layout

    [cue] = layout("Open the door, Mr. Chen, I know you're in there.", 0.0, 4.0, 1080, 1920, 0.034, 2)
    assert cue.lines == ("Open the door, Mr. Chen,", "I know you're in there."), cue
    [cue] = layout("Thank you so much for everything, Dr Lin.", 0.0, 4.0, 1080, 1920, 0.034, 2)
    assert not any(line.endswith(("Dr", "Dr.")) for line in cue.lines), cue
