"""Screenplay paragraphs (from Fountain or Final Draft) -> director's screenplay YAML.

Both readers reduce a script to the same stream of ``Element``s, so the rules that turn a
script into scenes, characters and beats live here once: how a heading names a place and a
time, how a cue's extensions become a delivery, how long speeches are split to fit the
format's limits. The YAML is written by hand, not dumped, so that every beat can carry a
``# script.fountain:42`` comment leading back to the line it came from.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field

from director.errors import Problem, ScreenplayError
from director.ids import MAX_ID
from director.media.linebreak import join, split_text
from director.screenplay import MAX_ACTION_CHARS, MAX_LINE_CHARS
from director.vocab import (
    CONTINUOUS_TIMES,
    DELIVERY_WORDS,
    EMOTION_WORDS,
    EMOTIONS,
    MOODS,
    NARRATOR,
    NOT_ON_SCREEN,
    SFX,
    TIME_WORDS,
    TIMES,
    canonical_delivery,
    canonical_emotion,
    canonical_mood,
    canonical_sfx,
    canonical_time,
)

NARRATOR_CUES = ("NARRATOR", "旁白", "画外音", "解说")  # a cue that is the narrator's voice, not a character
MAX_CARD_CHARS = 60  # on-screen text longer than this is no card: it is read as action
_CONTD = re.compile(r"(?i)cont(inued|['’]?d|\.)?|more|续|继续|接上")
_EXTENSION = re.compile(r"\s*[(（]([^()（）]*)[)）]\s*$")
_ENGLISH_HEADING = re.compile(r"(?i)(?P<prefix>int\.?/ext|ext\.?/int|i/e|e/i|int|ext|est)[.\s]\s*(?P<rest>.*)")
_NUMERAL = r"[\d一二三四五六七八九十百零〇两]+"
# 第3场, 场景二, 1-2, 一、 (the numbers of a list only where a setting or a time follows), after an episode's 第1集
_CHINESE_HEADING = re.compile(rf"(?:第\s*{_NUMERAL}\s*集\s*)?(?:第\s*(?P<n1>{_NUMERAL})\s*[场幕場]|[场場]景?\s*(?P<n2>{_NUMERAL})|"
                              r"(?P<n3>\d+(?:[-.－–—]\d+)*)|(?P<n4>[一二三四五六七八九十百零〇两]+)(?=、))[.、:：\s]\s*(?P<rest>\S.*)")
_CHINESE_SETTINGS = {"内": "int", "内景": "int", "外": "ext", "外景": "ext", "内外": "int/ext", "内外景": "int/ext",
                     "內": "int", "內景": "int", "內外": "int/ext", "內外景": "int/ext"}  # 內: a traditional script's
# 内景 咖啡馆 - 日, 外景．天台－夜: the setting first, unnumbered (the most common heading in a Chinese script)
_CHINESE_SETTING_FIRST = re.compile(r"(?P<setting>[内內]外景|[内內]景|外景|[内內]外|[内內]|外)\s*[.．、:：\s\-－–—]+\s*(?P<rest>\S.*)")
_SETTING_WORDS = {"int": ("inside", "室内"), "ext": ("outside", "室外"), "int/ext": ("inside and outside", "室内外"),
                  "est": ("outside", "室外")}
_HEADING_EXAMPLES = "INT. KITCHEN - NIGHT, 内景 厨房 - 夜 or 第1场 厨房 夜 内"
_TIME_SEPARATOR = re.compile(r"\s+[-–—]+\s+")
_TRANSITIONS = (("dissolve", ("DISSOLVE", "叠化", "溶")), ("fade", ("FADE", "BLACK", "淡入", "淡出", "黑场", "渐")),
                ("cut", ("CUT", "切")))
_SHOT_SIZES = (("ECU", r"\b(EXTREME CLOSE|ECU|XCU|INSERT)|大特写"), ("CU", r"\bCLOSE|\bCU\b|特写"),
               ("MCU", r"近景"), ("MS", r"\b(MEDIUM|MID)\b|中景"), ("EWS", r"大远景"),
               ("WS", r"\b(WIDE|WS|ESTABLISHING)\b|全景|远景"))  # a Final Draft shot's words -> shot.size (景别)
_CAMERA_WORDS = re.compile(r"\b(SHOT|ANGLE|ON|OF|THE|TWO|OVER|SHOULDER|POV|REVERSE|MOVING|TRACKING|UP)\b")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
_PLAIN = re.compile(r"[^\W\d_][\w-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")

_CJK_TEXT = re.compile(r"[\u3400-\u9fff]")
_PERSON = re.compile(r"\d|岁|[男女]|老人|少年|少女|孩|(?i:\b(?:man|woman|men|women|girl|boy|lady|guy|kid|child|teen\w*|"
                     r"old|young|elderly|middle-aged|wearing|dressed|suit|coat|dress|jacket|uniform|hair|beard|"
                     r"tall|short|thin|heavy|handsome|beautiful|pretty|blond\w*|brunette|"
                     r"father|mother|son|daughter|wife|husband|sister|brother|detective|officer|doctor|nurse|"
                     r"boss|ceo|fisherman|driver|student|teacher)\b)")
_INTRO = re.compile(r"[^\W\d_]\s*[(（][^()（）]{2,80}[)）]")  # a name, then words in brackets: maybe who they are
_HOLDING = re.compile(r"^(?:(?:talking |speaking )?(?:on|into)\b.*\b(?:phone|telephone|cell|mobile)\b|"
                      r"(?:phone|telephone) to (?:his|her|their) ear)")
_HOLDING_ZH = ("打电话", "接电话", "对着电话", "对着手机", "拿着电话", "拿着手机", "拿起电话", "拿起手机", "打给", "回拨")


MAX_WARNING_CHARS = 600  # a warning quoting a script's over-long text keeps its start and its end
MAX_COMMENT_CHARS = 500  # a line of a comment carried from the script (a note, a synopsis, a credit)
MAX_NAME_CHARS = 200  # a title, a place or a name the script gives (a longer one is cut, with a warning)
MAX_DIRECTION_PARTS = 16  # the parts of a speech's parentheticals searched for its emotion and delivery
# a parenthetical that is a silence, in seconds: a pause beat (the lines around (beat) ran together, 0 s apart)
PAUSES = {"beat": 0.6, "a beat": 0.6, "short beat": 0.4, "long beat": 1.2, "a long beat": 1.2, "pause": 1.0,
          "a pause": 1.0, "short pause": 0.6, "long pause": 2.0, "a long pause": 2.0, "silence": 1.5, "停顿": 1.0,
          "顿": 0.6, "停": 0.6, "片刻": 1.0, "沉默": 1.5, "沉默片刻": 1.5, "良久": 2.0}


def decodes(raw: bytes, encoding: str) -> bool:
    """Whether ``raw`` is text in ``encoding`` (the hints for a file that is not UTF-8)."""
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


ENCODINGS = (("gb18030", "GBK/GB18030"), ("big5", "Big5"), ("shift_jis", "Shift-JIS"), ("cp1252", "Windows-1252"))


def likely_encoding(raw: bytes) -> tuple[str, str] | None:
    """(codec, name) of the encoding a file that is not UTF-8 most plausibly is (``plausible``), or None: the
    hints to convert a Fountain or Final Draft file (an FDX of GBK bytes was told it looked like Windows-1252,
    which decodes nearly any bytes, and converting it so would have turned its Chinese into mojibake)."""
    return max(((enc, name) for enc, name in ENCODINGS if decodes(raw, enc)),
               key=lambda e: plausible(raw.decode(e[0])), default=None)


def plausible(text: str) -> float:
    """The share of ``text`` a script is written in: ASCII, common Han characters, CJK punctuation and full-width
    forms; a Western accented letter counts a little less (Windows-1252 reads a GBK pair as two of them, ÁÖ).
    GB18030 decodes nearly any bytes, so a Big5 file read as it comes out as kana and rare signs (ず春 〡柏繻):
    the decoding with the most plausible text wins (the Big5 file had been told to convert from GB18030).
    Half-width katakana do not count: Shift-JIS read a Windows-1252 CAFÉ as CAFﾉ and won."""
    if not text:
        return 0.0
    good = sum(1.0 if c.isascii() or ("\u4e00" <= c <= "\u9fff" and _common_han(c)) or "\u3000" <= c <= "\u3020"
               or "\uff01" <= c <= "\uff5e" or "\uffe0" <= c <= "\uffe6" or c in "\u2014\u2026\u201c\u201d\u2018\u2019\u00b7"
               else 0.9 if "\u00c0" <= c <= "\u00ff" and c.isalpha() else 0.3 if "\u4e00" <= c <= "\u9fff"
               else 0.0 for c in text)
    return good / len(text)



@functools.lru_cache(maxsize=None)
def _common_han(c: str) -> bool:
    """Whether a Han character is one of the ~3,700 in everyday use (GB2312's first level, or Big5's frequent
    block for a traditional script): GB18030 reads any bytes as Han, mostly rare ones (an odd file was "plausible")."""
    for codec, low, high in (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6)):
        try:
            if low <= c.encode(codec)[0] <= high:
                return True
        except UnicodeEncodeError:
            continue
    return False


def _title_case(name: str) -> str:
    """O'BRIEN -> O'Brien, JEAN-LUC -> Jean-Luc (capwords made O'brien, Jean-luc)."""
    return re.sub(r"[^\W\d_]+", lambda m: m[0].capitalize(), name.lower())


def _card(el: Element) -> dict:
    """A card beat of on-screen text: centred text (>THE END<) a title, SUPER: and 字幕： a caption."""
    return {"card": {"kind": "title" if el.kind == "centered" else "caption", "text": el.text}}


def _shows(data: dict) -> bool:
    """Whether a beat has a picture of its own (a card, a sound, a pause rides on the next one)."""
    return any(k in data for k in ("action", "line", "narration"))


def emotion_of(words: str) -> str | None:
    """The emotion a cue's extension or a parenthetical's part names (SHOUTING, （冷冷地）, whispers), or None."""
    said = words.strip("()（） ").lower()
    return said if said in EMOTIONS else EMOTION_WORDS.get(said) or (
        canonical_emotion(said) if len(said.split()) <= 2 else None)


def holds_phone(parenthetical: str) -> bool:
    """Whether a parenthetical says the speaker is the one on screen talking into a phone ("(on the phone)", （接电话）):
    in a screenplay that is the person we see, not the voice heard through it (the far end is written V.O.). Read
    as a phone's voice, the line we watch was band-limited and its speaker left out of frame."""
    text = parenthetical.strip().lower()
    return bool(_HOLDING.search(text)) or any(w in text for w in _HOLDING_ZH)


@dataclass(frozen=True)
class Element:
    """One paragraph of a script, in reading order, with the line it starts on.

    kind: heading, action, cue, paren, dialogue, transition, centered, caption, shot or comment.
    """

    kind: str
    text: str
    line: int
    number: str = ""     # a heading's scene number
    dual: bool = False   # a cue spoken at the same time as the one before it (dual dialogue)


@dataclass
class Script:
    """What a reader found: the title, the paragraphs, title-page lines and reader warnings."""

    title: str
    elements: list[Element]
    credits: list[str] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    """An imported script: the screenplay YAML (with comments), the same as data, and what to check."""

    yaml_text: str
    screenplay_dict: dict
    warnings: list[Problem]


@dataclass
class _Beat:
    data: dict
    line: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Scene:
    id: str
    location: str
    time: str | None
    heading: str
    line: int
    notes: list[str]
    beats: list[_Beat] = field(default_factory=list)
    flashback: bool = False


# --------------------------------------------------------------------------- text helpers

def clean(text: str) -> str:
    """Whitespace collapsed and control characters dropped: what is left is printable in YAML."""
    return " ".join(_CONTROL.sub("", text).split())


def shortened(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word where one ends in its second half, marked with …"""
    if len(text) <= limit:
        return text
    end = _grapheme_start(text, limit - 1)
    space = text.rfind(" ", 0, end)
    return text[:space if space > limit // 2 else end].rstrip() + "…"


def _grapheme_start(text: str, end: int) -> int:
    """``end``, or the nearest index before it that does not split a character as a reader sees it: an accent
    (e + U+0301), an emoji joined by ZWJ or with its skin tone or variation selector, a flag's pair of regional
    indicators, a Hangul syllable's jamo."""
    def joined(i: int) -> bool:
        c = text[i]
        return (unicodedata.category(c).startswith("M") or c == "\u200d" or text[i - 1] == "\u200d"
                or 0xFE00 <= ord(c) <= 0xFE0F or 0x1F3FB <= ord(c) <= 0x1F3FF or 0x1160 <= ord(c) <= 0x11FF)
    while 0 < end < len(text) and joined(end):
        end -= 1
    run = 0  # regional indicators pair from the run's start: an odd count before the cut splits a flag
    while run < end and 0x1F1E6 <= ord(text[end - 1 - run]) <= 0x1F1FF:
        run += 1
    return end - 1 if run % 2 and end < len(text) and 0x1F1E6 <= ord(text[end]) <= 0x1F1FF else end


def slug(name: str) -> str:
    """An id from a name: ASCII lower case for Latin letters (José -> jose), other scripts kept (林晚)."""
    text = unicodedata.normalize("NFKD", name.replace("'", "").replace("’", ""))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").lower()
    return re.sub(r"[\W_]+", "-", text)[:MAX_ID].strip("-")


def _unique(base: str, used: set[str], fallback: str) -> str:
    base = base or fallback
    ident, n = base, 1
    while ident in used:
        n += 1
        ident = f"{base[:MAX_ID - len(str(n)) - 1]}-{n}"
    used.add(ident)
    return ident


# --------------------------------------------------------------------------- headings, cues, transitions

def chinese_heading(text: str) -> tuple[str, str | None, str | None, str] | None:
    """(place, setting, canonical time, scene number) of a heading like ``1-2 医院走廊 夜 内``, ``【第2场】办公室 夜
    内``, ``第三场 医院 夜 内`` or ``场景3：天台（夜/外）``, or None."""
    text = re.sub(r"^[【\[]([^】\]]{1,12})[】\]]\s*", r"\1 ", text.strip())  # 【第2场】 is 第2场
    if "【" in text:  # 1-1【医院走廊】夜 内: the place in brackets
        text = re.sub(r"【([^】]{1,30})】", r" \1 ", text).strip()
    match = _CHINESE_HEADING.fullmatch(text)
    first = None if match else _CHINESE_SETTING_FIRST.fullmatch(text)
    rest = (match or first)["rest"] if (match or first) else ""
    if not rest or re.search(r"[。！？!?“”\"]", rest):
        return None
    tokens = [t for t in re.split(r"[\s/／、，,|（）()]+|\s*[-－–—]+\s*", rest) if t]
    tokens = [part for t in tokens for part in _time_and_setting(t)]
    settings = {_CHINESE_SETTINGS[t] for t in tokens if t in _CHINESE_SETTINGS}
    if first:
        settings.add(_CHINESE_SETTINGS[first["setting"]])
    times = [t for t in tokens if t not in _CHINESE_SETTINGS and (t in TIME_WORDS or t in CONTINUOUS_TIMES)]
    place = " ".join(t for t in tokens if t not in _CHINESE_SETTINGS and t not in times)
    if not place or not (settings or times) or len(tokens) > 6:
        return None
    if match and match["n3"] and not settings and not _CJK_TEXT.search(place):
        return None  # "3 hours later - dusk" is an English action line, not a numbered heading
    if match and match["n4"] and not settings:
        return None  # 二、计划 晚 is a list's item: a list number heads a scene only with its 内/外
    # unnumbered: 内景/外景 and a place (a time if any); a bare 内 or 外 only as 外 天台 夜, a place and its time
    # (外 早上 很冷 and 内 她 哭 夜 are sentences typed with spaces)
    if first and not first["setting"].endswith("景") and not (len(tokens) == 2 and tokens[-1] in times):
        return None
    if first and len(tokens) > 4:
        return None
    setting = "int/ext" if len(settings) > 1 else next(iter(settings), None)
    number = match["n1"] or match["n2"] or match["n3"] or match["n4"] if match else ""
    return place, setting, canonical_time(times[-1]) if times else None, number


def _time_and_setting(token: str) -> list[str]:
    """A heading's word as its place, time and setting where it runs them together (夜内, 日外, 内夜, 天台·日·外),
    else itself (约翰·史密斯的家 is one place)."""
    parts = [p for p in re.split(r"[·・•]", token) if p]
    if len(parts) > 1:
        said = [q for p in parts for q in _time_and_setting(p)]
        marks = [q for q in said if q in TIME_WORDS or q in _CHINESE_SETTINGS or q in CONTINUOUS_TIMES]
        if marks:
            place = "·".join(q for q in said if q not in marks)
            return [place, *marks] if place else marks
        return [token]
    if token not in TIME_WORDS and len(token) >= 2:
        if token[-1] in "内內外" and token[:-1] in TIME_WORDS:
            return [token[:-1], token[-1]]
        if token[0] in "内內外" and token[1:] in TIME_WORDS:
            return [token[0], token[1:]]
    return [token]


def _time_of(word: str) -> str | None:
    """A heading's time word -> a canonical time (or ``continuous``); ``SAME TIME`` reads as ``SAME``."""
    return canonical_time(word) or (canonical_time(word.split()[0]) if word.split() else None)


def parse_heading(text: str) -> tuple[str, str | None, str | None, str | None]:
    """(place, setting, canonical time, time word) of ``INT. HOSPITAL - CORRIDOR - NIGHT``.

    The last part after `` - `` is the time; one director does not know is left out (and named
    in a warning) rather than taken into the place, so ``EXT. PIER - MAGIC HOUR`` is still the pier.
    """
    chinese = chinese_heading(text)
    if chinese:
        return chinese[0], chinese[1], chinese[2], None
    match = _ENGLISH_HEADING.fullmatch(text.strip())
    prefix, rest = (match["prefix"].lower().replace(".", ""), match["rest"]) if match else (None, text.strip())
    setting = {"i/e": "int/ext", "e/i": "int/ext", "ext/int": "int/ext"}.get(prefix or "", prefix)
    parts = _TIME_SEPARATOR.split(rest)
    if len(parts) == 1:
        return rest, setting, None, None
    return " - ".join(parts[:-1]), setting, _time_of(parts[-1]), parts[-1]


_FLASHBACK_WORDS = ("FLASHBACK", "FLASH BACK", "FLASHBACK SEQUENCE", "闪回", "回忆")
_MARKER_WORDS = _FLASHBACK_WORDS + ("DREAM", "DREAM SEQUENCE", "FANTASY", "MONTAGE", "SERIES OF SHOTS",
                                   "PRESENT DAY", "BACK TO PRESENT", "PRESENT", "梦境", "现在")
_CONTINUITY = ("CONTINUOUS", "SAME", "SAME TIME", "LATER", "MOMENTS LATER", "A MOMENT LATER")


def heading_markers(text: str) -> tuple[str, bool]:
    """A heading without what it says about the scene rather than its place and time -- ``- FLASHBACK``,
    ``(flashback)``, ``DREAM``, a CONTINUOUS after a time, a full stop after it -- and whether it opens a flashback.
    ``INT. KITCHEN - NIGHT - FLASHBACK`` made a place "kitchen-night" set in the day, and ``.FLASHBACK - MIA'S
    KITCHEN`` a place "flashback"."""
    flashback = False
    text = " ".join(text.split()).rstrip(".。")  # one space a run: the patterns below never backtrack over many
    for _ in range(4):  # (FLASHBACK) (DREAM): a few, not one search per repeat of a 100 KB heading
        found = re.search(r" ?[(（\[]([^()（）\[\]]{1,30})[)）\]] ?$", text)
        if not found or found[1].strip().upper() not in _MARKER_WORDS:
            break
        flashback |= found[1].strip().upper() in _FLASHBACK_WORDS
        text = text[:found.start()].rstrip(" .-–—")
    parts = _TIME_SEPARATOR.split(text)
    kept, setting = [], ""
    for i, part in enumerate(parts):
        word = " ".join(part.strip(" .").upper().split())
        prefix = _ENGLISH_HEADING.fullmatch(part.strip()) if i == 0 else None
        bare = " ".join(prefix["rest"].strip(" .").upper().split()) if prefix else word
        if bare in _MARKER_WORDS and len(parts) > 1:  # INT. FLASHBACK - KITCHEN keeps its INT.
            flashback |= bare in _FLASHBACK_WORDS
            setting = part.strip()[:prefix.start("rest")].strip() + " " if prefix else ""
            continue
        if word in _CONTINUITY and kept and _time_of(kept[-1]) is not None and i == len(parts) - 1:
            continue  # DAY - CONTINUOUS: the time it says wins over "the same as before"
        kept.append(part)
    return (setting + " - ".join(kept)).strip(), flashback


def parse_cue(text: str) -> tuple[str, list[str]]:
    """``LIN (V.O.) (CONT'D)`` -> ("LIN", ["V.O."]): the name and its extensions, CONT'D dropped."""
    extensions: list[str] = []
    while match := _EXTENSION.search(text):
        extensions.insert(0, match[1].strip())
        text = text[:match.start()]
    return text.strip(), [e for e in extensions if e and not _CONTD.fullmatch(e)]


def transition_of(text: str) -> str | None:
    """A transition's words -> cut, fade or dissolve; None when director has no such transition."""
    upper = text.upper()
    return next((value for value, words in _TRANSITIONS if any(w in upper for w in words)), None)


def _shot_size(text: str) -> str | None:
    """A Final Draft shot's words -> a ``shot.size`` (CLOSE ON THE TRAY -> CU), or None."""
    return next((size for size, pattern in _SHOT_SIZES if re.search(pattern, text.upper())), None)


def _language(texts: list[str]) -> str:
    """zh-CN or ja when Han characters (or kana) outnumber Latin letters; en otherwise."""
    joined = "".join(texts)
    han = sum(1 for c in joined if "\u3040" <= c <= "\u9fff")
    latin = sum(1 for c in joined if c.isascii() and c.isalpha())
    if han <= latin:
        return "en"
    return "ja" if re.search(r"[\u3040-\u30ff]", joined) else "zh-CN"


# --------------------------------------------------------------------------- building

class _Builder:
    """Walks the elements once, keeping the scene, the speaker and a pending transition."""

    def __init__(self, source: str, display: str):
        self.source, self.display = clean(source), display
        self.characters: dict[str, tuple[str, dict, int]] = {}   # cue name -> (id, entry, line)
        self.locations: dict[tuple, tuple[str, dict, int]] = {}  # (setting, place) -> (id, entry, line)
        self.used_ids: set[str] = {NARRATOR}
        self.scenes: list[_Scene] = []
        self.notes: list[str] = []
        self.warnings: list[Problem] = []
        self.speaker: tuple[str, str | None, bool] | None = None   # (id, delivery, dual)
        self.on_call = False  # someone in this scene speaks "(on the phone)": a V.O. in it is the far end
        self.callers: set[str] = set()  # ... who (their cue's key): their own V.O. is not the far end
        self.paren: tuple[str, int] | None = None
        self.transition: tuple[str, int] | None = None
        self.shot: tuple[str, int] | None = None  # a Final Draft shot's words, for the beat after it
        self.cast: set[str] = set()  # every cue's name in the script
        self.intros: dict[str, str] = {}  # cue name -> the words the script introduces them with
        self.together: list[str] = []  # the others of a cue naming two (MIA AND JOSÉ), who say the line too
        self.held: list[Element] = []  # cards waiting for the scene's first picture
        self.orphans: list[int] = []   # lines of paragraphs before the first heading
        self.orphan_lines: list[int] = []  # ... of those, the dialogue
        self.texts: list[str] = []

    def kept(self, line: int, text: str, limit: int, what: str) -> str:
        """``text`` as the screenplay keeps it: cut to ``limit`` characters, with a warning, where it is longer (a
        value past the validator's 100,000 characters was written, and every command then refused the file)."""
        if len(text) <= limit:
            return text
        kept = shortened(text, limit)
        self.warn(line, f"the {what} is {len(text):,} characters long; it is cut to {len(kept)} (ending in …)")
        return kept

    def warn(self, line: int, message: str) -> None:
        if len(message) > MAX_WARNING_CHARS:  # a script's over-long words quoted in it: its start and its advice
            start = _grapheme_start(message, MAX_WARNING_CHARS // 2)
            end = len(message) - MAX_WARNING_CHARS // 3
            message = f"{message[:start]} … {message[_grapheme_start(message, end):]}"
        self.warnings.append(Problem(self.display, line, 1, message, "warning"))

    def add(self, el: Element) -> None:
        self.texts.append(el.text)
        if el.kind in ("dialogue", "paren") and self.speaker is None:
            self.warn(el.line, f"{'dialogue' if el.kind == 'dialogue' else 'a parenthetical'} without a character "
                               "cue before it is read as action")
            el = Element("action", el.text, el.line)
        if el.kind not in ("dialogue", "paren", "comment"):
            self.end_speech()
        if el.kind == "comment":
            self.notes.append(el.text)
        elif el.kind == "heading":
            self.scene(el)
        elif el.kind == "shot":  # CLOSE ON MAX: how the next beat is shot, not a beat of its own (one made an
            # empty 2.5 s shot of the words "WIDE SHOT", and the action it framed kept the planner's size)
            if self.shot is not None and self.framing(self.shot[0]):  # WIDE SHOT, then ANGLE ON MAX: the second
                # frames the beat (the first was an empty action beat of its words, given the scene's transition)
                self.notes.append(f"shot: {self.shot[0]}")
                self.shot = None
            self.end_shot()
            self.shot = (el.text, el.line)
            if not self.framing(el.text):  # a shot that says what it shows (INSERT - THE NOTE) is a beat
                self.end_shot()
        elif el.kind in ("centered", "caption") and len(el.text) <= MAX_CARD_CHARS and self.scenes and \
                not any(_shows(b.data) for b in self.scenes[-1].beats):
            self.held.append(el)  # SUPER: right under the heading: shown over the scene's first picture
        elif el.kind in ("centered", "caption") and len(el.text) <= MAX_CARD_CHARS and self.scenes:
            # text shown on screen, over the scene's picture: >THE END< a title card (it was an empty shot with
            # "THE END" in its prompt), 字幕：三年后 a caption
            self.beat(_card(el), el.line)
        elif el.kind in ("action", "centered", "caption"):
            self.introduce(el.text)
            for piece in split_text(el.text, MAX_ACTION_CHARS):
                self.beat({"action": piece}, el.line)
        elif el.kind == "cue":
            self.cue(el)
        elif el.kind == "paren":
            self.paren = (join(self.paren[0], el.text) if self.paren else el.text, el.line)
        elif el.kind == "dialogue":
            self.speech(el)
        elif el.kind == "transition":
            self.transition_to(el)
        elif el.kind in ("sfx", "music"):  # 音效：雷声, 音乐：悲伤 -- an effect or a cue where director knows the word
            known = (canonical_sfx if el.kind == "sfx" else canonical_mood)(el.text)
            if known and self.scenes:
                self.beat({"sfx": el.text} if el.kind == "sfx" else {"music": {"mood": el.text}}, el.line)
            else:
                self.notes.append(f"{el.kind}: {el.text}")
                self.warn(el.line, f"{'the sound' if el.kind == 'sfx' else 'the music'} {el.text!r} is not one "
                                   f"director knows; it is kept as a comment (valid: "
                                   f"{', '.join(SFX if el.kind == 'sfx' else MOODS)}, or a Chinese word for one)")
        elif el.kind == "flashback":  # 【闪回】 right under a heading: the scene is a memory
            if self.scenes and not self.scenes[-1].beats:
                self.scenes[-1].flashback = True
            else:
                self.notes.append("direction: 闪回")

    def scene(self, el: Element) -> None:
        self.end_shot()
        self.let_go()
        # a caption that ends a scene, after its last picture, opens the next (字幕：三天后 above a heading): it had
        # ridden on the scene's last shot, over the wrong place, and held it two seconds longer
        beats = self.scenes[-1].beats if self.scenes else []
        while beats and beats[-1].data.get("card", {}).get("kind") == "caption" and \
                any(_shows(b.data) for b in beats[:-1]) and "transition" not in beats[-1].data:
            last = beats.pop()
            self.held.insert(0, Element("caption", last.data["card"]["text"], last.line))
            self.notes = last.notes + self.notes  # its comments go with it
        self.on_call = False
        self.callers = set()
        heading, flashback = heading_markers(el.text)
        place, setting, time, unread = parse_heading(heading)
        place = place.strip(" -–—.:：") or el.text
        key = (setting, " ".join(place.upper().split()))  # the whole place: two cut to the same words stay two
        if key not in self.locations:
            place = self.kept(el.line, place, MAX_NAME_CHARS, "place in the heading")
            ident = _unique(slug(place), self.used_ids, f"place-{len(self.locations) + 1}")
            self.locations[key] = (ident, {"description": _place_description(place, setting)}, el.line)
        if time is None and unread:
            self.warn(el.line, f"{shortened(unread, MAX_NAME_CHARS)!r} in the heading is not a time of day director "
                               f"knows; it is left out and the scene is set in the day (valid: {', '.join(TIMES)}, SAME, CONTINUOUS, LATER)")
        elif time is None and setting:
            self.warn(el.line, f"no time of day in the heading {shortened(el.text, MAX_NAME_CHARS)!r}; the scene is "
                               "set in the day")
        heading = clean(f"{el.text} (scene {el.number})" if el.number else el.text)  # written into a comment
        self.scenes.append(_Scene(f"s{len(self.scenes) + 1}", self.locations[key][0], time,
                                  shortened(heading, MAX_NAME_CHARS), el.line,
                                  self.take_notes(), flashback=flashback))

    def cue(self, el: Element) -> None:
        name, extensions = parse_cue(el.text)
        name = name or el.text
        key = " ".join(name.upper().split())
        delivery = None
        for ext in extensions:
            found = canonical_delivery(ext)
            if holds_phone(ext):  # MIA (ON THE PHONE), HANS (INTO PHONE): the one we see talking into it
                self.callers.add(key)
                self.on_call = True
            elif found is None or found == "on":
                # a parenthetical written on the cue (李小满（小声）, MIA (SHOUTING)): kept as the line's, its
                # emotion read from it where director knows the word (dropped with a warning, the delivery lost)
                if not self.paren:
                    wide = bool(re.search(r"[（）]", el.text))
                    self.paren = (f"（{ext}）" if wide else f"({ext})", el.line)
                if emotion_of(ext) is None:
                    self.warn(el.line, f"the extension ({ext}) of {name} says no delivery or emotion director knows; "
                                       "it is kept as the line's parenthetical and the line is spoken on screen "
                                       "(deliveries: V.O., O.S., O.C., phone, radio, thought)")
            else:
                delivery = found
        if delivery == "vo" and self.on_call and key not in self.callers:  # the far end of this scene's call (a
            delivery = "phone"  # V.O. of the one holding the phone is their own: narration, not through it)
        if key in NARRATOR_CUES:
            self.speaker = (NARRATOR, None, el.dual)
            return
        names = [n for n in re.split(r"\s+(?:AND|&)\s+|\s*[&和、]\s*", key) if n]
        self.together = []
        if len(names) > 1 and all(n in self.cast for n in names):  # MIA AND JOSÉ: both say it (was a third person)
            self.together = [self.character(n, n, el.line) for n in names[1:]]
            key = name = names[0]
        self.speaker = (self.character(key, name, el.line), delivery, el.dual)

    def character(self, key: str, name: str, line: int) -> str:
        """The id of the character a cue names (made at its first cue)."""
        if key not in self.characters:
            ident = _unique(slug(name), self.used_ids, f"character-{len(self.characters) + 1}")
            written = _title_case(name) if name.isupper() and not _CJK_TEXT.search(name) else name  # 护士A as it is
            shown = self.kept(line, written, MAX_NAME_CHARS, "character's name")
            todo = f"TODO: 描述{shown}的长相、年龄和衣着" if _CJK_TEXT.search(shown) else \
                f"TODO: describe {shortened(name, MAX_NAME_CHARS)}"  # in the script's words (a Chinese studio's audit)
            self.characters[key] = (ident, {"name": shown, "description": todo}, line)
        return self.characters[key][0]

    def speech(self, el: Element) -> None:
        assert self.speaker is not None
        who, delivery, dual = self.speaker
        paren = self.paren[0] if self.paren else None
        if paren and len(paren) > MAX_LINE_CHARS:  # cut inside its brackets, closed again
            close = paren.rstrip()[-1:] if paren.rstrip()[-1:] in ")）" else ""
            paren = self.kept(self.paren[1], paren, MAX_LINE_CHARS - len(close), "parenthetical") + close
        if paren and self.paused(self.paren):  # (beat) inside a speech: the silence, not a word of direction
            paren = None
        self.paren = None
        inner = (paren or "").strip("()（） ").lower()
        # each part of a parenthetical: (into phone; angry), (to Ben, sarcastic), （冷冷地）
        parts = [p.strip() for p in re.split(r"[;,；，、]|[)）]\s*[(（]", inner) if p.strip()]
        pause = sum(PAUSES.get(p, 0.0) for p in parts)  # (WHISPERING) (beat): the whisper and the beat
        if pause:
            self.beat({"pause": round(pause, 2)}, el.line)
        # a direction names its emotion and delivery in its first few parts; a 4 MB run of parentheticals (an
        # attacker's) is not searched part by part (each a scan of the emotion words: 26 s)
        read = parts[:MAX_DIRECTION_PARTS]
        emotion = next((e for e in map(emotion_of, read) if e), None)
        said = next((d for d in (DELIVERY_WORDS.get(p, p if p in NOT_ON_SCREEN else None) for p in read) if d), None)
        if any(holds_phone(p) for p in read):  # "(on the phone)": the one we see, talking into it -- the far end
            said, self.on_call = None, True  # is the V.O.
            if who != NARRATOR:
                self.callers.add(next(k for k, c in self.characters.items() if c[0] == who))
        for i, piece in enumerate(split_text(el.text, MAX_LINE_CHARS)):
            if who == NARRATOR:
                data: dict = {"narration": piece}
            else:
                line = {"who": who, "text": piece, "emotion": emotion, "delivery": delivery or said,
                        "parenthetical": paren if i == 0 else None}
                data = {"line": {k: v for k, v in line.items() if v is not None}}
            self.beat(data, el.line, ["dual dialogue: said at the same time as the line before"] if dual and i == 0
                      else [])
            for other in self.together if who != NARRATOR else ():  # MIA AND JOSÉ: the same words, together
                self.beat({"line": {**data["line"], "who": other}}, el.line,  # after it (an overlap across a cut
                          ["said together with the line before"] if i == 0 else [])  # is a J-cut of its own)
        if paren and who == NARRATOR:
            self.warn(el.line, f"narration has no parenthetical; {paren} is left out")
        self.speaker = (who, delivery, False)

    def paused(self, paren: tuple[str, int]) -> bool:
        """A parenthetical that is a pause ((beat), (pause), （停顿）) as a ``pause`` beat; False for any other."""
        seconds = PAUSES.get(" ".join(paren[0].strip("()（） ").lower().split()))
        if seconds is None:
            return False
        self.beat({"pause": seconds}, paren[1])
        return True

    def end_speech(self) -> None:
        if self.paren and not self.paused(self.paren):
            self.warn(self.paren[1], f"the parenthetical {self.paren[0]} has no words after it; it is left out")
        self.speaker = self.paren = None

    def introduce(self, text: str) -> None:
        """Each character's introduction in action -- MIA (20s, yellow raincoat), 苏晴（25岁，倔强的实习生） -- kept as
        their description where the script gives none other: the TODO left every preview voice's gender to chance
        (the female lead spoke with a young man's voice)."""
        if not _INTRO.search(text):
            return
        for key in self.cast - self.intros.keys():
            match = re.search(rf"(?<![^\W\d_]){re.escape(key)}\s*[(（](?P<words>[^()（）]{{2,80}})[)）]", text)
            words = match["words"].strip(" ,，") if match else ""
            # who they are (an age, a gender, what they wear), not what they do: BEN (still asleep), 苏晴（愣住）
            if len(words) >= 2 and _PERSON.search(words):
                self.intros[key] = words

    def transition_to(self, el: Element) -> None:
        value = transition_of(el.text)
        if value is None:
            self.warn(el.line, f"director has no transition like {el.text!r}; a cut is used (known: cut, fade, "
                               "dissolve)")
        if self.transition is not None and (value or "cut") != self.transition[0]:
            if (value or "cut") == "cut":  # （黑场） then 切至：: the cut adds nothing to the fade before it
                return
            self.warn(el.line, f"two transitions in a row: {el.text!r} replaces the {self.transition[0]} before it "
                               f"(line {self.transition[1]})")
        self.transition = (value or "cut", el.line)

    def framing(self, text: str) -> bool:
        """Whether a Final Draft shot only frames (its words a size and camera words, and at most who: CLOSE ON
        MAX, WIDE SHOT, ANGLE ON LIN), rather than saying what the picture shows."""
        rest = _CAMERA_WORDS.sub(" ", text.upper())
        for size, pattern in _SHOT_SIZES:
            rest = re.sub(pattern, " ", rest)
        rest = " ".join(re.sub(r"[^\w]+", " ", rest).split())
        return not rest or all(who in self.cast for who in re.split(r" AND | ", rest))

    def end_shot(self) -> None:
        """A shot as a beat of its own (it says what it shows, or no beat followed it in its scene): an action beat
        of its words, as the script shows them, with the size it names."""
        if self.shot is not None:
            (text, line), self.shot = self.shot, None
            size = _shot_size(text)
            shown = re.sub(r"^(?:大特写|特写|近景|中景|全景|远景|大远景)\s+", "", text)  # 特写：林晚的眼睛: her eyes, close
            for piece in split_text(shown, MAX_ACTION_CHARS):
                self.beat({"action": piece, **({"shot": {"size": size}} if size else {})}, line)

    def beat(self, data: dict, line: int, notes: list[str] | None = None) -> None:
        if self.shot is not None and "shot" not in data:
            (text, _), self.shot = self.shot, None
            size = _shot_size(text)
            if size:
                data["shot"] = {"size": size}
            notes = [f"shot: {text}", *(notes or [])]
        if not self.scenes:
            self.orphans.append(line)
            if "line" in data:
                self.orphan_lines.append(line)
            return
        if self.transition:
            data["transition"] = self.transition[0]
            self.transition = None
        if self.held and _shows(data):  # before the picture: a card rides on the shot of the beat after it (it
            held, self.held = self.held, []  # was put after, and 三天后 showed over the scene's second shot)
            self.scenes[-1].beats += [_Beat(_card(el), el.line, []) for el in held]
        self.scenes[-1].beats.append(_Beat(data, line, self.take_notes() + (notes or [])))

    def let_go(self) -> None:
        """Cards held for a picture the scene never showed: its action, as the script has the words -- or, in a
        scene with beats but no picture (音效：雷声 alone), cards still (they ride on the next picture)."""
        held, self.held = self.held, []
        if held and self.scenes and self.scenes[-1].beats:
            self.scenes[-1].beats += [_Beat(_card(el), el.line, []) for el in held]
            return
        for el in held:
            for piece in split_text(el.text, MAX_ACTION_CHARS):
                self.beat({"action": piece}, el.line)

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def finish(self, script: Script) -> ImportResult:
        self.end_speech()
        self.end_shot()
        if self.scenes:
            self.let_go()
        if not script.elements:
            raise ScreenplayError([Problem(self.display, 1, 1, "the script is empty: no scenes, action or dialogue")])
        if not self.scenes:
            raise ScreenplayError([Problem(self.display, script.elements[0].line, 1, "no scene headings found "
                                           f"(lines such as {_HEADING_EXAMPLES}); is this a screenplay?")])
        if self.orphans:  # a cast list or notes, or a scene whose heading the reader did not take for one
            speech = (f", {len(self.orphan_lines)} of them dialogue (from line {self.orphan_lines[0]})"
                      if self.orphan_lines else "")
            self.warn(self.orphans[0], f"{len(self.orphans)} paragraph(s) before the first scene heading are left out"
                                       f"{speech}; if they are a scene, add a heading above line {self.orphans[0]}, "
                                       f"such as {_HEADING_EXAMPLES}")
        if self.transition and self.transition[0] == "fade":  # FADE OUT. ends most scripts
            self.warn(self.transition[1], "the closing fade is not carried: the episode's picture ends on its last "
                                          "frame (its music fades out)")
        elif self.transition:
            self.warn(self.transition[1], "no beat follows this transition; it is left out")
        for scene in self.scenes:
            if not scene.beats:
                self.warn(scene.line, f"the scene {scene.heading!r} has no action or dialogue; an establishing action "
                                      "is added")
                place = next(e["description"] for i, e, _ in self.locations.values() if i == scene.location)
                words = f"{place}，全景。" if _CJK_TEXT.search(place) else f"Establishing: {place}."
                scene.beats += [_Beat({"action": piece}, scene.line) for piece in split_text(words, MAX_ACTION_CHARS)]
        for key, (ident, entry, line) in self.characters.items():  # described where the script brings them in
            said = self.intros.get(key)
            if said and entry["description"].startswith("TODO"):
                entry["description"] = said
        title = self.kept(1, script.title, MAX_NAME_CHARS, "title")
        data = {"title": title, "language": _language(self.texts),
                "characters": {i: e for i, e, _ in self.characters.values()},
                "locations": {i: e for i, e, _ in self.locations.values()},
                "scenes": [{"id": s.id, "location": s.location, **({"time": s.time} if s.time else {}),
                            **({"flashback": True} if s.flashback else {}),
                            "beats": [b.data for b in s.beats]} for s in self.scenes]}
        return ImportResult(self.emit(data, script.credits), data, sorted(self.warnings))

    def emit(self, data: dict, credits: list[str]) -> str:
        src = self.source
        out = [f"# Imported from {src} by `director import`; each beat ends with the line it came from.",
               "# Describe each character (the TODOs) and check each place: the descriptions drive the pictures.",
               *_comments(credits, ""),
               f"title: {_scalar(data['title'])}", f"language: {data['language']}",
               "characters:" + ("" if self.characters else " {}")]
        out += [f"  {_scalar(i)}: {_flow(e)}  # {src}:{n}" for i, e, n in self.characters.values()]
        out.append("locations:")
        out += [f"  {_scalar(i)}: {_flow(e)}  # {src}:{n}" for i, e, n in self.locations.values()]
        out.append("scenes:")
        for scene in self.scenes:
            out += _comments(scene.notes, "  ")
            out += [f"  - id: {scene.id}  # {scene.heading} ({src}:{scene.line})",
                    f"    location: {_scalar(scene.location)}"]
            out += [f"    time: {scene.time}"] if scene.time else []
            out += ["    flashback: true"] if scene.flashback else []
            out.append("    beats:")
            for beat in scene.beats:
                out += _comments(beat.notes, "      ")
                (kind, value), *extra = beat.data.items()
                out.append(f"      - {kind}: {_flow(value)}  # {src}:{beat.line}")
                out += [f"        {key}: {_flow(value)}" for key, value in extra]
        out += _comments(self.notes, "")
        return "\n".join(out) + "\n"


def _place_description(place: str, setting: str | None) -> str:
    """``HOSPITAL CORRIDOR`` + int -> ``hospital corridor, inside``: words the planner reads (outside = exterior)."""
    shown = place.lower() if place.isupper() else place
    if setting is None:
        return shown
    english, chinese = _SETTING_WORDS[setting]
    return f"{shown}，{chinese}" if ord(shown[-1]) >= 0x2E80 else f"{shown}, {english}"


def _comments(notes: list[str], indent: str) -> list[str]:
    return [f"{indent}# {shortened(_CONTROL.sub('', line), MAX_COMMENT_CHARS)}" for note in notes
            for line in note.splitlines() if line.strip()]


def _scalar(value: str) -> str:
    """A YAML scalar: plain when it is a word YAML reads back as the same text, else JSON-quoted (valid YAML)."""
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(_CONTROL.sub("", value), ensure_ascii=False)


def _flow(value: str | float | dict) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return _scalar(value)


def build(script: Script, source: str, display: str) -> ImportResult:
    """The screenplay for ``script``; ``source`` names it in comments, ``display`` in warnings and errors."""
    builder = _Builder(source, display)
    builder.cast = {" ".join((parse_cue(e.text)[0] or e.text).upper().split()) for e in script.elements
                    if e.kind == "cue"}  # who a shot may name before their first line (CLOSE ON MAX)
    for line, message in script.warnings:
        builder.warn(line, message)
    for element in script.elements:
        builder.add(element)
    return builder.finish(script)
