"""Fountain 1.1 (https://fountain.io/syntax) -> ``Script``.

Fountain is plain text with a few conventions: a blank line before a heading or a cue, ALL
CAPS for cues, ``. ! @ > ~`` to force an element. Notes and the boneyard are removed first,
with every line keeping its number, so each element still points at its line in the file.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter

from director.importers.convert import (_CONTD, NARRATOR_CUES, Element, Script, chinese_heading, clean,
                                        parse_cue)
from director.media.linebreak import join_all
from director.vocab import EMOTION_WORDS, EMOTIONS, canonical_delivery

_HEADING = re.compile(r"(?i)(int\.?/ext|ext\.?/int|i/e|e/i|int|ext|est)[.\s]")
# a heading even with no blank line above it (a script typed without them): only the unmistakable forms
_HEADING_ANYWHERE = re.compile(r"(?:INT\.?/EXT|EXT\.?/INT|I/E|INT|EXT|EST)\.\s")
_SCENE_NUMBER = re.compile(r"#([\w.-]+)#$")  # matched at the end of the stripped heading (``scene_number``): with a
# leading ``\s*`` the search restarted at every space, and one long run of them took minutes
_TITLE_KEY = re.compile(r"(?i)(title|credit|authors?|source|draft date|date|contact|copyright|notes|revision|"
                        r"标题|剧名|片名|作者|编剧)\s*[:：].*")
_KEY = re.compile(r"([A-Za-z][A-Za-z ]*|[\u3400-\u9fff]{1,6})\s*[:：](.*)")
_TITLE_NAMES = {"标题": "title", "剧名": "title", "片名": "title", "作者": "author", "编剧": "author"}
_HAN_KEY = re.compile(r"[\u3400-\u9fff]{1,6}")
# the Chinese keys a title page has (any English key is one): a name and its colon is otherwise a speech (苏晴：)
_TITLE_PAGE_KEYS = {*_TITLE_NAMES, "类型", "题材", "集数", "本集", "时长", "版本", "日期", "联系", "联系方式", "备注",
                    "简介", "梗概", "主演", "导演", "制片", "出品", "原著", "监制", "策划", "版权", "草稿", "定稿"}
_FADES = re.compile(r"(FADE (IN|OUT)|FADE TO BLACK|CUT TO BLACK)[.:]?")
# emphasis as Fountain writes it, _EMPHASIS = r"(\*{1,3}|_)(?=\S)(.+?)(?<=\S)\1" (within a line), read by _unemphasise
_MARKERS = ("***", "**", "*", "_")
_OPENER = re.compile(r"[*_](?=\S)")
_EMPHASIS_LEVELS = 8  # **_bold underlined_** is two; more nesting than this is left as written
_BONEYARD = re.compile(r"/\*.*?(\*/|\Z)", re.S)
_NOTE = re.compile(r"\[\[(.*?)\]\]", re.S)
_REMOVED = "\x00"  # marks a line that held a note or boneyard: dropped if nothing else is left on it
# a cue in a script with no capitals: a short name of Han characters (a dotted one's parts), an extension after it
_HAN_CUE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{1,6}(?:[·・][\u3400-\u9fff\uf900-\ufaff]{1,6})*"
                      r"(?:\s*[(（][^)）]{1,12}[)）]){0,3}\s*\^?")  # 陈默（画外音）（续）: up to three


# a Chinese short-drama script's speech, on one line: 苏晴：……, 医生（叹气）：……, 苏晴OS：…… (a name, its
# extension and a full-width colon: how most 短剧 scripts are written, not Fountain's cue above its speech)
_HAN = r"[\u3400-\u9fff\uf900-\ufaff]"
# a name: Han (with a role's letter or number: 护士A, 保安1), or two or three said together (林晚、顾言：, 林晚&顾言：);
# ``@`` before it (@欧阳娜娜：) makes the line a speech whatever else the script says
_HAN_NAME = rf"{_HAN}{{1,6}}(?:[·・]{_HAN}{{1,6}})*(?:[A-Za-z]|\d{{1,2}})?"  # its role suffix: _ROLE_SUFFIX
_COLON_CUE = (rf"(?P<forced>[@＠]\s*)?(?P<name>{_HAN_NAME}(?:\s*[、&＆和]\s*{_HAN_NAME}){{0,2}}|[A-Z][a-z]{{1,15}})\s*"
              r"(?P<tag>OS|VO|os|vo|Os|Vo|V\.O\.|O\.S\.)?"
              r"\s*(?:[(（](?P<paren>[^()（）]{1,20})[)）])?\s*(?P<tag2>OS|VO|os|vo)?\s*[：:]")
_COLON_SPEECH = re.compile(_COLON_CUE + r"\s*(?P<text>\S.*)")
_COLON_ABOVE = re.compile(_COLON_CUE.replace(r"|[A-Z][a-z]{1,15}", ""))  # 林晚： alone on its line, the speech under
# it (a Han name: an English Montage: or Ingredients: above its lines is action)
# a parenthetical written at the start of the speech's line (陈默：（低声）走吧。): it was spoken and subtitled as words
_LEADING_PAREN = re.compile(r"([(（][^()（）\d]{1,20}[)）])\s*(\S.*)")  # (555) 123-4567 is words
# the script's own labels (人物：苏晴、医生 lists who is in the scene; 字幕：三年后 is a caption), never a speaker
_LABELS = {"人物", "出场人物", "主要人物", "时间", "地点", "场景", "场次", "道具", "服装", "化妆", "备注", "注", "注意",
           "标题", "剧名", "片名", "作者", "编剧", "导演", "集数", "本集", "景别", "镜头", "画面", "特写", "音效", "音乐",
           "配乐", "字幕", "提示", "梗概", "简介", "大纲", "剧情", "内容", "时长", "环境", "气氛", "说明", "背景", "切",
           "闪回", "转场", "内景", "外景", "日", "夜", "记住", "听着", "警告", "规则", "地址", "电话", "密码"}
_SAID = ("说", "道", "问", "喊", "答", "叫", "骂", "吼", "想")  # 他说：…… in prose: a speaker only where it heads 2+
_ACTION_MARKS = "△▲"
_SHOWN = ("显示", "写着", "内容", "上", "里", "中")  # 手机屏幕显示：, 纸条上写着：: what a prop shows, not a speaker  # a Chinese script's action line: △苏晴攥着化验单。


# lines that direct the cut rather than show anything: each made an empty 2.5 s shot of its words
_SUPER = re.compile(r"(?:SUPER(?:IMPOSE)?|TITLE CARD|CAPTION) ?[:：] ?[\"“]?(?P<text>[^\"”]*[^\"”\s])[\"”]?")
_MARKER = re.compile(r"(?i)(?:INTERCUT(?: WITH)?|BEGIN FLASHBACK|END FLASHBACK|FLASHBACK ENDS|BACK TO SCENE|"
                     r"BACK TO PRESENT|BACK TO PRESENT DAY|LATER|MOMENTS LATER|CONTINUOUS|END MONTAGE|END OF MONTAGE|"
                     r"BEGIN MONTAGE|MONTAGE|SERIES OF SHOTS|END SERIES OF SHOTS)\b[^a-z]*")
_ZH_TRANSITIONS = re.compile(r"[（(【\[]?\s*(?P<word>切至|切到|切换至|转场|叠化|淡入|淡出|黑场|黑屏|闪白)\s*[)）】\]]?\s*[:：。]?\s*")
_ZH_FLASHBACK = re.compile(r"[（(【\[]?\s*(?:闪回|回忆|闪回开始|回忆开始|闪回结束|回忆结束)\s*[)）】\]]?\s*"
                           r"(?:[（(【\[]\s*(?P<when>[^)）】\]]{1,12})\s*[)）】\]])?\s*[:：。]?\s*")


def one_spaced(s: str) -> str:
    """``s`` with each run of white space one space: the patterns below never meet a long run (several optional
    ``\\s*`` in a row backtracked over one: 400 spaces took 12 s)."""
    return " ".join(s.split())


# a cue's extension in 【】 as some scripts write it (苏晴【冷笑】：…, 林晚【OS】：…) is read as the usual （）
_BRACKETED_CUE = re.compile(r"^([^【：:\s]{1,8})【([^】]{1,10})】(?=\s*[：:])")
# the page's own marks, never a picture
_ZH_END = re.compile(r"[【（(\[]\s*(?:本集完|本集终|本集结束|未完待续|待续|完|全剧终|剧终|全剧完|大结局)\s*[】）)\]]")
# a Chinese script's marked lines: 字幕 a caption, 音效 an effect, 音乐 or BGM a cue of that mood, 特写 how the next
# picture is framed, 闪回 under a heading the scene's flashback; written 音效：雷声, 【音效：雷声】, 【字幕】三年前, （字幕：三年前）
_ZH_MARKER = re.compile(r"(?:[【\[（(]\s*(?P<key>字幕|音效|音乐|配乐|BGM|bgm|大特写|特写|近景|中景|全景|远景|大远景|闪回)"
                        r"\s*(?:[：:]\s*(?P<inner>[^】\]）)]*))?[】\]）)]|(?P<key2>字幕|音效|音乐|配乐|BGM|bgm|大特写|特写)"
                        r"\s*[：:])\s*(?P<after>.*)")
_ZH_MARKER_KINDS = {"字幕": "caption", "音效": "sfx", "音乐": "music", "配乐": "music", "bgm": "music", "闪回": "flashback"}
_CJK_WORDS = re.compile(_HAN)
_ROLE_SUFFIX = re.compile(r"(?:[A-Za-z]|\d{1,2})$")  # 护士A, 保安1: the name without it is 护士, 保安


def together(name: str) -> list[str]:
    """The names of a 名字：台词 line's speakers: 林晚、顾言 is two."""
    return [n for n in re.split(r"\s*[、&＆和]\s*", name) if n] if re.search(r"[、&＆]", name) else [name]


