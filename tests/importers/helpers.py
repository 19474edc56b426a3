"""Shared by the importer tests: import a fixture or a snippet, and hold the result to director's validator."""
from __future__ import annotations

from pathlib import Path

import yaml

from director.importers import ImportResult, import_script
from director.screenplay import load_screenplay

DATA = Path(__file__).resolve().parent / "data"


def imported(name: str) -> ImportResult:
    return import_script(DATA / name)


def import_text(tmp_path: Path, text: str, name: str = "script.fountain") -> ImportResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_script(path)


def assert_valid(result: ImportResult, tmp_path: Path) -> None:
    """The YAML passes `director validate` and reads back as ``screenplay_dict``."""
    path = tmp_path / "screenplay.yaml"
    path.write_text(result.yaml_text, encoding="utf-8")
    loaded = load_screenplay(path)
    # the only warnings: the character descriptions the import left for the writer (one per character)
    todo = [w for w in loaded.warnings if "description is still a TODO" in w.message]
    assert [w for w in loaded.warnings if w not in todo] == []
    assert len(todo) == sum(1 for c in result.screenplay_dict.get("characters", {}).values()
                            if str(c.get("description", "")).startswith("TODO"))
    assert yaml.safe_load(result.yaml_text) == result.screenplay_dict


def beats(result: ImportResult, scene: int | None = None) -> list[dict]:
    scenes = result.screenplay_dict["scenes"]
    return [b for s in (scenes if scene is None else [scenes[scene]]) for b in s["beats"]]


def lines(result: ImportResult, scene: int | None = None) -> list[dict]:
    return [b["line"] for b in beats(result, scene) if "line" in b]


def messages(result: ImportResult) -> str:
    return "\n".join(str(w) for w in result.warnings)
