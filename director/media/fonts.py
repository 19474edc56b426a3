"""The one font director draws and subtitles with: Noto Sans CJK (SIL OFL), from a package dependency.

It carries Latin, Cyrillic, Greek, Chinese, Japanese and Korean glyphs, so subtitles never
render as empty boxes. Wrapping is by measured width: CJK breaks between characters, other
scripts between words.
"""
from __future__ import annotations

import functools
from pathlib import Path

from director.errors import BackendUnavailable

FONT_PACKAGE = "cvttf_NotoSansCJK_Bold"
FONT_FILE = "NotoSansCJKtc-Bold.otf"
FONT_FAMILY = "Noto Sans CJK TC Bold"  # the name-table family (ID 1) libass matches on


TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def glyph_language(language: str) -> str | None:
    """The language tag that makes the font draw a region's glyph forms, or None for the font's own (TC).

    Noto Sans CJK carries every region's forms and picks them with the OpenType ``locl`` feature by
    language: zh-CN must get Simplified forms (骨, 角, 说 differ from Taiwan's), ja Japanese, ko Korean.
    libass reads the ASS ``[Script Info] Language`` header but keeps only its first two letters
    (libass ``ass.c``), so Traditional Chinese must carry *no* header (``zh-TW`` would become ``zh``:
    Simplified forms); the font's default forms are Traditional."""
    tag = language.lower().replace("_", "-")
    if tag.startswith(TRADITIONAL) or tag in ("yue", "zh-yue"):
        return None
    for prefix, value in (("zh", "zh"), ("cmn", "zh"), ("ja", "ja"), ("ko", "ko")):
        if tag == prefix or tag.startswith(prefix + "-"):
            return value
    return None


def drawing_language(language: str) -> dict:
    """Keyword arguments that make Pillow draw a language's glyph forms (``ImageDraw.text(..., **these)``): the
    same choice as the subtitles make (``glyph_language``); empty without libraqm (Pillow's basic layout
    cannot pick forms by language) or where the font's own forms are the right ones."""
    from PIL import features

    tag = {"zh": "zh-Hans", "ja": "ja", "ko": "ko"}.get(glyph_language(language) or "")
    return {"language": tag} if tag and features.check("raqm") else {}


@functools.lru_cache(maxsize=1)
def font_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("the subtitle font package is missing; install it: pip install cvttf-NotoSansCJK-Bold")
    return Path(list(spec.submodule_search_locations)[0]) / FONT_FILE


@functools.lru_cache(maxsize=32)
def font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path()), size)


@functools.lru_cache(maxsize=1)
def covered_codepoints() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(font_path()), lazy=True).getBestCmap())


def missing_glyphs(text: str) -> list[str]:
    cmap = covered_codepoints()
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})


def wrap_lines(text: str, fnt, max_width: float, names: tuple[str, ...] = (), segment: bool = True) -> list[str]:
    """Every line needed to fit ``text`` in ``max_width`` pixels of ``fnt``, broken between words
    (``media/linebreak.py``: Chinese by word segmentation, ``names`` kept whole; ``segment=False``: by
    character)."""
    from director.media.linebreak import wrap

    return wrap(text, fnt.getlength, max_width, names, segment)


def wrap_text(text: str, fnt, max_width: float, max_lines: int, segment: bool = True) -> list[str]:
    """At most ``max_lines`` lines; the last one ends with an ellipsis when text was cut."""
    lines = wrap_lines(text, fnt, max_width, segment=segment)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and fnt.getlength(last + "…") > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept
