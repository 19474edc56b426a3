"""Final Draft (.fdx) -> ``Script``.

An FDX file is XML: ``<FinalDraft><Content>`` holds one ``<Paragraph Type="...">`` per script
element, its words in ``<Text>`` runs (one per change of style), a ``<DualDialogue>`` wrapping
two speeches said at once, and ``<TitlePage>`` the cover. It is read with expat directly, so
each paragraph keeps the line of its start tag, and a DOCTYPE is refused before any entity
could be declared, let alone expanded.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from director.errors import Problem, ScreenplayError
from director.importers.convert import Element, Script, clean, likely_encoding

_SCENE_NUMBER = re.compile(r"[\w.-]{1,16}")
_KINDS = {"Scene Heading": "heading", "Action": "action", "General": "action", "Character": "cue",
          "Dialogue": "dialogue", "Parenthetical": "paren", "Transition": "transition", "Shot": "shot"}
_SKIPPED = ("New Act", "End of Act", "Cast List")  # structure, kept as comments


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def words(self) -> str:
        """The paragraph's text: its ``<Text>`` runs joined (styles are separate runs of one sentence)."""
        return clean("".join(c.text for c in self.children if c.tag == "Text"))


_EMPTY = _Node("", {}, 1)  # stands for a missing <Content>


# what expat reads itself; a file declaring another encoding (GBK, Big5: a Chinese Final Draft's) is decoded first
_EXPAT_CODECS = {"utf8", "utf16", "iso88591", "latin1", "usascii", "ascii"}
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def _as_expat_reads(raw: bytes, display: str) -> bytes:
    """``raw``, or where its declaration names a multi-byte encoding expat cannot read (GBK, GB2312, Big5,
    Shift_JIS), the same document in UTF-8 under a UTF-8 declaration: such a file stopped on an internal error.
    A file with a UTF-16 byte-order mark is UTF-16 whatever it declares (one converted by iconv still said UTF-8)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as bad:
            raise ScreenplayError([Problem(display, 1, 1, f"the file starts as UTF-16, but byte {bad.start} is not "
                                           "UTF-16; save the script from Final Draft again, as UTF-8")]) from None
        declared = _DECLARED.match(raw)
        return raw if declared is None else \
            raw[:declared.start(1)] + b"UTF-8" + raw[declared.end(1):]
    declared = _DECLARED.match(raw)
    if declared is None or re.sub(r"[-_.]", "", declared[1].decode().lower()) in _EXPAT_CODECS:
        return raw
    name = declared[1].decode()
    try:
        if not codecs.lookup(name)._is_text_encoding:  # punycode, rot13, undefined: no encoding of a document
            raise LookupError(name)
        text = raw.decode(name)
    except LookupError:
        raise ScreenplayError([Problem(display, 1, 1, f"the XML declaration names encoding {name!r}, which director "
                                       "cannot read; save the script from Final Draft again, as UTF-8")]) from None
    except UnicodeError as bad:  # what the bytes are not (a decoder without a position says line 1)
        start = getattr(bad, "start", 0)
        raise ScreenplayError([Problem(display, raw.count(b"\n", 0, start) + 1, 1,
                                       f"the file declares encoding {name!r}, but byte {start} is not {name}; "
                                       "save the script from Final Draft again, as UTF-8")]) from None
    return _DECLARED.sub(lambda m: m[0][:m.start(1) - m.start(0)] + b"UTF-8" + m[0][m.end(1) - m.start(0):], text.encode("utf-8"), count=1)


def _tree(raw: bytes, display: str) -> _Node:
    """The document as nodes with line numbers; malformed XML and DOCTYPEs are located errors."""
    raw = _as_expat_reads(raw, display)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    top = _Node("", {}, 1)
    stack = [top]

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def refuse(*_) -> None:
        raise ScreenplayError([Problem(display, parser.CurrentLineNumber, 1,
                                       "the file has a DOCTYPE declaration, which Final Draft files do not use "
                                       "and director refuses (it can declare entities); remove the <!DOCTYPE ...>")])

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _tag: stack.pop()
    parser.CharacterDataHandler = lambda data: setattr(stack[-1], "text", stack[-1].text + data)
    parser.StartDoctypeDeclHandler = refuse
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        hint = ""
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:  # no encoding declared and not UTF-8: expat reads UTF-8 and stops
            if b"encoding=" not in raw[:200]:
                found = likely_encoding(raw)
                hint = (f"; the file is not UTF-8 (byte {bad.start} is not) and declares no encoding: it looks like "
                        f"{found[1] if found else 'another encoding'} -- save it from Final Draft again as UTF-8"
                        + (f", or add encoding=\"{found[0]}\" to its <?xml ...?> line" if found else ""))
        raise ScreenplayError([Problem(display, exc.lineno, exc.offset + 1,
                                       f"not well-formed XML: {expat.ErrorString(exc.code)}{hint}")]) from None
    except LookupError as exc:  # <?xml encoding="..."?> names a codec Python does not have
        raise ScreenplayError([Problem(display, 1, 1, f"the XML declaration names an encoding director cannot read "
                                       f"({exc}); save the script from Final Draft again, as UTF-8")]) from None
    return top


def _paragraphs(content: _Node) -> Iterator[tuple[_Node, bool]]:
    """(paragraph, dual) in reading order; dual marks the second speaker inside a ``<DualDialogue>``."""
    for para in content.children:
        pair = para.find("DualDialogue")
        if pair is None:
            yield para, False
            continue
        cues = 0
        for inner in pair.children:
            cues += inner.attrs.get("Type") == "Character"
            yield inner, cues > 1 and inner.attrs.get("Type") == "Character"


def parse(raw: bytes, display: str) -> Script:
    """The elements of a Final Draft script, in order, and its title page."""
    root = _tree(raw, display).children[0]  # expat refuses a document without one
    if root.tag != "FinalDraft":
        raise ScreenplayError([Problem(display, root.line, 1, f"not a Final Draft script: the document holds "
                                       f"<{root.tag}> where <FinalDraft> was expected")])
    elements, warnings = [], []
    for para, dual in _paragraphs(root.find("Content") or _EMPTY):
        kind, text = para.attrs.get("Type", "Action"), para.words()
        if para.tag != "Paragraph" or not text:
            continue
        if kind in _SKIPPED:
            elements.append(Element("comment", f"{kind.lower()}: {text}", para.line))
        elif kind in _KINDS:
            number = clean(para.attrs.get("Number", ""))
            if number and not _SCENE_NUMBER.fullmatch(number):  # it is written into a comment of the screenplay
                warnings.append((para.line, f"the scene number {number[:40]!r} is not a scene number (letters, "
                                            f"digits, '.', '-'); it is left out"))
                number = ""
            elements.append(Element(_KINDS[kind], text, para.line, number, dual))
            summary = (para.find("SceneProperties") or _EMPTY).find("Summary") or _EMPTY
            said = " ".join(w for w in (p.words() for p in summary.children if p.tag == "Paragraph") if w)
            if said:  # the scene's summary (Final Draft's Scene View), kept as Fountain's synopses are
                elements.append(Element("comment", f"synopsis: {said}", para.line))
        else:
            warnings.append((para.line, f"paragraph type {kind!r} is read as action"))
            elements.append(Element("action", text, para.line))
    cover = root.find("TitlePage")
    page = [p.words() for p in ((cover.find("Content") if cover else None) or _EMPTY).children]
    page = [line for line in page if line]
    return Script(page[0] if page else "", elements, page[1:], warnings)
