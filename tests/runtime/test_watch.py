"""``render --watch``'s eyes: what counts as a change, when it is taken, and what it never reacts to."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from director.runtime.watch import SETTLE_AT_MOST, look, wait_for_change


@pytest.fixture
def project(tmp_path):
    (tmp_path / "screenplay.yaml").write_text("title: a\n")
    (tmp_path / "director.yaml").write_text("profile: preview\n")
    for folder in (".director", "out", "refs"):
        (tmp_path / folder).mkdir()
    return tmp_path


class Steps:
    """A ``sleep`` that does the next thing of a script on each call (what a user does meanwhile)."""

    def __init__(self, *actions):
        self.actions, self.calls = list(actions), []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.actions:
            self.actions.pop(0)()
        elif len(self.calls) > 100:
            raise AssertionError("the watch never returned")


def test_a_save_is_taken_once_it_has_settled_and_state_and_outputs_are_not_changes(project):
    baseline = look(project)
    sp = project / "screenplay.yaml"
    steps = Steps(lambda: (project / ".director" / "state.json").write_text("{}"),  # a render's own state
                  lambda: (project / "out" / "episode.mp4").write_bytes(b"x"),  # and outputs: nothing
                  lambda: sp.write_text("title:"),  # an editor's save: a first write...
                  lambda: sp.write_text("title: b, the whole of it\n"),  # ...then the rest (each write its own
                  # size: a file system's clock may not tell two writes a millisecond apart)
                  lambda: None)
    now, changed = wait_for_change(project, baseline, poll=0.2, settle=0.1, sleep=steps)
    assert changed == ["screenplay.yaml"]
    assert now == look(project)  # the whole save, not its first write
    # looks: 3 polls saw nothing, the 3rd's action was the first write; then a settle look saw the second write,
    # and one more agreed
    assert steps.calls == [0.2, 0.2, 0.2, 0.1, 0.1]


def test_a_new_reference_and_a_removed_one_are_changes(project):
    (project / "refs" / "ana.png").write_bytes(b"old")
    baseline = look(project)
    (project / "refs" / "ana.png").unlink()
    (project / "refs" / "bo.png").write_bytes(b"new")
    _, changed = wait_for_change(project, baseline, sleep=Steps())
    assert changed == ["refs/ana.png", "refs/bo.png"]


def test_a_file_that_never_stops_changing_is_taken_after_a_while(project):
    baseline = look(project)
    count = iter(range(10_000))
    log = project / "notes.txt"

    def write(_seconds):
        log.write_text("x" * (next(count) + 1))  # each write its own size (a coarse clock tells none apart)

    _, changed = wait_for_change(project, baseline, settle=0.1, sleep=write)
    assert changed == ["notes.txt"]
    # the write a poll found, then 20 settle looks that never agreed: taken as it stood
    assert len(log.read_text()) - 1 == round(SETTLE_AT_MOST / 0.1)


def test_the_watch_never_sees_its_own_output_written_into_the_project(project):
    # `director render --watch 2> log.txt` inside the project: every line it writes would otherwise be a change
    code = ("import json, sys; from pathlib import Path; from director.runtime.watch import look; "
            "print('x', file=sys.stderr, flush=True); print(json.dumps(sorted(look(Path(sys.argv[1])))))")
    with open(project / "render.log", "w") as err:
        out = subprocess.run([sys.executable, "-c", code, str(project)], stdout=subprocess.PIPE, stderr=err,
                             text=True, check=True).stdout
    assert (project / "render.log").read_text() == "x\n"
    assert json.loads(out) == ["director.yaml", "screenplay.yaml"]
    assert "render.log" in look(project)  # anyone else's file is watched


def test_a_folder_slow_to_look_at_is_looked_at_less_often(project, monkeypatch):
    import director.runtime.watch as watch

    clock = iter(range(0, 10_000, 1))  # every look takes a second
    monkeypatch.setattr(watch.time, "perf_counter", lambda: next(clock))
    steps = Steps(lambda: None, lambda: (project / "screenplay.yaml").write_text("title: changed\n"))
    wait_for_change(project, look(project), poll=0.1, settle=0.05, sleep=steps)
    assert steps.calls[:2] == [4.0, 4.0]  # 20% of a core at most
