"""Names that become file names: ids of episodes, scenes, shots, characters and locations.

An id may use letters and digits of any script (汉字, かな, Ä, ...), ``-`` and ``_``; it starts
with a letter or digit and is at most ``MAX_ID`` characters. So it can never hold a path
separator, ``..``, a control character or a leading dot, nor be a name Windows keeps for a device
(``con``, ``nul``...), and every id is safe as one path component on Linux, macOS and Windows.
"""
from __future__ import annotations

import re

MAX_ID = 64
_ID_RE = re.compile(r"[^\W_][\w-]*")
ALLOWED = "letters or digits (any script), '-' and '_', starting with a letter or digit"


def id_problem(value: object) -> str | None:
    """Why ``value`` cannot be an id (a phrase for a message), or None when it can."""
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if not value:
        return "is empty"
    if len(value) > MAX_ID:
        return f"is {len(value)} characters long (at most {MAX_ID})"
    if not _ID_RE.fullmatch(value):
        bad = next((c for c in value if not (c.isalnum() or c in "-_")), None)
        if bad is not None:
            return f"contains {_describe(bad)}; use only {ALLOWED}"
        return f"must start with a letter or digit; use only {ALLOWED}"
    if value.lower() in WINDOWS_DEVICES:  # out/<episode>/panels/con.jpg, media/dialogue/con/: no file on Windows,
        return (f"is a name Windows keeps for a device (CON, PRN, AUX, NUL, COM1-9, LPT1-9), which no file or "
                f"folder there may have; use another, e.g. '{value}-1'")  # (where Jianying drafts are opened)
    return None


WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                             *(f"lpt{i}" for i in range(1, 10))})


def is_id(value: object) -> bool:
    return id_problem(value) is None


def _describe(char: str) -> str:
    if char in "/\\":
        return f"a path separator {char!r}"
    if char == ".":
        return "'.'"
    if ord(char) < 32 or ord(char) == 127:
        return f"a control character (U+{ord(char):04X})"
    if char.isspace():
        return "a space"
    return f"{char!r}"
