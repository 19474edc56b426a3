"""Renders (and plans) started from the studio: one at a time per project, in a child ``director render`` (or
``director plan``) process.

The child is the CLI itself (the same code path, its own project lock, resumable if killed), so a
render started here behaves exactly like one started in a terminal. While another process holds
the project lock (a render in a terminal), the worker says who (pid, command) and waits for it.
Progress comes from the child's per-job lines on stderr; every line becomes an event the page
receives over server-sent events.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from director.store.lock import lock_holder

JOB_LINE = re.compile(r"^(?P<stage>[a-z]+) \[(?P<n>\d+)/(?P<total>\d+)\] (?P<id>\S+).* done in [\d.]+s$")
STARTED = re.compile(r"^(?P<stage>[a-z]+) > (?P<id>\S+) started$")
FAILED = re.compile(r"^failed: (?P<stage>[a-z]+) (?P<id>\S+?): (?P<error>.*)$")
MAX_EVENTS = 2000


class RenderWorker:
    def __init__(self, root: Path, state_dir: Path):
        self.root, self.state_dir = root, state_dir
        self.events: list[dict] = []
        self.last_id = 0
        self.changed = threading.Condition()
        self.state = "idle"  # idle | waiting | running | done | failed | cancelled
        self.episode: str | None = None
        self.task = "render"  # or "plan": the command the child runs
        self.running: dict[str, str] = {}  # "stage shot" -> job id, while it runs
        self.failed: dict[str, str] = {}  # shot or job id -> error line, from the last render
        self.proc: subprocess.Popen | None = None
        self._cancel = False
        self._thread: threading.Thread | None = None

    def emit(self, kind: str, **data) -> None:
        with self.changed:
            self.last_id += 1
            # the event's own fields last: a job's shot goes in ``job`` (a shot id in ``id`` once replaced the
            # event's number, and every reader of the stream failed on comparing it)
            self.events.append({**data, "id": self.last_id, "kind": kind, "time": time.time()})
            del self.events[:-MAX_EVENTS]  # a long session keeps the recent ones
            self.changed.notify_all()

    def since(self, last: int) -> list[dict]:
        with self.changed:
            return [e for e in self.events if e["id"] > last]

    def busy(self) -> bool:
        return self.state in ("waiting", "running")

    def start(self, episode: str, shots: list[str] | None = None, task: str = "render") -> None:
        if task not in ("render", "plan"):
            raise ValueError(f"unknown studio task {task!r}")
        if self.busy():
            raise RuntimeError(f"a {self.task} of {self.episode} is already {self.state}")
        self.state, self.episode, self.task, self._cancel = "waiting", episode, task, False
        self.failed, self.running = {}, {}
        args = [sys.executable, "-m", "director", "-p", str(self.root), task, "-e", episode]
        if shots and task == "render":
            args += ["--shots", ",".join(shots)]
        self._thread = threading.Thread(target=self._run, args=(args,), name="director-studio-render", daemon=True)
        self._thread.start()

    def cancel(self) -> bool:
        """Stop the render (the CLI's own interrupt: what finished is kept); False when none is under way."""
        if not self.busy():
            return False
        self._cancel = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        return True

    def _run(self, args: list[str]) -> None:
        try:
            self._render(args)
        except Exception as exc:  # noqa: BLE001 - the worker must never stay "running" after an error
            self.failed.setdefault("render", f"the studio could not run the {self.task}: {exc}")
            self.state = "failed"
            self.emit("finished", state=self.state, task=self.task, error=str(exc))
        finally:
            self.proc = None
            self.running = {}

    def _render(self, args: list[str]) -> None:
        for _ in range(10):  # the lock was free when looked at, taken (render --watch) before the child got it
            if not self._render_once(args):
                return
            self.failed.pop("render", None)
        self.failed["render"] = "the project stayed locked by other renders; render again once they are done"
        self.state = "failed"
        self.emit("finished", state=self.state, task=self.task)

    def _render_once(self, args: list[str]) -> bool:
        """One child render; True when it found the project locked before doing anything (wait, then try again)."""
        holder = lock_holder(self.state_dir)
        while holder is not None and not self._cancel:  # a render started elsewhere: show it, wait for it
            self.emit("waiting", pid=holder.get("pid"), command=f"director {holder.get('argv') or holder.get('command', '')}")
            time.sleep(1.0)
            holder = lock_holder(self.state_dir)
        if self._cancel:
            self.state = "cancelled"
            self.emit("finished", state=self.state, task=self.task)
            return False
        self.state = "running"
        locked_out = False
        self.emit("started", episode=self.episode, task=self.task, command=" ".join(args[3:]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DIRECTOR_JOB_STARTS": "1"}
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     errors="replace", env=env, cwd=self.root)
        if self._cancel:  # cancelled while it was starting
            self.proc.send_signal(signal.SIGINT)
        for raw in self.proc.stderr:
            line = raw.rstrip()
            if match := STARTED.match(line):
                self.running[f"{match['stage']} {match['id']}"] = match["id"]
                self.emit("job-started", stage=match["stage"], job=match["id"], line=line)
            elif match := JOB_LINE.match(line):
                self.running.pop(f"{match['stage']} {match['id']}", None)
                self.emit("job", stage=match["stage"], job=match["id"], n=int(match["n"]), total=int(match["total"]),
                          line=line)
            elif match := FAILED.match(line):
                self.failed[match["id"]] = match["error"]
                self.running.pop(f"{match['stage']} {match['id']}", None)
                self.emit("job-failed", stage=match["stage"], job=match["id"], line=line)
            elif line:
                if line.startswith("error"):
                    self.failed.setdefault("render", line)
                    locked_out = "is locked by another command" in line
                self.emit("log", line=line)
        code = self.proc.wait()
        self.proc.stderr.close()
        if code != 0 and locked_out and not self._cancel:
            return True
        self.state = "cancelled" if self._cancel else ("done" if code == 0 else "failed")
        self.emit("finished", state=self.state, task=self.task, code=code)
        return False
