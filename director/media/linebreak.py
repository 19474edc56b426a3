"""Where a subtitle line may break: between words, never inside one.

Chinese has no spaces, so breaking "by character" splits 四十|万, 眼|神, a name 周明|远. Here the text
is segmented into words with jieba (MIT; its dictionary keeps idioms such as 一模一样 whole), the
screenplay's character names are added to its dictionary, a number is kept with its unit or
classifier (2002年, 3天, 三点), closing punctuation stays with the word before it (no line starts
with ，。！？), opening punctuation with the word after it; a particle (的 着 吗 而已) with the word before it,
a preposition (把 被 在) with the word after it. Latin text breaks at spaces. Japanese and
Korean fall back to characters (with the same punctuation rules).

``zh_drama`` is the subtitle craft of Chinese short dramas: no sentence-final 。，、；： at a line's
end, and internal ，、；： shown as a space.

Some text is never broken and never loses its punctuation: a number written with separators (10:30, 8：45,
1,000, 3.14; a full-width ， between numbers is a pause), a web address, a dotted word (example.com).
``clauses`` (where a cue may change) does not cut inside them, and ``zh_drama`` keeps a time's ：.
"""
from __future__ import annotations

import functools
import re
import threading
from itertools import pairwise

CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# emoji and pictographs (with their joiners, variation selectors and skin tones): shown in a subtitle, never read
# aloud -- eSpeak (and VITS, which phonemizes with it) said "face screaming in fear" for a line's 😱
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\uFE0E\uFE0F\u200D"
                   "\U000E0020-\U000E007F]+")


def unspoken(text: str) -> str:
    """``text`` as a voice speaks it: without emoji (``I'm fine 🙂`` -> ``I'm fine``)."""
    return " ".join(EMOJI.sub(" ", text).split()) if EMOJI.search(text) else text
NO_LINE_START = set("，。、！？；：）」』】》〉”’…,.!?;:)%·・")
NO_LINE_END = set("（「『【《〈“‘(")
NUMERAL = re.compile(r"^[0-9０-９.．,，]+$|^[零〇一二三四五六七八九十百千万亿两几半]+$")
UNIT = re.compile(r"^(年|月|日|号|点|分|秒|岁|天|周|个|次|位|元|块|毛|角|万|亿|千|百|米|公里|斤|公斤|克|度|层|楼|号|"
                  r"小时|分钟|周年|倍|成|折|%|％|人|件|条|张|本|杯|瓶|辆|套|间|家|岁了|点钟|块钱|万块|万元)")
# text kept whole: a web address, a number with separators, a dotted word (example.com, v1.2)
WHOLE = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~/?=&%#+:@]*[A-Za-z0-9/]|[0-9０-９]+(?:[.,:：．][0-9０-９]+)+"
                   r"|[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")  # and Wi-Fi, K-pop
CLAUSE_END = set("，。！？；：、,.!?;:…—")  # — : a dash pair breaks off a clause (毁了我——今天)
SENTENCE_END = set("。！？!?….")  # a clause's "." is a sentence's (a title's or an abbreviation's ends no clause)
# a full stop that ends no clause: a title's (Mr. Chen) always; an abbreviation's where the sentence goes on in lower
# case (10 a.m. sharp, the U.S. team; "10 a.m. Are you sure" ends one)
ABBREVIATION = re.compile(r"(?<![A-Za-z.])(?:(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|Corp|Inc|Ltd|Co)\.(?= )"
                          r"|(?:etc|e\.g|i\.e|a\.m|p\.m|U\.S|U\.K|U\.N)\.(?= [a-z0-9]))")