def colon_speech(s: str) -> re.Match | None:
    """A Chinese speech written on one line (苏晴：……), or None (a label such as 人物：, a prose 他说：, 第一集：)."""
    match = _COLON_SPEECH.fullmatch(_BRACKETED_CUE.sub(r"\1（\2）", one_spaced(s), count=1))
    if match is None or match["name"] in _LABELS or (match["tag"] and match["tag2"]) or \
            re.fullmatch(r"第.{1,4}[集场幕章]", match["name"]):
        return None
    if match["name"].isascii() and not _CJK_WORDS.search(match["text"]):  # Tony：你好。 -- not Note: she runs.
        return None
    if match["name"][-1:].isdigit() and match["text"][:1].isdigit():  # 晚上8：30，林晚看了看表。 is a time, not 晚上8
        return None
    if _ROLE_SUFFIX.sub("", match["name"]) in _LABELS:  # 镜头1：, 画面2： are the script's labels
        return None
    return match


def scene_number(text: str) -> tuple[str, str]:
    """A heading's text and its scene number (``INT. ROOM - DAY #12A#``), in time linear in the heading's length."""
    end = text.rstrip()
    at = end.rfind("#", 0, len(end) - 1) if end.endswith("#") else -1
    found = _SCENE_NUMBER.fullmatch(end, at) if at >= 0 else None
    return (end[:at].rstrip(), found[1]) if found else (text, "")


