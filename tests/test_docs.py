"""Every YAML example in the README and docs/ validates, so the docs cannot drift from the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from director.screenplay import screenplay_problems
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_yaml_examples_validate(doc, tmp_path):
    found = blocks(doc)
    screenplays = []
    for i, text in enumerate(found):
        first = text.splitlines()[0]
        named = re.match(r"#\s*([\w./-]+\.yaml)", first)
        path = tmp_path / (named.group(1) if named else f"example{i}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if "scenes:" in text:
            screenplays.append(path)
    for path in screenplays:
        _, problems = screenplay_problems(path, tmp_path)
        assert [str(p) for p in problems if p.severity == "error"] == [], f"{doc.name}: {path.name}"
