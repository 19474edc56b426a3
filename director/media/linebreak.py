"""Where a subtitle line may break: between words, never inside one.

Chinese has no spaces, so breaking "by character" splits 四十|万, 眼|神, a name 周明|远. Here the text
is segmented into words with jieba (MIT; its dictionary keeps idioms such as 一模一样 whole), the
screenplay's character names are added to its dictionary, a number is kept with its unit or
classifier (2002年, 3天, 三点), closing punctuation stays with the word before it (no line starts
with ，。！？), opening punctuation with the word after it. Latin text breaks at spaces. Japanese and
Korean fall back to characters (with the same punctuation rules).

``zh_drama`` is the subtitle craft of Chinese short dramas: no sentence-final 。，、；： at a line's
end, and internal ，、；： shown as a space.
"""
from __future__ import annotations

import functools
import re
import threading

CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
NO_LINE_START = set("，。、！？；：）」』】》〉”’…,.!?;:)%")
NO_LINE_END = set("（「『【《〈“‘(")
NUMERAL = re.compile(r"^[0-9０-９.．,，]+$|^[零〇一二三四五六七八九十百千万亿两几半]+$")
UNIT = re.compile(r"^(年|月|日|号|点|分|秒|岁|天|周|个|次|位|元|块|毛|角|万|亿|千|百|米|公里|斤|公斤|克|度|层|楼|号|"
                  r"小时|分钟|周年|倍|成|折|%|％|人|件|条|张|本|杯|瓶|辆|套|间|家|岁了|点钟|块钱|万块|万元)")
_lock = threading.Lock()


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
            out.append(piece)
            continue
        jb = _jieba() if segment else None
        if jb is not None and HAN.search(piece):
            with _lock:
                parts = jb.lcut(piece, HMM=True)
        else:
            parts = list(piece)
        out.extend(parts)
    return _glue(out)


def _glue(parts: list[str]) -> list[str]:
    """Numbers with their units; punctuation with its word; spaces with the word before them."""
    out: list[str] = []
    for part in parts:
        if not out:
            out.append(part)
            continue
        prev = out[-1]
        core = prev.rstrip()
        if (part[0] in NO_LINE_START or part.isspace()
                or (core and core[-1] in NO_LINE_END)
                or (NUMERAL.match(core.lstrip("".join(NO_LINE_END))) and UNIT.match(part))
                or (NUMERAL.match(core) and NUMERAL.match(part))):
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
            cut = len(current)
            while cut > 1 and measure(current[:cut].rstrip()) > max_width:
                cut -= 1
            lines.append(current[:cut].rstrip())
            current = current[cut:].lstrip()
    if current.strip():
        lines.append(current.rstrip())
    if len(lines) == 2:
        lines = _balance(units, measure, max_width) or lines
    return lines


def _balance(units: list[str], measure, max_width: float) -> list[str] | None:
    best = None
    for i in range(1, len(units)):
        a, b = "".join(units[:i]).strip(), "".join(units[i:]).strip()
        wa, wb = measure(a), measure(b)
        if wa <= max_width and wb <= max_width and (best is None or max(wa, wb) < best[0]):
            best = (max(wa, wb), [a, b])
    return best[1] if best else None


def zh_drama(line: str) -> str:
    """Short-drama subtitle style: no 。，、；： at the end, internal ones shown as a space."""
    line = line.strip().rstrip("。，、；：,;:")
    line = re.sub(r"\s*[，、；：]\s*", " ", line)
    line = re.sub(r"\s*。\s*", " ", line)
    return line.strip()