def _cue_name(line: str) -> str:
    return re.split(r"\s*[(（^]", line)[0]


def _speech_extension(line: str) -> bool:
    """Whether a line's extension says how a speech is spoken ((V.O.), （画外音）, （小声）, (CONT'D)): a cue's. A marker
    line's says something else (闪回（三年前）) and is action."""
    _, extensions = parse_cue(line.removesuffix("^"))
    return any(canonical_delivery(e) not in (None, "on") or e.strip().lower() in EMOTIONS
               or e.strip().lower() in EMOTION_WORDS or _CONTD.fullmatch(e) for e in extensions)


def _upper_cue(line: str) -> bool:
    """An upper-case line a speech follows is a cue (MIA, MIA (V.O.), JOHN JR., AGENT K.), unless it reads as shouted
    action: BOOM!, SUDDENLY, A SCREAM., THE DOOR EXPLODES. (each made a character that spoke the next line of action):
    a name ends in no ! or ?, holds no comma, and ends in a full stop only after an initial or a suffix."""
    name = re.split(r"[(（]", line)[0].strip()
    last = name.rsplit(" ", 1)[-1].rstrip(".")
    return name.isupper() and not (name.endswith(("!", "?", "！", "？")) or "," in name or "，" in name or
                                   (name.endswith(".") and " " in name and len(last) > 3))


def _structural(line: str, following: str) -> bool:
    """Whether a line opens a scene or a speech: a heading, or a cue above words (``_dense`` looks where they sit)."""
    return bool(_HEADING_ANYWHERE.match(line) or chinese_heading(line) or (following and (
        line.startswith(("@", "＠")) or _upper_cue(line) or _HAN_CUE.fullmatch(line)
        or _COLON_ABOVE.fullmatch(one_spaced(line)))))


def _dense(lines: list[tuple[int, str]]) -> bool:
    """Whether the script was typed without the blank lines Fountain puts before a heading and a cue (a Word
    document's Chinese script): most of the lines that open a scene or a speech sit right under another line.
    Counting blank lines misread a script of long hard-wrapped speeches as one typed without them."""
    opening = under = 0
    for i, (_, raw) in enumerate(lines):
        s = raw.strip()
        if not s or len(s) > 120:
            continue
        following = lines[i + 1][1].strip() if i + 1 < len(lines) else ""
        if _structural(s, following):
            opening += 1
            under += bool(i and lines[i - 1][1].strip())
    return opening >= 3 and under * 5 > opening * 3

