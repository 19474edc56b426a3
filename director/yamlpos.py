"""Safe YAML loading that remembers where every key and value came from.

PyYAML's SafeLoader composes a node tree (which carries line/column marks); we build
plain Python data from it ourselves so that every value keeps its position and
duplicate keys are reported instead of silently overwritten.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from director.errors import Problem

Loc = tuple  # a path into the document: ("scenes", 0, "beats", 2, "line", "who")


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


class _Builder:
    def __init__(self, positions: Positions, problems: list[Problem]):
        self.loader = yaml.SafeLoader("")
        self.pos = positions
        self.problems = problems

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.pos.values[loc] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, loc + ("<key>",))
                self.pos.values.pop(loc + ("<key>",), None)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(Problem(self.pos.file, *_mark(key_node),
                                                 f"a key must be a plain word, got {key!r}"))
                    continue
                if key in out:
                    first = self.pos.keys[loc + (key,)]
                    self.problems.append(Problem(self.pos.file, *_mark(key_node),
                                                 f"duplicate key {key!r} (first defined at line {first[0]})"))
                    continue
                self.pos.keys[loc + (key,)] = _mark(key_node)
                out[key] = self.build(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Positions, list[Problem]]:
    """Parse ``path`` safely; return (data, positions, problems). Syntax errors become problems."""
    display = display or str(path)
    positions = Positions(display)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, positions, [Problem(display, 1, 1, f"the file is not UTF-8 text ({exc.reason})")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        return None, positions, [Problem(display, line, col, f"YAML syntax error: {what}{context}")]
    except yaml.YAMLError as exc:
        return None, positions, [Problem(display, 1, 1, f"YAML error: {exc}")]
    if node is None:
        return None, positions, [Problem(display, 1, 1, "the file is empty")]
    problems: list[Problem] = []
    try:
        data = _Builder(positions, problems).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, positions, [Problem(display, line, col, f"unsupported YAML value: {exc.problem}")]
    return data, positions, problems
