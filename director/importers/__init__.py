"""Import a screenplay written elsewhere (Fountain, Final Draft) as director's screenplay YAML.

``import_script(path)`` reads the file, picks the reader by extension (or, for an unknown
one, by content), and returns the YAML text with its source lines as comments. A file that
cannot be read as a script raises ``ScreenplayError`` (exit code 3) naming file and line, like
``director validate``; what is read but cannot be carried over exactly is a warning.
"""
from __future__ import annotations

import codecs
import sys
from pathlib import Path

from director.errors import Problem, ScreenplayError
from director.importers import fdx, fountain
from director.importers.convert import ENCODINGS, ImportResult, build, clean, decodes, likely_encoding, plausible
from director.paths import not_regular
from director.yamlpos import MAX_BYTES as YAML_LIMIT

__all__ = ["ImportResult", "import_script"]

MAX_BYTES = 4 * 1024 * 1024  # a feature film is ~250 KB of Fountain, ~1 MB of FDX
_OTHER_FORMATS = {b"%PDF": "a PDF", b"PK\x03\x04": "a zip archive (a .docx, .fadein or .highland file?)",
                  b"{\\rtf": "an RTF document"}
STDIN = "<stdin>"  # how a script read from standard input is named in comments, warnings and errors


def import_script(path: Path | None, stream=None) -> ImportResult:
    """The screenplay YAML for a Fountain or Final Draft file; ScreenplayError when it is not one.

    ``path`` None reads the script from ``stream`` (a binary file object: standard input where None), a script
    pasted or piped in: its format is told by its content, its title by its title page (``Untitled`` without)."""
    piped = path is None
    path = Path(STDIN if piped else path)
    display = str(path)
    raw = _read_stream(stream, display) if piped else _read(path, display)
    if path.suffix.lower() == ".fdx" or _is_xml(raw):
        script = fdx.parse(raw, display)
    else:
        text, read_as = _text(raw, display)
        script = fountain.parse(text)
        if read_as:
            script.warnings.insert(0, (1, read_as))
    # a title from the file's name has its line breaks and control characters dropped, as the script's own: one
    # named "y\nnarrator: ...fountain" gave a title `validate` refused
    script.title = clean(script.title) or (None if piped else clean(path.stem)) or "Untitled"
    result = build(script, STDIN if piped else path.name, display)
    size = len(result.yaml_text.encode("utf-8"))
    if size > YAML_LIMIT:  # it would be written, and then every command refuses to read it
        scenes = len(result.screenplay_dict.get("scenes") or [])
        raise _error(display, f"the script makes a {size / 1e6:.1f} MB screenplay ({scenes} scenes), over the "
                              f"{YAML_LIMIT // (1024 * 1024)} MB director reads; split it into episodes (a file "
                              "per episode, each imported on its own)")
    return result


def _error(display: str, message: str, line: int = 1) -> ScreenplayError:
    return ScreenplayError([Problem(display, line, 1, message)])


