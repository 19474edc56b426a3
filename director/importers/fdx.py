"""Final Draft (.fdx) -> ``Script``.

An FDX file is XML: ``<FinalDraft><Content>`` holds one ``<Paragraph Type="...">`` per script
element, its words in ``<Text>`` runs (one per change of style), a ``<DualDialogue>`` wrapping
two speeches said at once, and ``<TitlePage>`` the cover. It is read with expat directly, so
each paragraph keeps the line of its start tag, and a DOCTYPE is refused before any entity
could be declared, let alone expanded.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from director.errors import Problem, ScreenplayError
from director.importers.convert import Element, Script, clean, decodes

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


def _tree(raw: bytes, display: str) -> _Node:
    """The document as nodes with line numbers; malformed XML and DOCTYPEs are located errors."""
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
                named = "Windows-1252" if decodes(raw, "cp1252") else "another encoding"
                hint = (f"; the file is not UTF-8 (byte {bad.start} is not) and declares no encoding: it looks like "
                        f"{named} -- save it from Final Draft again as UTF-8, or add encoding=\"windows-1252\" to its "
                        "<?xml ...?> line")
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
