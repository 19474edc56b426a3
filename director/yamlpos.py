"""Safe YAML loading that remembers where every key and value came from.

PyYAML's SafeLoader composes a node tree (which carries line/column marks); we build
plain Python data from it ourselves so that every value keeps its position and
duplicate keys are reported instead of silently overwritten.

Every file director reads is hostile until proven otherwise, so loading is bounded before
anything is built: the file's size, then (from the parser's events, before composing) the
nesting depth and the number of values the document would expand to once aliases are
followed (a 600-byte "billion laughs" chain expands to billions). Aliases that point into
themselves are refused. libyaml (PyYAML's C parser) is used where present: ~4x faster. Scalars that cannot be built
(an integer of 5,000 digits, the date 2024-13-45) become located problems, and dates and
sexagesimal numbers (``16:9`` is 969 in YAML 1.1) stay the text the writer typed.
"""
from __future__ import annotations

import codecs
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from director.errors import Problem
from director.paths import not_regular

Loc = tuple  # a path into the document: ("scenes", 0, "beats", 2, "line", "who")

MAX_BYTES = 4 * 1024 * 1024       # a 3-minute screenplay is ~20 KB; a 300-shot list ~200 KB
MAX_DEPTH = 64                    # screenplays nest 6 deep
MAX_NODES = 200_000               # nodes after following aliases: ~25x the largest real file
MAX_ALIASES = 1_000               # anchors are a convenience for a few shared settings, not a compressor
MAX_SCALAR_CHARS = 100_000
_TEXT_TAGS = ("tag:yaml.org,2002:timestamp",)


@dataclass
class Positions:
    """Line/column (1-based) of each value and each mapping key in one file."""

    file: str
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def at(self, loc: Loc, key: bool = False) -> tuple[int, int]:
        """Best known position for ``loc``: the exact node, else its nearest parent."""
        table = self.keys if key else self.values
        loc = tuple(loc)
        while loc:
            if loc in table:
                return table[loc]
            if loc in self.values:
                return self.values[loc]
            loc = loc[:-1]
        return self.values.get((), (1, 1))

    def problem(self, loc: Loc, message: str, key: bool = False, severity: str = "error") -> Problem:
        line, col = self.at(loc, key)
        return Problem(self.file, line, col, message, severity)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Refused(Exception):
    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message

    @property
    def where(self) -> tuple[int, int]:
        return (self.mark.line + 1, self.mark.column + 1) if self.mark is not None else (1, 1)


_LOADER = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


def scan(text: str, loader=_LOADER) -> None:
    """Refuse alias cycles, deep nesting and documents that expand beyond MAX_NODES, from parser events.

    Nothing is built: the parser's events are counted, each anchor remembering how many values
    it expands to, so an alias adds its anchor's size (a billion-laughs chain is counted, never
    expanded). The event parser keeps its own stack, so 20,000 levels of nesting cannot exhaust
    Python's (or C's), and the composer that runs afterwards only ever sees depth <= MAX_DEPTH.
    """
    stack: list[list] = []  # [values so far, anchor] of each open collection
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    total = aliases = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(event.start_mark, f"values are nested more than {MAX_DEPTH} levels deep")
            stack.append([1, event.anchor])
            if event.anchor:
                open_anchors.add(event.anchor)
            size = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = stack.pop()
            if anchor:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            if stack:
                stack[-1][0] += size
            continue
        elif isinstance(event, yaml.ScalarEvent):
            if len(event.value) > MAX_SCALAR_CHARS:
                raise _Refused(event.start_mark, f"a value is {len(event.value):,} characters long (at most "
                                                 f"{MAX_SCALAR_CHARS:,})")
            size = 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if event.anchor in open_anchors:
                raise _Refused(event.start_mark, f"the alias *{event.anchor} refers to the value that contains it "
                                                 "(a cycle); YAML anchors must not refer to themselves")
            if aliases > MAX_ALIASES:
                raise _Refused(event.start_mark, f"more than {MAX_ALIASES} aliases (*name); write the values out")
            size = sizes.get(event.anchor, 1)
        else:
            continue
        total += size
        if stack and not isinstance(event, yaml.CollectionStartEvent):
            stack[-1][0] += size
        if total > MAX_NODES:
            why = " (aliases multiply it)" if aliases else ""
            raise _Refused(event.start_mark, f"the document holds more than {MAX_NODES:,} values{why}; "
                                             "director's files are far smaller — split it or write aliases out")