TITLE = re.compile(r"(?<![A-Za-z.])(?:Mr|Mrs|Ms|Miss|Dr|Prof|Mx)\.?\s+")  # a word that never ends a line
CLOSING = set("」』”’）》】〉)")  # stays with the clause whose punctuation it follows: 「我回来了。」|然后
NAME_DOT = re.compile(r"[\u3400-\u9fff]{1,6}(?:[·・][\u3400-\u9fff]{1,6})+")  # 欧阳·纳兰 (a name's parts)
# words that lean on the word before them, as a subtitle editor keeps them: a structural or aspect particle or a
# sentence-final one (出来|的, 拿|着 started a line), and 在/到 after a one-character verb (住|在, 走|到)
PARTICLES = set("的地得了着过吗呢吧啊呀嘛么哦啦") | {"而已", "罢了"}
COVERBS = ("在", "到")
# words that lean on the word after them: a preposition (把|离婚协议书 ended a line on 把). Not a measure word
# with the word after it (一个|下着大雨的深夜: jieba's next word is not the noun it counts, and the long units
# left a clause no even split into cues)
LEAN_FORWARD = {"把", "被", "给", "跟", "对", "从", "让", "向", "在", "和", "与", "将", "为"}
# a time of day before its hour (明天上午|九点 broke between them); an hour is a number and 点 or 时 (晚上|一起 is no
# hour, and 10:30 is kept whole by ``WHOLE``)
DAY_TIMES = ("上午", "下午", "中午", "晚上", "早上", "凌晨", "傍晚", "今晚", "明早", "明晚", "今早")
HOUR = re.compile(r"^[0-9０-９零〇一二三四五六七八九十两]+(?:点|时)")
# a date or a time of several parts (2025年|12月|31日, 11点|59分 broke between them): a part after a part
_NUM = "[0-9０-９零〇一二三四五六七八九十两]+"
DATE_PART = re.compile(rf"{_NUM}(?:年|月|日|号|点|时)$")
NEXT_PART = re.compile(rf"^{_NUM}(?:月|日|号|点|时|分|秒)?$|^{_NUM}(?:月|日|号|点|时|分|秒)")
DATE_UNIT = 12  # characters: a date or time kept whole up to this (a longer one breaks between its parts)
# ... and its number waiting for its unit (2025年12 | 月)
PART_NUMBER = re.compile(rf"(?:年|月|日|号|点|时|{'|'.join(DAY_TIMES)}){_NUM}$")
_lock = threading.Lock()


def _whole_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in WHOLE.finditer(text)]


def clauses(text: str) -> list[str]:
    """``text`` cut after each clause's punctuation (，。！？；：、… and their Latin forms, with a closing quote
    or bracket after them), the spaces after it kept, so the clauses join back into ``text``. Never inside a
    number, a web address or a dotted word (``WHOLE``)."""
    inside = [False] * len(text)
    for a, b in _whole_spans(text):
        inside[a:b] = [True] * (b - a)
    for m in ABBREVIATION.finditer(text):  # Mr. Smith: a title's full stop ends no clause
        inside[m.end() - 1] = True
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        if text[i] in CLAUSE_END and not inside[i]:
            while i < n and text[i] in CLAUSE_END and not inside[i]:
                i += 1
            while i < n and text[i] in CLOSING:
                i += 1
            while i < n and text[i].isspace():
                i += 1
            out.append(text[start:i])
            start = i
        else:
            i += 1
    if start < n:
        out.append(text[start:])
    return out


@functools.lru_cache(maxsize=1)
def _jieba():
    try:
        import jieba
    except ImportError:  # without it: characters, with the punctuation rules (the old behaviour)
        return None
    jieba.setLogLevel(60)
    return jieba


@functools.lru_cache(maxsize=256)
def _known(name: str) -> bool:
    jb = _jieba() if HAN.search(name) else None  # a name in Latin letters needs no word of jieba's (nor its import)
    if jb is not None:
        with _lock:
            jb.add_word(name, freq=100000)
    return True


