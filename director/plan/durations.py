"""How long words take to say, for planning estimates (the voice stage measures the real length)."""
from __future__ import annotations

import re

CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
WORDS_PER_SECOND = 2.6
CJK_CHARS_PER_SECOND = 4.2


def is_cjk_language(language: str) -> bool:
    return language.split("-")[0].lower() in ("zh", "ja", "ko", "cmn", "yue")


def speech_seconds(text: str, language: str) -> float:
    """Estimated speaking time: words per second for spaced scripts, characters per second for CJK."""
    cjk = len(CJK_RE.findall(text))
    if cjk or is_cjk_language(language):
        latin_words = len(re.findall(r"[A-Za-z0-9]+", CJK_RE.sub(" ", text)))
        return cjk / CJK_CHARS_PER_SECOND + latin_words / WORDS_PER_SECOND
    return len(text.split()) / WORDS_PER_SECOND


def action_seconds(text: str, language: str) -> float:
    """Screen time for an action: reading pace, within sensible bounds."""
    return min(6.0, max(2.5, 1.5 + 0.6 * speech_seconds(text, language)))