def _read(path: Path, display: str) -> bytes:
    try:
        info = path.stat()
        size = info.st_size
        if kind := not_regular(info.st_mode):
            raise _error(display, f"the path {kind}")
        if size > MAX_BYTES:
            raise _error(display, f"the file is {size / 1e6:.1f} MB; a screenplay is at most "
                                  f"{MAX_BYTES // (1024 * 1024)} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(display, "no such file") from None
    except OSError as exc:
        raise _error(display, f"cannot read the file: {exc.strerror or exc}") from None
    return _checked(raw, display)


def _is_xml(raw: bytes) -> bool:
    """Whether a script's bytes are an XML document (a Final Draft file): declared, or its root or a comment
    first, in UTF-8 or in UTF-16 with a byte-order mark."""
    head = raw[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head[:len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8")
    head = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")
    return head.startswith((b"<?xml", b"<FinalDraft")) or (head.startswith(b"<!--") and b"<FinalDraft" in head)


def _read_stream(stream, display: str) -> bytes:
    """Standard input's bytes, read no further than the limit (an endless pipe is refused, not held in memory)."""
    if stream is None:
        stream = sys.stdin.buffer if sys.stdin is not None else None
    if stream is None:  # started with standard input closed
        raise _error(display, "standard input is closed; pipe or redirect a script into it (... < episode.fountain)")
    if stream.isatty():
        raise _error(display, "standard input is the terminal; pipe or redirect a script into it "
                              "(... < episode.fountain)")
    try:
        raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _error(display, f"cannot read standard input: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise _error(display, f"standard input holds over {MAX_BYTES // (1024 * 1024)} MB; a screenplay is at most "
                              f"{MAX_BYTES // (1024 * 1024)} MB")
    if not raw.strip():
        raise _error(display, "standard input was empty; pipe a Fountain or Final Draft script into it")
    return _checked(raw, display)


def _checked(raw: bytes, display: str) -> bytes:
    """``raw`` as a script's bytes: another document format or a binary file is refused, saying which."""
    for magic, kind in _OTHER_FORMATS.items():
        if raw.startswith(magic):
            raise _error(display, f"the file is {kind}, not a screenplay; export it from your writing app as "
                                  "Fountain (.fountain) or Final Draft (.fdx)")
    if b"\x00" in raw[:8192] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom = _utf16_bom(raw)
        if bom is None:
            raise _error(display, "the file is binary (it holds NUL bytes), not a Fountain or Final Draft screenplay")
        return bom + raw  # read as the UTF-16 it is (it was called binary)
    return raw


def _utf16_bom(raw: bytes) -> bytes | None:
    """The byte-order mark of UTF-16 text saved without one (its NULs all on one side of each pair: the high
    byte of ASCII), or None."""
    sample = raw[:8192] if len(raw) % 2 == 0 else b""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for bom, nuls, other, codec in ((codecs.BOM_UTF16_LE, odd, even, "utf-16-le"),
                                    (codecs.BOM_UTF16_BE, even, odd, "utf-16-be")):
        if nuls >= 2 and other * 3 <= nuls:  # a Chinese text's 一 (U+4E00) puts a NUL on the other side too
            try:
                raw.decode(codec)
            except UnicodeDecodeError:
                return None
            return bom
    return None


PLAUSIBLE = 0.97  # the share of a decoding's text a script is written in, for it to be read without asking
READ_AS = ("gb18030", "big5", "cp1252")  # read without asking; Shift-JIS only named (English with a curly
# apostrophe in Windows-1252, Mia\x92s, read as Shift-JIS Mia痴: its kanji count as everyday Han)


def _damaged_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8 with a few bad bytes (a stray Latin-1 byte on line 44), not text in another
    encoding: it holds more well-formed multi-byte UTF-8 characters than bad bytes (a GBK script's pairs form a
    UTF-8 character by chance about one time in twelve). Such a file is refused at its bad byte, not re-read whole
    in another encoding (林晚 on line 3 became 譫玲劒)."""
    text = raw.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if ord(c) > 0x7F and c != "\ufffd")
    return good >= 3 and good >= bad


def _text(raw: bytes, display: str) -> tuple[str, str | None]:
    """(Fountain text, a warning or None): UTF-8 (a BOM is fine) or UTF-16 with a BOM; a file in another encoding
    that plainly reads as a script (GBK, Windows Notepad's default for a Chinese script; Big5; Windows-1252) is read
    so, with a warning; anything else gets a hint to convert it."""
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return raw.decode("utf-16"), None
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        found = likely_encoding(raw)
        readable = [(plausible(text), text, name) for enc, name in ENCODINGS if enc in READ_AS and decodes(raw, enc)
                    for text in (raw.decode(enc),)]
        score, text, name = max(readable, key=lambda r: r[0], default=(0.0, "", ""))
        if score >= PLAUSIBLE and not _damaged_utf8(raw):
            return text, (f"the file is not UTF-8: it was read as {name}, which it looks like (line {line} is the "
                          "first that is not UTF-8); if words read wrong, save it as UTF-8 and import it again")
        iconv = f"iconv -f {found[0].upper()} -t UTF-8" if found else ""
        convert = f"... | {iconv} | director import -" if display == STDIN else \
            f"{iconv} {Path(display).name} > fixed.fountain"
        hint = f"it looks like {found[1]}; convert it with: {convert}" if found else "save it as UTF-8"
        raise _error(display, f"the file is not UTF-8 text ({exc.reason}); {hint}", line) from None
