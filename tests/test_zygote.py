"""The tests' `director` command forked from a warm process (tests/zygote.py) answers as a fresh interpreter does."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import DATA, make_project
from tests.zygote import ZYGOTE, Zygote, _key

needs_zygote = pytest.mark.skipif(os.environ.get("DIRECTOR_TEST_FRESH") == "1",
                                  reason="DIRECTOR_TEST_FRESH=1: every command runs fresh")
FOUNTAIN = "INT. KITCHEN - NIGHT\n\nMIA\nWhere were you?\n\nLEO\n(quietly)\nOut.\n"


def fresh(args, cwd=None, env=None, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "director", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, input=stdin, timeout=120)


def warm(args, cwd=None, env=None, stdin=None, timeout=120) -> subprocess.CompletedProcess:
    """The command forked by the worker's zygote (the first command of an environment runs fresh: asked again)."""
    env = {**os.environ, **(env or {})}
    proc = ZYGOTE.run(list(args), cwd, env, stdin, timeout) or ZYGOTE.run(list(args), cwd, env, stdin, timeout)
    assert proc is not None, "the zygote did not run the command"
    return proc


@needs_zygote
@pytest.mark.parametrize("case", ["broken", "valid-json", "stdin", "missing", "usage", "cwd"])
def test_a_forked_command_answers_as_a_fresh_one(tmp_path, case):
    project = make_project(tmp_path)
    args, cwd, stdin = {
        "broken": (["-p", str(DATA / "broken"), "validate"], None, None),
        "valid-json": (["-p", str(project), "--json", "validate"], None, None),
        "stdin": (["import", "-", "-o", "-"], None, FOUNTAIN),
        "missing": (["-p", str(tmp_path / "nowhere"), "status"], None, None),
        "usage": (["render", "--no-such-flag"], None, None),
        "cwd": (["validate"], project, None),  # the project found from the working directory
    }[case]
    a, b = fresh(args, cwd, stdin=stdin), warm(args, cwd, stdin=stdin)
    assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr)
    assert a.stdout or a.stderr  # each case says something to compare
    assert (a.returncode != 0) == (case in ("broken", "missing", "usage"))


@needs_zygote
def test_the_environment_reaches_the_command_and_startup_variables_start_it_fresh(tmp_path):
    import socket

    import yaml

    project = make_project(tmp_path)
    config = yaml.safe_load((project / "director.yaml").read_text())
    config.setdefault("llm", {}).update(max_retries=0)
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    # variables read at run time reach the forked command: the LLM's key and address, named in the error
    args = ["-p", str(project), "plan", "--planner", "llm"]
    env = {"OPENAI_API_KEY": "sk-zygote", "OPENAI_BASE_URL": url}
    a, b = fresh(args, env=env), warm(args, env=env)
    assert a.returncode == b.returncode == 4 and url in b.stderr and a.stderr == b.stderr
    # one read when the interpreter starts cannot reach a child forked by a zygote started without it: a new
    # start-up environment's first command runs fresh (a zygote of its own comes only for a second)
    assert warm(["--version"]).stdout.startswith("director ")
    other = {**os.environ, "PYTHONWARNINGS": "error", "HOME": str(tmp_path)}
    assert ZYGOTE.run(["--version"], None, other, None, 60) is None


@needs_zygote
def test_a_command_past_its_timeout_is_killed_and_the_zygote_serves_the_next(tmp_path):
    import socket

    project = make_project(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as stopped:  # the studio serves until it is stopped
        warm(["-p", str(project), "studio", "--port", str(port)], timeout=5)
    assert str(port) in (stopped.value.stdout or "") + (stopped.value.stderr or "")  # what it said is kept
    assert time.monotonic() - started < 60
    assert warm(["--version"]).returncode == 0


def test_without_a_zygote_every_command_runs_fresh(monkeypatch):
    monkeypatch.setenv("DIRECTOR_TEST_FRESH", "1")
    assert Zygote().run(["--version"], None, dict(os.environ), None, 60) is None


@needs_zygote
def test_a_second_start_up_environment_takes_the_place_of_the_one_used_least_recently(tmp_path):
    zygotes = Zygote()
    zygotes.MAX = 1
    a, b = dict(os.environ), {**os.environ, "HOME": str(tmp_path)}
    try:
        runs = [zygotes.run(["--version"], None, env, None, 60) for env in (a, a, b, b)]
        assert [r is not None for r in runs] == [False, True, False, True]  # each environment's second command
        assert all(r.stdout.startswith("director ") for r in runs if r)
        assert list(zygotes.procs) == [_key(b)]  # the first environment's zygote made way
    finally:
        zygotes.close()


@needs_zygote
def test_a_command_that_ends_before_its_pid_is_read_is_answered_at_once(monkeypatch):
    """A command that ends before the client reads its pid leaves the pid and the status on the channel together:
    a buffered ``readline`` took both, and the wait for the status then sat out the whole timeout."""
    import tests.zygote as zygote

    real = zygote._read

    def late(proc, timeout):  # the client descheduled for a while after each request
        time.sleep(1.0)
        return real(proc, timeout)

    zygotes = Zygote()
    try:
        assert zygotes.run(["--version"], None, dict(os.environ), None, 60) is None  # the environment's first: fresh
        monkeypatch.setattr(zygote, "_read", late)
        started = time.monotonic()
        done = zygotes.run(["--version"], None, dict(os.environ), None, 20)
        assert done is not None and done.returncode == 0 and done.stdout.startswith("director ")
        assert time.monotonic() - started < 15  # not the 20 s timeout
    finally:
        zygotes.close()
