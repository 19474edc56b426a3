"""The one font director draws and subtitles with: Noto Sans CJK (SIL OFL), from a package dependency.

It carries Latin, Cyrillic, Greek, Chinese, Japanese and Korean glyphs, so subtitles never
render as empty boxes. Wrapping is by measured width: CJK breaks between characters, other
scripts between words.
"""
from __future__ import annotations

import functools
import struct
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


@functools.lru_cache(maxsize=1)
def _harfbuzz_face():
    """The font as HarfBuzz reads it (the file mapped once per process), or None without uharfbuzz."""
    try:
        import uharfbuzz
    except ImportError:  # pragma: no cover - a dependency; the full font still works
        return None
    return uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(font_path())))


def subset_font(text: str, folder: Path) -> Path | None:
    """The font cut down to ``text``'s characters, written into ``folder`` under the font's own file name; returns
    ``folder``, or None where HarfBuzz's subsetter (``uharfbuzz``) is missing or fails (use ``font_path().parent``).

    libass loads every font in its ``fontsdir`` whole: the 17 MB CJK font cost each burn ~60 ms and ~60 MB of
    page faults before the first frame, where a subset of a subtitle slice's characters (~25 kB, made in ~5 ms)
    costs ~20 ms. Every layout feature (``locl``: a region's glyph forms), every name (libass matches the family)
    and the hinting are kept, so libass draws the same pixels (tested frame for frame against the full font)."""
    face = _harfbuzz_face()
    if face is None:
        return None
    import uharfbuzz as hb

    try:
        wanted = hb.SubsetInput()
        wanted.sets(hb.SubsetInputSets.UNICODE).update({ord(ch) for ch in text})
        for kept in (hb.SubsetInputSets.LAYOUT_FEATURE_TAG, hb.SubsetInputSets.NAME_ID,
                     hb.SubsetInputSets.NAME_LANG_ID):  # all of them: an empty set, inverted
            chosen = wanted.sets(kept)
            chosen.clear()
            chosen.invert()
        data = hb.subset(face, wanted).blob.data
    except Exception:  # noqa: BLE001 - any failure of the subsetter: the whole font instead
        return None
    if not data:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FONT_FILE).write_bytes(data)
    return folder


@functools.lru_cache(maxsize=1)
def libass_scale() -> float:
    """An ASS font size over the em it draws with director's font. libass (as VSFilter) sizes a face so that its
    OS/2 winAscent + winDescent fill the size: Noto Sans CJK (1160 + 320 of 1000 units) at Fontsize 65 drew
    characters 44 px tall, while the lines were broken for 65 px ones (a third of each line left empty). Read from
    the font's tables directly, as ``cmap_codepoints`` reads its cmap (no fontTools on a render's path)."""
    with open(font_path(), "rb") as f:
        tables = _tables(f)
        if tables is None or b"head" not in tables:
            return 1.0
        f.seek(tables[b"head"][0] + 18)
        (units,) = struct.unpack(">H", f.read(2))
        span = 0
        if b"OS/2" in tables:
            f.seek(tables[b"OS/2"][0] + 74)
            ascent, descent = struct.unpack(">HH", f.read(4))
            span = ascent + descent
        if not span and b"hhea" in tables:
            f.seek(tables[b"hhea"][0] + 4)
            ascent, descent = struct.unpack(">hh", f.read(4))
            span = ascent - descent
    return span / units if units and span > 0 else 1.0


def ass_size(em: float) -> int:
    """The ASS ``Fontsize`` (or ``\\fs``) that draws characters ``em`` pixels tall, as PIL measures ``font(em)``."""
    return max(1, round(em * libass_scale()))


def _tables(f) -> dict[bytes, tuple[int, int]] | None:
    """An OpenType file's tables, tag -> (offset, length), from its directory; None for a collection (ttcf)."""
    head = f.read(12)
    if head[:4] == b"ttcf":
        return None
    if len(head) < 12:
        raise ValueError("not a font file")
    (count,) = struct.unpack(">H", head[4:6])
    records = f.read(16 * count)
    return {records[i:i + 4]: struct.unpack(">II", records[i + 8:i + 16]) for i in range(0, len(records), 16)}


@functools.lru_cache(maxsize=32)
def font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path()), size)


@functools.lru_cache(maxsize=1)
def covered_codepoints() -> frozenset[int]:
    """Every character the font has a glyph for."""
    return cmap_codepoints(font_path())


# the Unicode subtables a font's cmap may carry, best first (fontTools' getBestCmap order): (platform, encoding)
CMAP_ORDER = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


