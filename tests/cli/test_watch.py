"""``director render --watch`` as a user sits in it: save, see the episode follow, make a mistake, fix it, stop."""
from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import director


class Watching:
    """The real command in its own process, its stdout (one JSON result per render) and stderr read as they come."""

    def __init__(self, project, stderr=subprocess.PIPE):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "director", "--json", "-p", str(project), "render", "--watch"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal gives it
        self.results, self.lines, self.err = queue.Queue(), queue.Queue(), []
        streams = [(self.proc.stdout, self.results)] + ([(self.proc.stderr, self.lines)] if self.proc.stderr else [])
        self.readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                        for stream, into in streams]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.put(line)

    def result(self, timeout=120) -> dict:
        return json.loads(self.results.get(timeout=timeout))

    def until(self, text: str, timeout=120) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            self.err.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr:\n{''.join(self.err)}")

    def stop(self) -> str:
        """Ctrl-C; everything it said on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        for reader in self.readers:
            reader.join(timeout=10)
        return "".join(self.err) + "".join(self.lines.get() for _ in range(self.lines.qsize()))

    def quiet_for(self, seconds: float) -> list[str]:
        time.sleep(seconds)
        said = []
        while not self.lines.empty():
            said.append(self.lines.get())
        self.err += said
        return said


def test_watch_renders_again_on_every_save_reports_mistakes_and_stops_on_ctrl_c(small_project):
    sp = small_project / "screenplay.yaml"
    srt = small_project / "out" / "screenplay" / "episode.srt"
    watch = Watching(small_project)
    try:
        first = watch.result()
        assert first["ran"] > 0 and first["failed"] == []
        watch.until("watching")
        # the planner wrote the shot list during that render: its own write starts nothing
        assert not [line for line in watch.quiet_for(1.5) if "changed" in line]

        sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since Friday."))
        watch.until("changed: screenplay.yaml")
        edited = watch.result()
        assert 0 < edited["ran"] < first["ran"] and edited["reused"] > 0  # only what the line touches
        assert "Friday" in srt.read_text() and "Tuesday" not in srt.read_text()

        good = sp.read_text()
        sp.write_text(good + "  - bad: [\n")  # a mistake, mid-edit: where it is, and the watch goes on
        problem = watch.until("screenplay.yaml:")
        assert "YAML syntax error" in problem
        watch.until("1 problem found")
        assert watch.proc.poll() is None

        sp.write_text(good.replace("Only since Friday.", "Only since Monday."))
        fixed = watch.result()
        assert fixed["ran"] > 0 and "Monday" in srt.read_text()

        sp.write_text(sp.read_text() + "# a note to self\n")  # nothing the episode shows
        watch.until("the episode is as it was")
        assert watch.results.empty()
        sp.write_text(sp.read_text() + "# another\n")  # the screenplay: said every time
        watch.until("changed: screenplay.yaml")
        watch.until("the episode is as it was")
        notes = sp.parent / "notes.txt"  # a file no render reads, changing again and again to no effect (another
        notes.write_text("1")  # program's log): said once, then the watch settles at once
        watch.until("notes.txt changed: the episode is as it was")
        notes.write_text("22")
        assert watch.quiet_for(2.0) == [] and watch.results.empty()

        sp.write_text(sp.read_text().replace("Only since Monday.", "Only since Friday."))  # an undo: all from the
        undone = watch.result()  # cache, and still a new episode to look at
        assert undone["ran"] == 0 and "Friday" in srt.read_text()
    finally:
        err = watch.stop()
    assert watch.proc.returncode == 0, err[-6000:].replace("\n", " | ")
    assert "stopped watching" in err and "Traceback" not in err


def test_watch_renders_one_episode_and_something(small_project):
    proc = director("-p", str(small_project), "render", "--watch", "--all")
    assert proc.returncode == 2 and "--watch renders one episode" in proc.stderr
    proc = director("-p", str(small_project), "render", "--watch", "--dry-run")
    assert proc.returncode == 2 and "nothing to --watch" in proc.stderr
    empty = small_project.parent / "empty"
    empty.mkdir()
    proc = director("-p", str(empty), "render", "--watch", timeout=60)  # not a project: nothing to wait for
    assert proc.returncode == 2 and "not a director project" in proc.stderr


def test_watch_started_on_a_mistake_waits_for_its_fix(small_project):
    config = small_project / "director.yaml"
    good = config.read_text()
    config.write_text(good + "workers: many\n")
    watch = Watching(small_project)
    try:
        assert "director.yaml:" in watch.until("workers")
        watch.until("watching")
        config.write_text(good)
        assert watch.result()["ran"] > 0
    finally:
        err = watch.stop()
    assert watch.proc.returncode == 0 and "Traceback" not in err


def test_watch_output_written_into_the_project_starts_nothing(small_project):
    """`director render --watch 2> log.txt` in the project folder: one render per save, then quiet."""
    with open(small_project / "log.txt", "w") as log:
        watch = Watching(small_project, stderr=log)
        try:
            watch.result()
            (small_project / "screenplay.yaml").write_text(
                (small_project / "screenplay.yaml").read_text().replace("Only since Tuesday.", "Only since May."))
            assert watch.result()["ran"] > 0
            time.sleep(1.5)
            assert watch.results.empty()
        finally:
            watch.stop()
    said = (small_project / "log.txt").read_text()
    assert watch.proc.returncode == 0 and "stopped watching" in said
    assert said.count("changed:") == 1 and "log.txt" not in said  # its own lines never counted as a change