def plain(text: str) -> str:
    """Text without emphasis markers (``*italic*``, ``**bold**``, ``_underline_``); ``\\*`` stays a star."""
    text = text.replace("\\*", "\ue000").replace("\\_", "\ue001")
    for _ in range(_EMPHASIS_LEVELS):
        if (stripped := _unemphasise(text)) == text:
            break
        text = stripped
    return clean(text.replace("\ue000", "*").replace("\ue001", "_"))


def _unemphasise(text: str) -> str:
    """One pass of ``_EMPHASIS.sub(r"\\2", text)``, in linear time.

    The pattern scans to the end of the line from every marker that is never closed, so a line of unclosed
    markers took time growing with the square of its length (60 KB of ``_a `` took 17 s). Here each marker
    finds its closer by bisecting the sorted positions of that marker's possible closers."""
    if "*" not in text and "_" not in text:
        return text
    closers = {m: [q.start() for q in re.finditer(rf"(?<=\S)(?={re.escape(m)})", text)] for m in _MARKERS}
    newlines = [q.start() for q in re.finditer("\n", text)]
    out, at = [], 0
    for opener in _OPENER.finditer(text):
        p = opener.start()
        if p < at:
            continue
        line_end = newlines[i] if (i := bisect_left(newlines, p)) < len(newlines) else len(text)
        for m in (("***", "**", "*") if text[p] == "*" else ("_",)):
            start = p + len(m)
            if text[p:start] != m or start >= line_end or text[start].isspace():
                continue
            found = closers[m]
            j = bisect_left(found, start + 1)  # at least one character inside
            if j < len(found) and found[j] < line_end:
                out += [text[at:p], text[start:found[j]]]
                at = found[j] + len(m)
                break
    return "".join(out) + text[at:] if out else text


def _uncomment(text: str, warnings: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[Element]]:
    """(line number, text) of the lines left once the boneyard and notes are gone, and the notes."""
    notes: list[Element] = []

    counted = [0, 0]  # the position and the line reached: matches come in order, so each newline is counted once

    def remove(match: re.Match, note: bool = False) -> str:
        counted[1] += text.count("\n", counted[0], match.start())
        counted[0] = match.start()
        line = counted[1] + 1
        if note and match[1].strip():
            notes.append(Element("comment", f"note: {match[1].strip()}", line))
        elif not note and not match[1]:
            warnings.append((line, "the boneyard /* is never closed with */; the rest of the script is left out"))
        return _REMOVED + ("\n" + _REMOVED) * match[0].count("\n")

    text = _BONEYARD.sub(remove, text)
    counted[:] = [0, 0]
    if (closed := text.rfind("]]")) >= 0:  # a [[ after the last ]] is never closed: no need to look past it
        text = _NOTE.sub(lambda m: remove(m, note=True), text[:closed + 2]) + text[closed + 2:]
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        if _REMOVED in line:
            line = line.replace(_REMOVED, "")
            if not line.strip():
                continue
        lines.append((number, line))
    return lines, notes


def _title_page(lines: list[tuple[int, str]]) -> tuple[dict[str, list[str]], int]:
    """The title page's keys and values (multi-line values indented), and the index of the first body line."""
    i = next((i for i, (_, line) in enumerate(lines) if line.strip()), len(lines))
    block = [line.strip() for _, line in lines[i:i + 40]]
    block = block[:block.index("")] if "" in block else block
    # a title page opens with a key; another key may come before the title (Format: short drama / Title: ...)
    if i == len(lines) or not _KEY.fullmatch(block[0]) or not any(_TITLE_KEY.fullmatch(b) for b in block):
        return _book_title(lines, i)
    page: dict[str, list[str]] = {}
    key = ""
    while i < len(lines) and lines[i][1].strip():
        line = lines[i][1]
        match = None if line[:1].isspace() else _KEY.fullmatch(line.strip())
        if match is not None and (_HEADING_ANYWHERE.match(line.strip()) or chinese_heading(line.strip()) or (
                _HAN_KEY.fullmatch(match[1].strip()) and match[1].strip() not in _TITLE_PAGE_KEYS)):
            match = None  # 场景一：咖啡馆（日/内）, 苏晴：你好。 -- the body, its heading and speeches, not keys
        if match is None and not line[:1].isspace():  # a value goes on indented; an unindented line that is no
            break  # key is the body, with no blank line between (its first heading was read as the title's value)
        if match:
            key = _TITLE_NAMES.get(match[1].strip(), match[1].strip().lower())
        value = match[2] if match else line
        if value.strip():
            page.setdefault(key, []).append(plain(value))
        i += 1
    return page, i


