"""Where the data shipped with director lives: agents/ and templates/ (inside the wheel, or the repo)."""
from __future__ import annotations

from pathlib import Path

from director.errors import UsageError


def data_dir(name: str) -> Path:
    """``agents`` or ``templates``: packaged as director/_data/<name> in the wheel, top-level in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise UsageError(f"director's {name}/ folder is missing from this installation")


def templates() -> list[str]:
    return sorted(p.name for p in data_dir("templates").iterdir() if p.is_dir() and not p.name.startswith("."))