def cmap_codepoints(path: Path) -> frozenset[int]:
    """The characters an OpenType/TrueType font maps to a glyph (not to glyph 0, the "missing" box), read from its
    best Unicode ``cmap`` subtable of format 12 or 4, the two every CJK or Latin font carries. Read directly: the
    table is a few hundred kB of a 17 MB font, where fontTools decoded it into glyph names in 0.3 s (after 0.1 s
    of importing itself), on the path of every render whose subtitles changed. Other formats go to fontTools."""
    with open(path, "rb") as f:
        try:
            tables = _tables(f)
        except ValueError:
            raise ValueError(f"{path}: not a font file") from None
        if tables is None:  # a collection: its fonts' own directories follow
            return _fonttools_codepoints(path)
        if b"cmap" not in tables:
            raise ValueError(f"{path}: the font has no cmap table")
        offset, length = tables[b"cmap"]
        f.seek(offset)
        cmap = f.read(length)
    (n,) = struct.unpack(">H", cmap[2:4])
    subtables = {}
    for i in range(n):
        platform, encoding, at = struct.unpack(">HHI", cmap[4 + 8 * i:12 + 8 * i])
        subtables.setdefault((platform, encoding), at)
    for key in CMAP_ORDER:
        if key in subtables:
            at = subtables[key]
            (fmt,) = struct.unpack(">H", cmap[at:at + 2])
            if fmt == 12:
                return _format12(cmap, at)
            if fmt == 4:
                return _format4(cmap, at)
            break
    return _fonttools_codepoints(path)  # another format: rare, and fontTools reads them all


def _fonttools_codepoints(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font_file = TTFont(str(path), lazy=True, fontNumber=0)
    best = font_file.getBestCmap() or {}  # None: no Unicode subtable at all
    return frozenset(c for c, name in best.items() if font_file.getGlyphID(name) != 0)


def _format12(cmap: bytes, at: int) -> frozenset[int]:
    """Format 12: groups of (first character, last character, first glyph)."""
    import numpy as np

    (groups,) = struct.unpack_from(">I", cmap, at + 12)
    table = np.frombuffer(cmap, ">u4", 3 * groups, at + 16).reshape(groups, 3).astype(np.int64)
    table[:, 1] = np.minimum(table[:, 1], 0x10FFFF)  # nothing past Unicode's last character
    table = table[table[:, 0] <= table[:, 1]]  # a malformed group is skipped, not the whole table
    if not len(table):
        return frozenset()
    # a group starting at glyph 0 maps its first character to "missing": that character is left out of it
    first = table[:, 0] + (table[:, 2] == 0)
    sizes = table[:, 1] - first + 1
    table, first, sizes = table[sizes > 0], first[sizes > 0], sizes[sizes > 0]
    # each group's characters: a running count, shifted by how far its group's first character is from it
    out = np.arange(int(sizes.sum())) + np.repeat(first - (np.cumsum(sizes) - sizes), sizes)
    return frozenset(out.tolist())


def _format4(cmap: bytes, at: int) -> frozenset[int]:
    """Format 4 (the Basic Multilingual Plane): segments of characters with a glyph offset or an index array."""
    import numpy as np

    (seg2,) = struct.unpack_from(">H", cmap, at + 6)
    segs = seg2 // 2
    arrays = at + 14
    end = np.frombuffer(cmap, ">u2", segs, arrays).astype(np.int64)
    start = np.frombuffer(cmap, ">u2", segs, arrays + seg2 + 2).astype(np.int64)
    delta = np.frombuffer(cmap, ">i2", segs, arrays + 2 * seg2 + 2).astype(np.int64)
    ranges = arrays + 3 * seg2 + 2  # idRangeOffset[]: an offset from its own position into glyphIdArray
    offsets = np.frombuffer(cmap, ">u2", segs, ranges).astype(np.int64)
    out = set()
    for i in range(segs):
        if start[i] > min(end[i], 0xFFFE):  # U+FFFF is not a character: the table's closing segment maps it
            continue
        codes = np.arange(start[i], min(end[i], 0xFFFE) + 1)
        if offsets[i] == 0:
            glyphs = (codes + delta[i]) & 0xFFFF
        else:
            first = ranges + 2 * i + offsets[i]
            raw = np.frombuffer(cmap, ">u2", len(codes), first).astype(np.int64)
            glyphs = np.where(raw != 0, (raw + delta[i]) & 0xFFFF, 0)
        out.update(codes[glyphs != 0].tolist())
    return frozenset(out)


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