_BOOK_TITLE = re.compile(r"《(?P<title>[^《》]{1,60})》\s*(?P<episode>第\s*[\d一二三四五六七八九十百零两]+\s*集)?\s*")
_EPISODE_LINE = re.compile(r"[【\[（(]?\s*第\s*[\d一二三四五六七八九十百零两]+\s*集\s*[】\]）)]?")


def _book_title(lines: list[tuple[int, str]], i: int) -> tuple[dict[str, list[str]], int]:
    """A Chinese script's title in book-title marks at its top (《替身新娘》, 《替身新娘》第一集, a 第一集 line under
    it) as its title page: the file's name was taken for the title and 第一集 was dropped."""
    match = _BOOK_TITLE.fullmatch(lines[i][1].strip()) if i < len(lines) else None
    if match is None:
        return {}, 0
    episode = [match["episode"]] if match["episode"] else []
    i += 1
    while i < len(lines) and not lines[i][1].strip():
        i += 1
    if not episode and i < len(lines) and _EPISODE_LINE.fullmatch(lines[i][1].strip()):
        episode, i = [lines[i][1].strip().strip("【】[]（）() ")], i + 1
    return {"title": [" ".join([match["title"].strip(), *episode])]}, i


class _Reader:
    """The body, line by line: a paragraph of action or a speech is gathered until a blank line."""

    def __init__(self, lines: list[tuple[int, str]]):
        self.lines = lines
        self.at = 0
        self.han_cues: list[tuple[int, str]] = []  # Chinese names read as cues without "@" (said once, after)
        self.han_action: list[tuple[int, str]] = []  # ... and those that head one speech only, read as action
        self.han_counts: Counter[str] = Counter()  # how many speeches each such name heads
        self.colon_cues: list[tuple[int, str]] = []  # speeches written on one line (苏晴：……)
        self.colon_action: list[tuple[int, str]] = []  # ... and such lines kept as action (a name said once)
        self.colon_counts: Counter[str] = Counter()  # how many such lines each name heads
        self.listed: set[str] = set()  # the names of the script's 人物： lines
        # typed without blank lines (most of a Word document's Chinese scripts; blank lines only between scenes):
        # each line is read as its own paragraph, a speech as one line. All of it was one action paragraph.
        self.dense = _dense(lines)
        blank = True
        for i, (_, raw) in enumerate(lines):
            s = raw.strip()
            if len(s) > 400:  # a speech line is shorter; a long action paragraph is not matched at all
                blank = not s
                continue
            if (match := colon_speech(s) or _COLON_ABOVE.fullmatch(one_spaced(s))) is not None:
                self.colon_counts[match["name"]] += 1
            elif cast := re.fullmatch(r"(?:人物|出场人物|主要人物)\s*[：:]\s*(.+)", s):
                self.listed.update(n for n in re.split(r"[、，,\s]+", cast[1]) if n)
            if s and blank and i + 1 < len(lines) and lines[i + 1][1].strip() and _HAN_CUE.fullmatch(s):
                self.han_counts[_cue_name(s)] += 1
            blank = not s or self.dense
        # written 名字：台词: three such lines or more by names a name's length (短信内容 and 手机屏幕显示 are not)
        self.colon_script = sum(c for name, c in self.colon_counts.items() if len(name) <= 3) >= 2
        self.out: list[Element] = []
        self.block: list[str] = []
        self.first = 0
        self.mode = ""  # "action" or "dialogue" while a paragraph is open

    def flush(self) -> None:
        if self.block:
            kind = "dialogue" if self.mode == "dialogue" else "action"
            self.out.append(Element(kind, join_all(self.block), self.first))
        self.block = []

    def close(self) -> None:
        self.flush()
        self.mode = ""

    def emit(self, kind: str, text: str, line: int, **extra) -> None:
        self.close()
        self.out.append(Element(kind, text, line, **extra))

    def gather(self, line: int, text: str, mode: str) -> None:
        if self.mode != mode:
            self.close()
            self.mode = mode
        if not self.block:
            self.first = line
        if text := plain(text):
            self.block.append(text)

    def read(self) -> list[Element]:
        blank_before = True
        for i, (n, raw) in enumerate(self.lines):
            self.at = i  # the line being read (a cue's check looks two lines on)
            s = raw.strip()
            following = self.lines[i + 1][1].strip() if i + 1 < len(self.lines) else ""
            if not s:
                if self.mode == "dialogue" and raw == "  ":  # two spaces: a pause inside the speech
                    continue
                self.close()
                blank_before = True
                continue
            if self.standalone(n, s):
                blank_before = s[0] != ">"
                continue
            if self.mode != "dialogue" and self.chinese_line(n, s):  # 记住：别回头。 inside a speech is words
                blank_before = True  # each such line stands alone: the next may be a heading or a speech
                continue
            heading = bool(_HEADING_ANYWHERE.match(s) or chinese_heading(s))
            if self.mode == "dialogue" and heading:  # no blank line after the speech
                self.close()
            if self.mode == "dialogue":
                if s[0] in "(（" and s[-1] in ")）":
                    self.flush()
                    self.out.append(Element("paren", plain(s), n))
                elif lead := _LEADING_PAREN.fullmatch(s):
                    self.flush()
                    self.out.append(Element("paren", plain(lead[1]), n))
                    self.gather(n, lead[2], "dialogue")
                    if self.dense:
                        self.close()
                else:
                    self.gather(n, s.removeprefix("~"), "dialogue")
                    if self.dense:  # a speech is its line: the next line may be a heading, a cue or action
                        self.close()
            elif blank_before or heading:
                self.block_start(n, s, following)
            else:
                self.gather(n, s.lstrip("!~"), "action")
            blank_before = self.dense
        self.close()
        return self.out

    def chinese_line(self, n: int, s: str) -> bool:
        """The lines of a Chinese script written as most 短剧 scripts are: △ action, 人物：who is in the scene,
        字幕：a caption, and a speech on one line (苏晴：……, 医生（叹气）：……, 苏晴OS：……, inner voice). They were
        all read as action: an episode without a word spoken."""
        if s[0] in _ACTION_MARKS:
            self.close()
            self.gather(n, s.lstrip(_ACTION_MARKS + " "), "action")
            self.close()
            return True
        if chinese_heading(s):
            return False  # 第一场：医院 夜 内 is a heading
        if _ZH_END.fullmatch(s):  # （本集完）【未完待续】: the page's, not a picture
            self.emit("comment", f"direction: {plain(s)}", n)
            return True
        if marked := _ZH_MARKER.fullmatch(one_spaced(s)):  # 【字幕】三年前, 音效：雷声, 【BGM：悲伤】, 特写：林晚的眼睛
            return self.marked(n, marked)
        label = re.match(r"(人物|出场人物)\s*[：:]\s*(\S.*)", s)
        if label:
            self.emit("comment", f"characters: {label[2]}", n)
            return True
        match = colon_speech(s)
        if match is None and (above := _COLON_ABOVE.fullmatch(one_spaced(s))) is not None and self._cue_above(above):
            self._cue(n, above)
            self.mode = "dialogue"  # the speech is the lines under it
            return True
        if match is None:
            return False
        if not self.speaks(match):
            if not match["name"].endswith(_SHOWN + _SAID) and not match["name"].isascii() and \
                    len(_ROLE_SUFFIX.sub("", match["name"])) <= 4:  # a name, not prose (她低头一看：)
                self.colon_action.append((n, match["name"]))
            return False
        self._cue(n, match)
        text = match["text"]
        if re.fullmatch(r"[(（][^()（）]{1,20}[)）]", text):  # 顾言：（沉默） says nothing: a pause or a direction
            self.out.append(Element("paren", plain(text), n))
            return True
        if lead := _LEADING_PAREN.fullmatch(text):
            self.out.append(Element("paren", plain(lead[1]), n))
            text = lead[2]
        self.out.append(Element("dialogue", plain(text), n))
        return True

    def marked(self, n: int, marked: re.Match) -> bool:
        """A marked line: what it marks, then what the line goes on to say as its own line (【音效：敲门声】林晚猛地抬起头。
        is the knock and the action; 【特写】林晚：我不会放弃的。 frames her line; 【闪回】（三年前） the scene's memory and its
        caption). The rest of such a line was dropped, a speech with it."""
        key = (marked["key"] or marked["key2"]).lower()
        inner, after = marked["inner"], (marked["after"] or "").strip()
        if key == "闪回":  # 【闪回：五年前】, 【闪回】（三年前）: the memory, and when it is as a caption
            when = inner or (re.fullmatch(r"[(（]([^()（）]{1,20})[)）]", after) or [None, None])[1]
            self.emit("flashback", "", n)
            if when and when.strip():
                self.emit("caption", plain(when.strip()), n)
            rest = "" if when and not inner else after
        elif key in _ZH_MARKER_KINDS:  # 【字幕：三年前】rest, 【字幕】三年前, 字幕：三年前
            said, rest = (inner, after) if inner is not None else (after, "")
            if not plain(said.strip()):
                return False
            self.emit(_ZH_MARKER_KINDS[key], plain(said.strip()), n)
        else:  # a size: what it shows, or -- before a speech -- how the speech is framed
            said, rest = (inner, after) if inner is not None else (after, "")
            if inner is None and (speech := colon_speech(after)) is not None and self.speaks(speech):
                said, rest = "", after
            self.emit("shot", f"{key} {plain(said.strip())}".strip(), n)
        if rest:
            self.close()
            if not self.chinese_line(n, rest):
                self.gather(n, rest, "action")
                self.close()
        return True

    def _cue(self, n: int, match: re.Match) -> None:
        """The cue (and parenthetical) of a 名字： line."""
        name, paren = match["name"], match["paren"]
        tag = (match["tag"] or match["tag2"] or "").upper().replace(".", "")
        said = paren.strip().upper().replace(".", "").replace(" ", "") if paren else ""
        if paren and not tag and said in ("OS", "VO", "内心OS", "内心", "内心独白", "心声", "画外音"):  # 苏晴（OS）：
            tag, paren = ("VO" if said in ("VO", "画外音") else "OS"), None  # is 苏晴OS：, inner voice (it was read
            # as off screen); 林晚（内心OS）： too
        cue = name + ("（内心独白）" if tag == "OS" else "（画外音）" if tag == "VO" else "")
        self.emit("cue", cue, n)
        if paren:
            self.out.append(Element("paren", plain(f"（{paren}）"), n))
        self.colon_cues.append((n, name))

    def _cue_above(self, match: re.Match) -> bool:
        """Whether 名字： alone on its line heads the speech under it: a name (not a label, a prose 他说：, a 第一集：)
        with words on the next line. It and its speech were read as one line of action."""
        following = self.lines[self.at + 1][1].strip() if self.at + 1 < len(self.lines) else ""
        name = match["name"]
        if not following or name in _LABELS or re.fullmatch(r"第.{1,4}[集场幕章]", name) or \
                colon_speech(following) is not None or chinese_heading(following):
            return False
        return self.speaks(match)  # as a one-line speech's name is: 手机屏幕显示： above words is action

    def speaks(self, match: re.Match) -> bool:
        """Whether a 名字：台词 line is a speech: its name heads two such lines or more, is listed in a 人物： line,
        carries a delivery or a parenthetical, or -- in a script written this way (three such lines by names of up
        to three characters) -- is such a short name (张妈：少奶奶，您回来了。). A one-off 手机屏幕显示：妈妈来电 or 短信内容：我到了 is
        action, as is a prose 他说：."""
        name = match["name"]
        if match["forced"] or self.colon_counts[name] >= 2 or name in self.listed or name in NARRATOR_CUES:
            return True
        if len(together(name)) > 1:  # said together: each a speaker of the script's
            return all(self.colon_counts[n] or n in self.listed for n in together(name))
        if name.endswith(_SAID):
            return False
        text = match.groupdict().get("text") or ""  # none on a 名字： line above its speech (``_cue_above``)
        return bool(match["tag"] or match["tag2"] or match["paren"] or _LEADING_PAREN.fullmatch(text)) or (
            self.colon_script and (len(name) <= 3 or name.isascii()) and not name.endswith(_SHOWN))

    def han_cue(self, n: int, s: str, following: str = "") -> bool:
        """Chinese has no upper case: a short line of Han characters with no punctuation, right above a line,
        is a cue (李小满, 李小满（小声）, 旁白) where the name heads two speeches or more, carries an extension, has a
        parenthetical under it, or is the narrator's. Action, which ends in punctuation, is not."""
        if not _HAN_CUE.fullmatch(s):
            return False
        name = _cue_name(s)
        parenthetical = following[:1] in "(（" and following[-1:] in ")）" and self._speech_after()
        if self.han_counts[name] < 2 and name not in NARRATOR_CUES and not _speech_extension(s) and \
                not parenthetical:
            self.han_action.append((n, name))  # one speech and no extension: as likely a line of action
            return False
        self.han_cues.append((n, name))
        return True

    def _speech_after(self) -> bool:
        """Whether words follow the parenthetical under the line being read (夜深了 / （窗外传来狗叫声） is action:
        nobody speaks after it)."""
        after = self.lines[self.at + 2][1].strip() if self.at + 2 < len(self.lines) else ""
        return bool(after) and not (after[:1] in "(（" and after[-1:] in ")）")

    def standalone(self, n: int, s: str) -> bool:
        """Page breaks, sections, synopses and centered text, which stand anywhere."""
        if set(s) == {"="} and len(s) >= 3:
            self.close()
        elif s.startswith("#"):
            self.emit("comment", f"section: {s.lstrip('#').strip()}", n)
        elif s.startswith("=") and not s.startswith("=="):
            self.emit("comment", f"synopsis: {s[1:].strip()}", n)
        elif s.startswith(">") and s.endswith("<") and len(s) > 2:
            self.emit("centered", plain(s[1:-1]), n)
        else:
            return False
        return True

    def direction(self, n: int, s: str) -> bool:
        """A line that directs the cut (SUPER: "TOKYO, 1999", INTERCUT WITH:, BEGIN FLASHBACK:, 切至：, （黑场）,
        闪回（三年前）): a caption card, a transition or a comment, not an action drawn as an empty shot."""
        if len(s) > 120:
            return False
        s = one_spaced(s)
        if match := _SUPER.fullmatch(s):
            self.emit("caption", plain(match["text"]), n)
        elif match := _ZH_FLASHBACK.fullmatch(s):
            if match["when"]:
                self.emit("caption", plain(match["when"]), n)
            else:
                self.emit("comment", f"direction: {plain(s)}", n)
        elif _ZH_TRANSITIONS.fullmatch(s):
            self.emit("transition", plain(s), n)
        elif s.isupper() and _MARKER.fullmatch(s):
            self.emit("comment", f"direction: {plain(s)}", n)
        else:
            return False
        return True

    def block_start(self, n: int, s: str, following: str) -> None:
        """The first line after a blank line: a heading, a transition, a cue or action."""
        if self.direction(n, s):
            pass
        elif s.startswith(("!", "~")):  # forced action, lyrics
            self.gather(n, s[1:], "action")
        elif re.match(r"\.\w", s) or _HEADING.match(s) or chinese_heading(s):  # .FORCED, INT. EXT. ...
            text = s.removeprefix(".")
            heading, number = scene_number(text)
            self.emit("heading", plain(heading), n, number=number)
        elif s.startswith(">"):
            self.emit("transition", plain(s[1:]), n)
        elif s.isupper() and (s.endswith("TO:") or _FADES.fullmatch(s)):
            self.emit("transition", plain(s), n)
        elif following and (s.startswith(("@", "＠")) or _upper_cue(s) or self.han_cue(n, s, following)) and \
                plain(s.lstrip("@＠").removesuffix("^").strip()):  # a lone "@" names no one: action
            name = s.lstrip("@＠").removesuffix("^").strip()
            self.emit("cue", plain(name), n, dual=s.endswith("^"))
            self.mode = "dialogue"
        elif self.han_action and self.han_action[-1][0] == n:  # a short line above another, read as action: a
            self.gather(n, s + "，", "action")  # pause keeps them apart (保姆，少爷… / 片刻后，李小满推门而入。)
        else:
            self.gather(n, s, "action")