def words(text: str, names: tuple[str, ...] = (), segment: bool = True) -> list[str]:
    """The units a line may break between, in order; joined they give ``text`` back. ``segment=False``: CJK by
    characters (with the punctuation rules), never loading jieba's dictionary."""
    for name in names if segment else ():
        _known(name)
    out: list[str] = []
    for piece in re.findall(r"\S+\s*|\s+", text):
        if not CJK_CHAR.search(piece):
            if out and TITLE.fullmatch(out[-1]):  # a title stays with its name (Open the door, Mr. | Chen broke)
                out[-1] += piece
            else:
                out.append(piece)
            continue
        out.extend(_cut(piece, segment))
    units = _glue(out)
    return _latin_runs(units) if HAN.search(text) else units


LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-]*\s*")
LATIN_RUN = 24  # characters: a longer run of Latin words in Chinese text may break between them


LATIN_WORDS = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9.+\-]*\s+)+")  # a run so far, each word followed by a space


def _latin_runs(units: list[str]) -> list[str]:
    """In Chinese text, a run of Latin words is one name (iPhone 15 Pro Max, Mate 60 Pro): kept whole where it is
    not longer than ``LATIN_RUN``."""
    out: list[str] = []
    for unit in units:
        if (out and LATIN_WORD.fullmatch(unit) and LATIN_WORDS.fullmatch(out[-1])
                and len(out[-1]) + len(unit.rstrip()) <= LATIN_RUN):
            out[-1] += unit
        else:
            out.append(unit)
    return out


def _cut(piece: str, segment: bool) -> list[str]:
    """A piece with CJK in it, in words: web addresses, numbers with separators and a name's dotted parts
    (欧阳·纳兰) whole, the rest by jieba (or by character)."""
    kept = sorted(_whole_spans(piece) + [m.span() for m in NAME_DOT.finditer(piece)])
    parts, at = [], 0
    for a, b in kept:
        if a < at:  # overlapping (a number inside an address): the first wins
            continue
        parts += _segment(piece[at:a], segment)
        whole = piece[a:b]
        parts += re.findall(r"[^·・]+[·・]?", whole) if NAME_DOT.fullmatch(whole) else [whole]
        at = b
    return parts + _segment(piece[at:], segment)


def _segment(text: str, segment: bool) -> list[str]:
    if not text:
        return []
    jb = _jieba() if segment else None
    if jb is not None and HAN.search(text):
        with _lock:
            return jb.lcut(text, HMM=True)
    return re.findall(r"[A-Za-z0-9]+|\s+|.", text)  # Latin words whole (Watson。 is not W|a|t|s|o|n。)


def _glue(parts: list[str]) -> list[str]:
    """Numbers with their units; punctuation with its word; spaces with the word before them."""
    out: list[str] = []
    for part in parts:
        if not out:
            out.append(part)
            continue
        prev = out[-1]
        core = prev.rstrip()
        word = part.rstrip("".join(NO_LINE_START) + " ")
        han = bool(core) and bool(HAN.match(core[-1]))
        if (part[0] in NO_LINE_START or part.isspace()
                or (core and core[-1] in NO_LINE_END)
                or ((NUMERAL.match(core.lstrip("".join(NO_LINE_END))) or  # 在3 (a preposition leaning on it) too
                     (core[:1] in LEAN_FORWARD and NUMERAL.match(core[1:]))) and UNIT.match(part))
                or (NUMERAL.match(core) and NUMERAL.match(part))
                or (core[-1:].isalnum() and word in PARTICLES)  # CEO的 too
                or (han and word in COVERBS and (len(core) == 1 or (word == "到" and len(core) == 2)))
                or core in LEAN_FORWARD
                or (core.endswith(DAY_TIMES) and HOUR.match(part))
                or (PART_NUMBER.search(core[-DATE_UNIT:]) and UNIT.match(part))  # a number keeps its unit
                or (len(core) + len(part) <= DATE_UNIT and (
                    (DATE_PART.search(core[-DATE_UNIT:]) and NEXT_PART.match(part))
                    or (core.endswith(DAY_TIMES) and re.match(rf"{_NUM}$", part))))):
            out[-1] = prev + part
        else:
            out.append(part)
    return out


