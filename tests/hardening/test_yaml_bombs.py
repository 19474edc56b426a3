"""Class 2: YAML that expands without bound (aliases), nests without bound or refers to itself."""
from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest

from tests.conftest import make_project
from tests.hardening.helpers import assert_clean_failure

LAUGHS = "\n".join(["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] +
                   [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)])
SIX = "\n".join(["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"] +
                [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)])
MEMORY_LIMIT = 1_500 * 1024 * 1024  # a bomb that is expanded needs many GB


def _bounded_director(*args) -> tuple[subprocess.CompletedProcess, float]:
    """The real CLI with an address-space limit and a time limit: a bomb fails the test, never the machine."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "director", *args], capture_output=True, text=True, timeout=30,
                          preexec_fn=limit)
    return proc, time.perf_counter() - start


@pytest.mark.parametrize("bomb", [LAUGHS, SIX], ids=["billion-laughs", "six-levels"])
@pytest.mark.parametrize("target", ["screenplay", "config", "shots"])
def test_alias_bombs_are_refused_quickly_in_every_file(tmp_path, bomb, target):
    project = make_project(tmp_path)
    if target == "screenplay":
        path = project / "screenplay.yaml"
        path.write_text(path.read_text() + "\n" + "extra:\n" + "\n".join("  " + line for line in bomb.splitlines()))
        args = ["-p", str(project), "validate"]
    elif target == "config":
        path = project / "director.yaml"
        path.write_text(path.read_text() + "\n" + bomb + "\n")
        args = ["-p", str(project), "validate"]
    else:
        from tests.conftest import director
        director("-p", str(project), "plan", check=True)
        path = project / "shots" / "screenplay.yaml"
        path.write_text(path.read_text() + "\n" + bomb + "\n")
        args = ["-p", str(project), "status"]
    proc, seconds = _bounded_director(*args)
    assert_clean_failure(proc)
    assert seconds < 10, seconds
    assert f"{path.name}:" in proc.stderr and ("aliases" in proc.stderr or "expands" in proc.stderr)


@pytest.mark.parametrize("text, words", [
    ("title: &a [*a]\n", "refers to the value that contains it"),
    ("title: x\nscenes: &s\n  - id: one\n    beats: *s\n", "refers to the value that contains it"),
    ("title: " + "[" * 20000 + "]" * 20000 + "\n", "nested"),
    ("title: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested"),
    ("- " * 5000 + "x\n", "nested"),
], ids=["self-alias", "scene-cycle", "flow-20000", "map-3000", "block-5000"])
def test_cycles_and_deep_nesting_are_located_problems(tmp_path, text, words):
    path = tmp_path / "screenplay.yaml"
    path.write_text(text)
    proc, seconds = _bounded_director("validate", str(path))
    assert_clean_failure(proc)
    assert words in proc.stderr and "screenplay.yaml:" in proc.stderr and seconds < 10


def test_a_huge_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "screenplay.yaml"
    path.write_text("title: x\n" + "# padding\n" * 1_000_000)
    proc, _ = _bounded_director("validate", str(path))
    assert_clean_failure(proc)
    assert "MB" in proc.stderr


def test_a_few_honest_anchors_still_work(tmp_path):
    from tests.conftest import director

    project = make_project(tmp_path)
    text = (project / "screenplay.yaml").read_text()
    text = text.replace('bo: {name: Bo, description: "man in a black suit", voice: {preset: male_deep}}',
                        'bo: {name: Bo, description: &suit "man in a black suit", voice: {preset: male_deep}}')
    text = text.replace('description: "small room with a window"', 'description: *suit')
    (project / "screenplay.yaml").write_text(text)
    director("-p", str(project), "validate", check=True)