_CUT = re.compile(r"[ \t]+#(?=[^\s#])")  # ' #4': a comment as YAML reads it, text as the writer meant it


class _Builder:
    def __init__(self, positions: Positions, problems: list[Problem], text: str = ""):
        self.loader = yaml.SafeLoader("")
        self.pos = positions
        self.problems = problems
        self.text = text  # what was parsed (libyaml's marks hold an index into it, not the text)
        self.own: dict[int, set[int]] = {}  # a mapping node's keys written in it, not merged (by id)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.pos.values[loc] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            # a key written here overrides one a merge (<<: *anchor) brought in, as YAML means it (`{<<: *nora,
            # name: Nora Two}` was a duplicate key); two written here are the writer's mistake
            # (noted before the first flatten, which changes the node in place: an alias builds it again)
            own = self.own.setdefault(id(node), {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"})
            self.loader.flatten_mapping(node)  # the merged pairs first, then these: the last one stands
            out: dict = {}
            written: set = set()
            for key_node, value_node in node.value:
                key = self.build(key_node, loc + ("<key>",))
                self.pos.values.pop(loc + ("<key>",), None)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(Problem(self.pos.file, *_mark(key_node),
                                                 f"a key must be a plain word, got {_short(key)}"))
                    continue
                if key in written and id(key_node) in own:
                    first = self.pos.keys[loc + (key,)]
                    self.problems.append(Problem(self.pos.file, *_mark(key_node),
                                                 f"duplicate key {_short(key)} (first defined at line {first[0]})"))
                    continue
                if id(key_node) in own:
                    written.add(key)
                self.pos.keys[loc + (key,)] = _mark(key_node)
                out[key] = self.build(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def _cut_by_comment(self, node: yaml.ScalarNode) -> None:
        """Warn where unquoted text is followed on its line by '#' and no space (``room #4, clipboard in hand``):
        YAML drops the rest of the line as a comment, and the text said only "room". A comment written as comments
        are (``# note``) is left alone."""
        mark = node.end_mark
        if node.style not in (None, "") or not node.value or "#" not in self.text:  # libyaml: "" for plain
            return
        end = self.text.find("\n", mark.index)
        rest = self.text[mark.index:end if end >= 0 else len(self.text)]
        if _CUT.match(rest):
            self.problems.append(Problem(self.pos.file, mark.line + 1, mark.column + 2,
                                         f"the text stops at '#': YAML reads {rest.strip()[:40]!r} as a comment, so "
                                         f"it says only {node.value[:40]!r}; if '#' belongs to the text, write it in "
                                         "double quotes \"...\"", "warning"))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        self._cut_by_comment(node)
        if node.tag in _TEXT_TAGS or (node.tag == "tag:yaml.org,2002:int" and ":" in node.value) or \
                (node.tag == "tag:yaml.org,2002:float" and ":" in node.value):
            return node.value  # a date or 16:9 is what the writer typed, never a datetime or 969
        try:
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 63:
                raise ValueError("the number is larger than any setting takes")
            return value
        except (ValueError, OverflowError, IndexError, KeyError, TypeError) as exc:  # `!!float ''`, `!!bool maybe`
            reason = (str(exc).split("\n")[0][:120] or type(exc).__name__) if not isinstance(exc, (IndexError, KeyError)) \
                else f"not a valid {node.tag.rsplit(':', 1)[-1]}"
            self.problems.append(Problem(self.pos.file, *_mark(node),
                                         f"the value {_short(node.value)} cannot be read ({reason}); "
                                         "quote it to keep it as text"))
            return node.value


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…'"


def _decode(raw: bytes, display: str) -> tuple[str | None, Problem | None]:
    """UTF-8 (with or without BOM); other encodings get a hint saying how to convert."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None, Problem(display, 1, 1, "the file is UTF-16 text; save it as UTF-8 (in most editors: "
                                            "Save As → Encoding: UTF-8)")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "save it as UTF-8"
        for enc, name in (("gb18030", "GBK/GB18030 (Simplified Chinese)"), ("big5", "Big5 (Traditional Chinese)"),
                          ("shift_jis", "Shift-JIS (Japanese)"), ("cp1252", "Windows-1252")):
            try:
                raw.decode(enc)
            except UnicodeDecodeError:
                continue
            hint = (f"it looks like {name}; convert it with: iconv -f {enc.upper()} -t UTF-8 {Path(display).name} "
                    f"> fixed.yaml (or Save As → Encoding: UTF-8)")
            break
        return None, Problem(display, line, col, f"the file is not UTF-8 text ({exc.reason}); {hint}")


def _syntax_problems(text: str, display: str, exc: yaml.YAMLError) -> list[Problem]:
    """Every input-method slip the text holds (each fixed, the text read again: they took one run of validate
    each, six for a writer's file), then the syntax error after them, if any."""
    said: list[Problem] = []
    until = time.monotonic() + 1.5  # each try parses again: many slips in a long file stop early
    for _ in range(10):
        found = _syntax_problem(text, display, exc, until)
        fixed = found[1] if isinstance(found, tuple) else None
        said += found[0] if isinstance(found, tuple) else [found]
        if fixed is None or time.monotonic() > until:
            break
        try:
            for _ in yaml.parse(fixed, Loader=_LOADER):
                pass
            break
        except yaml.YAMLError as again:
            text, exc = fixed, again
        except RecursionError:
            break
    return said


def _syntax_problem(text: str, display: str, exc: yaml.YAMLError,
                    until: float) -> Problem | tuple[list[Problem], str]:
    """The located syntax error, worded by PyYAML's Python parser (clearer than libyaml's) when affordable; or
    the input-method slips that caused it and the text with them fixed (tried until the clock reads ``until``)."""
    if isinstance(exc, yaml.MarkedYAMLError) and "nesting depth" in str(exc.problem):
        # libyaml (PyYAML 6.0.4's) refuses deep flow nesting while scanning ahead, before the events that
        # ``scan`` counts: said as ``scan`` says it, never handed to the Python parser, which took 30-80 s over
        # 20,000 levels of [[[ (quadratic in its simple-key bookkeeping)
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Problem(display, line, col, f"values are nested more than {MAX_DEPTH} levels deep")
    if _LOADER is not yaml.SafeLoader and len(text) <= 256 * 1024:
        try:
            for _ in yaml.parse(text, Loader=yaml.SafeLoader):
                pass
        except yaml.YAMLError as python_exc:
            exc = python_exc
        except RecursionError:
            pass
    if isinstance(exc, yaml.MarkedYAMLError) and "quoted scalar" in str(exc.context) and exc.context_mark and \
            any(words in str(exc.problem) for words in ("end of stream", "document separator")):
        # where the quote opens, not where YAML gave up reading the text it started (often the file's end)
        mark = exc.context_mark
        return Problem(display, mark.line + 1, mark.column + 1, "a quote opens here and is not closed on this line "
                       "(YAML read on to where the text could end); close it, or write a \" inside one as \\\"")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        wide = _full_width(text, line, display, until)
        if wide is not None:
            return wide
        what = exc.problem or "invalid YAML"
        if "'\\t'" in what:  # PyYAML's words for a tab, which an editor shows as spaces
            return Problem(display, line, col, "a tab; YAML indents with spaces only (replace the tab with spaces: "
                                               "most editors can convert indentation to spaces)")
        context = f" ({exc.context})" if exc.context else ""
        return Problem(display, line, col, f"YAML syntax error: {what}{context}{_syntax_hint(what)}")
    found = yaml.reader.Reader.NON_PRINTABLE.search(text) if isinstance(exc, yaml.reader.ReaderError) else None
    if found is not None:  # a character YAML refuses (libyaml's position counts bytes, not characters)
        before = text[:found.start()]
        line, col = before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1
        code = ord(found.group()[0])
        return Problem(display, line, col, f"the character U+{code:04X} is not allowed in a YAML file; remove it (a "
                                           "copy out of a PDF or a word processor often carries one)")
    return Problem(display, 1, 1, f"YAML error: {str(exc)[:200]}")


def _syntax_hint(what: str) -> str:
    """What usually causes PyYAML's words, as a writer fixes it."""
    if "unknown escape character" in what:
        return ": a backslash inside double quotes starts an escape; write it twice (\\\\) or use single quotes"
    if "expected <block end>" in what or "block sequence" in what or "block mapping" in what:
        return ": usually a line indented more or less than the lines it belongs with"
    if "expected ',' or '}'" in what or "expected ',' or ']'" in what:
        return ": usually a quote or a bracket opened on this line or one before it and not closed"
    if "mapping values are not allowed" in what:
        return (": usually text holding ': ' (a colon and a space) that is not in quotes -- write the text in double "
                "quotes \"...\" -- or a key indented more or less than the keys beside it on the line before")
    return ""


_WIDE_COLON = re.compile(r"^([ \u3000]*(?:- )?)[\w-]+\s*(：)")  # title：… typed with a Chinese input method
_WIDE_SPACE = re.compile(r"^[ ]*(\u3000)|:(\u3000)")  # a full-width space indenting, or after a colon
_WIDE_COMMA = re.compile(r"[{\[].*?(，)(?=\s*[\w-]+\s*[:：])")  # {who: gu， text: …}: the fields' comma full-width
_TIGHT_COLON = re.compile(r"^[ ]*(?:- )?[\w-]+(:)(?=[^\s:])")  # time:晚上 -- no space after the key's colon


def _full_width(text: str, until: int, display: str, deadline: float = float("inf")
                ) -> tuple[list[Problem], str] | None:
    """The full-width colons after a key, full-width spaces and commas where YAML needs half-width ones, and keys'
    colons with no space after them, at or before the line the parser stopped on (it stops a line or more later):
    the writer's input method typed them, and YAML's own words ("mapping values are not allowed here") do not say
    so. Returns each one needed for the text to parse past that line, and the text with them fixed. Each try is
    a parse by PyYAML's Python parser: a file past 256 KB (no screenplay is) is not tried."""
    if len(text) > 256 * 1024:
        return None
    lines = text.splitlines()
    tries = 0
    # a writer's input method types the same thing again on the lines after (time:晚上 then location:大厅): each fix is
    # kept for the next try, and of the fixes that together parse, each one needed is named
    fixes, found, stops = list(lines), {}, until  # stops: where the text with the fixes kept fails
    for n, line in enumerate(lines[:until], start=1):
        # each try parses the file again: a syntax error in a long file is not re-parsed 1,000 times, nor for long
        if tries >= 20 or (tries and time.monotonic() > deadline):
            break
        if m := _WIDE_COLON.match(line):
            at, fixed = m.start(2), line[:m.start(2)] + ": " + line[m.end(2):].lstrip(" ")
            message = ("a full-width colon '：' after a key; YAML needs ':' followed by a space (switch the input "
                       "method to half-width, or retype it)")
        elif m := _WIDE_SPACE.search(line):
            at = m.start(1) if m.group(1) else m.start(2)
            if m.group(1):  # the whole indentation, each full-width space two columns wide (an editor typed 　　　)
                indent = len(line) - len(line.lstrip(" \u3000"))
                fixed = line[:indent].replace("\u3000", "  ") + line[indent:]
            else:
                fixed = line[:at] + " " + line[at + 1:]
            message = ("a full-width space (U+3000); YAML indents and separates with ordinary spaces (retype it "
                       "with the input method in half-width mode)")
        elif m := _WIDE_COMMA.search(line):
            at, fixed = m.start(1), line
            while wide := _WIDE_COMMA.search(fixed):  # every field's comma: {who: gu， text: 你好， emotion: 开心}
                fixed = fixed[:wide.start(1)] + ", " + fixed[wide.end(1):]
            message = ("a full-width comma '，' between the fields of {...}; YAML needs ',' there (switch the input "
                       "method to half-width, or retype it)")
        elif m := _TIGHT_COLON.match(line):
            at, fixed = m.start(1), line[:m.end(1)] + " " + line[m.end(1):]
            key = line[:m.end(1)].strip().removeprefix("- ")
            message = (f"no space after the colon of '{key}'; YAML needs a space after ':' "
                       f"('{key} {line[m.end(1):].strip()}')")
        else:
            continue
        tries += 1
        trial = fixes[:n - 1] + [fixed] + fixes[n:]
        fails = _fails_at(trial)
        if fails is None or fails > until:  # it was the trouble (not text in a value)
            fixes[n - 1], found[n] = fixed, Problem(display, n, at + 1, message)
            for k in sorted(found)[:-1]:  # an earlier fix the text parses without was text in a value
                if _parses_past(fixes[:k - 1] + [lines[k - 1]] + fixes[k:], until):
                    fixes[k - 1] = lines[k - 1]
                    del found[k]
            return [found[k] for k in sorted(found)], "\n".join(fixes)
        alone = lines[:n - 1] + [fixed] + lines[n:]
        if fixes != lines and _parses_past(alone, until):  # alone, without the ones kept (one of them was text in a
            return [Problem(display, n, at + 1, message)], "\n".join(alone)  # value after all)
        if fails >= stops:  # kept for the next try: it broke nothing before where the text failed (a "fix" inside
            fixes[n - 1], found[n], stops = fixed, Problem(display, n, at + 1, message), fails  # a value does)
    return None


def _fails_at(lines: list[str]) -> int | None:
    """The line where the text fails to parse (1-based), or None where it parses."""
    try:
        for _ in yaml.parse("\n".join(lines), Loader=yaml.SafeLoader):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return mark.line + 1 if mark is not None else 0
    except (yaml.YAMLError, RecursionError):
        return 0
    return None


def _parses_past(lines: list[str], until: int) -> bool:
    """Whether the text parses, or fails only after line ``until`` (where the first error was found)."""
    fails = _fails_at(lines)
    return fails is None or fails > until


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Positions, list[Problem]]:
    """Parse ``path`` safely; return (data, positions, problems). Syntax errors become problems."""
    display = display or str(path)
    positions = Positions(display)
    try:
        info = path.stat()
        size = info.st_size
        if kind := not_regular(info.st_mode):
            return None, positions, [Problem(display, 1, 1, f"the path {kind}")]
        if size > MAX_BYTES:
            return None, positions, [Problem(display, 1, 1, f"the file is {size / 1e6:.1f} MB; director reads "
                                                            f"files of at most {MAX_BYTES // (1024 * 1024)} MB")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, positions, [Problem(display, 1, 1, f"cannot read the file: {exc.strerror or exc}")]
    text, problem = _decode(raw, display)
    if problem is not None:
        return None, positions, [problem]
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        return None, positions, [Problem(display, line, 1, "the file contains a NUL byte; it is not a text file")]
    try:
        scan(text)  # bounded before anything is built
        node = yaml.compose(text, Loader=_LOADER)
    except _Refused as exc:
        return None, positions, [Problem(display, *exc.where, exc.message)]
    except yaml.YAMLError as exc:
        return None, positions, _syntax_problems(text, display, exc)
    except RecursionError:
        return None, positions, [Problem(display, 1, 1, f"values are nested more than {MAX_DEPTH} levels deep")]
    if node is None:
        return None, positions, [Problem(display, 1, 1, "the file is empty")]
    problems: list[Problem] = []
    try:
        data = _Builder(positions, problems, text).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, positions, [Problem(display, line, col, f"unsupported YAML value: {exc.problem}")]
    return data, positions, problems