def wrap(text: str, measure_text, max_width: float, names: tuple[str, ...] = (), segment: bool = True) -> list[str]:
    """Lines of at most ``max_width`` (as ``measure_text`` says), breaking only between words; two lines are
    balanced (the break that makes the longer line shortest). Closing punctuation hangs past the measure (it may
    never start a line). A word longer than a line is cut as a last resort. ``segment=False``: Chinese breaks
    between characters (``words``), for small print where jieba's dictionary (~0.7 s, ~70 MB) is not worth it."""
    def measure(line: str) -> float:
        return measure_text(line.rstrip("".join(NO_LINE_START) + " "))

    text = " ".join(text.split())
    if measure(text) <= max_width:  # most subtitle lines fit: no segmentation (jieba's dictionary loads in ~0.7 s)
        return [text] if text else []
    units = words(text, names, segment)
    lines: list[str] = []
    current = ""
    for unit in units:
        trial = current + unit
        if current and measure(trial.rstrip()) > max_width:
            lines.append(current.rstrip())
            current = unit.lstrip()
        else:
            current = trial
        while measure(current.rstrip()) > max_width and len(current.strip()) > 1:  # one word wider than a line
            lo, hi = 1, len(current)  # the longest head that fits (searched: one character at a time was slow)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if measure(current[:mid].rstrip()) <= max_width:
                    lo = mid
                else:
                    hi = mid - 1
            cut = lo
            seam = max(current.rfind(c, 0, cut) for c in " /.-_?&")  # a web address breaks after / or .
            cut = seam + 1 if seam > 0 else cut
            lines.append(current[:cut].rstrip())
            current = current[cut:].lstrip()
    if current.strip():
        lines.append(current.rstrip())
    if len(lines) == 2:
        lines = _balance(units, measure, max_width) or lines
    return lines


def _balance(units: list[str], measure, max_width: float) -> list[str] | None:
    """Two lines: broken after a clause's punctuation where one such break fits (the most balanced of them), else
    the most balanced break between words."""
    best = None
    for i in range(1, len(units)):
        a, b = "".join(units[:i]).strip(), "".join(units[i:]).strip()
        wa, wb = measure(a), measure(b)
        if wa > max_width or wb > max_width:
            continue
        end = a.rstrip("".join(CLOSING))[-1:]
        # a clause's end, or a space between Chinese words: the short-drama style's comma (``zh_drama``)
        clause = end in CLAUSE_END or (
            units[i - 1][-1:].isspace() and bool(CJK_CHAR.match(a[-1:])) and bool(CJK_CHAR.match(b[:1])))
        # a clause break where neither line is under a quarter of the other (老公|你今天怎么这么早就回来了呀 won as
        # a clause break all the same), a sentence's end before a clause's (吗？|苏晴 rather than 名字|我就...)
        strength = 2 if end in SENTENCE_END else 1 if end in "；;：:—" else 0
        even = clause and min(wa, wb) >= max(wa, wb) / 4
        weak = not even and a.endswith("的")  # 一辆黑色的|迈巴赫: a modifier cut from its noun, where another fits
        key = (not even, weak, -strength if even else 0, max(wa, wb))
        if best is None or key < best[0]:
            best = (key, [a, b])
    return best[1] if best else None


_WIDE = {",": "，", ".": "。", "!": "！", "?": "？", ";": "；", ":": "："}