def parse(text: str) -> Script:
    """The elements of a Fountain script, in order, with the notes as comments."""
    warnings: list[tuple[int, str]] = []
    lines, notes = _uncomment(text.replace("\r\n", "\n").replace("\r", "\n"), warnings)
    page, start = _title_page(lines)
    reader = _Reader(lines[start:])
    body = reader.read()
    if reader.han_cues:
        names = list(dict.fromkeys(name for _, name in reader.han_cues))
        warnings.append((reader.han_cues[0][0], f"read {len(names)} Chinese name(s) without '@' as characters: "
                         f"{'、'.join(names[:8])}{' ...' if len(names) > 8 else ''}; a line meant as action "
                         f"starts with '!'"))
    if reader.colon_cues:
        names = list(dict.fromkeys(name for _, name in reader.colon_cues if name not in NARRATOR_CUES))
        warnings.append((reader.colon_cues[0][0], f"read {len(reader.colon_cues)} line(s) written as 名字：台词 as "
                         f"speeches of {len(names)} character(s): {'、'.join(names[:8])}"
                         f"{' ...' if len(names) > 8 else ''}; a line meant as action starts with '△'"))
    if reader.dense:
        warnings.append((lines[start][0] if start < len(lines) else 1,
                         "the script has (almost) no blank lines: each line was read as its own paragraph (a heading, "
                         "a cue and its one-line speech, or action); Fountain puts a blank line before each"))
    for line, name in reader.colon_action:
        warnings.append((line, f"'{name}：…' was read as action, as '{name}' heads no other speech; write "
                               f"'@{name}：…' if it is a character's line"))
    for line, name in reader.han_action:
        warnings.append((line, f"'{name}' above a line was read as action, as it heads no other speech; write "
                               f"'@{name}' if it is a character"))
    elements = sorted(notes + body, key=lambda e: (e.line, e.kind != "comment"))
    credits = [f"{key.title()}: {' '.join(values)}" for key, values in page.items() if key != "title"]
    return Script(" ".join(page.get("title", [])), elements, credits, warnings)