def full_width(text: str) -> str:
    """Chinese words' half-width punctuation as a Chinese subtitle sets it: 你好,我是林晚. -> 你好，我是林晚。 (a
    typed , . ! ? ; : after a Han character, not inside a number: 3.5 and 8:45 stay); "你走吧" -> “你走吧”. The
    full-width ones are what the subtitle's style and line breaking read (a half-width , stayed where ， became a
    space)."""
    def wide(m: re.Match) -> str:
        after = text[m.end():m.end() + 1]
        if m[0] in ":;" and after in ")(DPp-":  # :) ;-) -- a face, not a colon
            return m[0]
        return m[0] if after.isascii() and after.isalnum() else _WIDE[m[0]]
    for _ in range(3):  # 他来了!! -- each mark read after the one before it was set (the lookbehind sees the text)
        text, n = re.subn(r"(?<=[\u3400-\u9fff\uf900-\ufaff」』”’）》！？])[,.!?;:](?![.])", wide, text)
        if not n:
            break
    if '"' in text and HAN.search(text) and text.count('"') % 2 == 0:  # pairs of straight quotes around Chinese
        quotes = iter("“”" * (text.count('"') // 2))
        text = re.sub('"', lambda _: next(quotes), text)
    return text


def zh_drama(line: str) -> str:
    """Short-drama subtitle style: no 。，、；： at the end or before a closing quote, internal ones shown as a
    space; a colon inside a time (8：45) stays (a ， between numbers is a pause: 我今年18，2019年来的)."""
    line = re.sub(r"\s*[。，、；：]+\s*(?=[」』”’）》】〉])", "", line.strip())  # 我回来了。」 -> 我回来了」
    line = line.rstrip("。，、；：,;:")

    def space(m: re.Match) -> str:
        a, b = m.start(), m.end()
        time = m.group(0) == "：" and 0 < a and b < len(line) and line[a - 1].isdigit() and line[b].isdigit()
        return m.group(0) if time else " "
    return re.sub(r"\s*[，、；：。]\s*", space, line).strip()


def spoken_language(text: str, language: str) -> str:
    """The language a line is voiced in: the screenplay's (a BCP-47 tag), unless the line is written in another
    script. A Chinese line in an English screenplay is voiced as Chinese (eSpeak spoke every character as
    "Chinese letter", ten seconds of it), an English one in a Chinese screenplay as English."""
    base = language.split("-")[0].lower()
    han = len(HAN.findall(text))
    kana = sum(1 for c in text if "\u3040" <= c <= "\u30ff")
    hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7af")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    if kana and base != "ja":
        return "ja"
    if hangul > latin and base != "ko":
        return "ko"
    if han > latin and base not in ("zh", "cmn", "yue", "ja"):
        return "zh-CN"
    if base in ("zh", "cmn", "yue", "ja", "ko") and not (han or kana or hangul) and latin >= 2:
        return "en"
    return language


# --------------------------------------------------------------------------- pieces of a long text

PIECE_ENDS = (r"[.!?。！？…]+[\"'”’」』)）]*\s*", r"[,;:，；：、]\s*", r"\s+")  # sentence, clause, word


def join(a: str, b: str) -> str:
    """Two pieces of text as one: a space between words, none between CJK characters."""
    if not a or not b:
        return a or b
    return a + ("" if ord(a[-1]) >= 0x2E80 or ord(b[0]) >= 0x2E80 else " ") + b


def join_all(pieces: list[str]) -> str:
    """``join`` over a list, in linear time (a reduce copies the text so far at every piece)."""
    out: list[str] = []
    for piece in pieces:
        if piece:
            if out and ord(out[-1][-1]) < 0x2E80 and ord(piece[0]) < 0x2E80:
                out.append(" ")
            out.append(piece)
    return "".join(out)


def split_text(text: str, limit: int, level: int = 0) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, broken after sentences, else clauses, else words."""
    if len(text) <= limit:
        return [text]
    if level == len(PIECE_ENDS):
        return [text[i:i + limit] for i in range(0, len(text), limit)]
    cuts = [0] + [m.end() for m in re.finditer(PIECE_ENDS[level], text)] + [len(text)]
    pieces = [p for a, b in pairwise(cuts) if (p := text[a:b].strip())]
    out: list[str] = []
    for piece in pieces:
        for part in split_text(piece, limit, level + 1):
            if out and len(joined := join(out[-1], part)) <= limit:
                out[-1] = joined
            else:
                out.append(part)
    return out
