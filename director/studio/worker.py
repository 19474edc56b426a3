"""Renders started from the studio: one at a time per project, in a child ``director render`` process.

The child is the CLI itself (the same code path, its own project lock, resumable if killed), so a
render started here behaves exactly like one started in a terminal. While another process holds
the project lock (a render in a terminal), the worker says who (pid, command) and waits for it.
Progress comes from the child's per-job lines on stderr; every line becomes an event the page
receives over server-sent events.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

JOB_LINE = re.compile(r"^(?P<stage>[a-z]+) \[(?P<n>\d+)/(?P<total>\d+)\] (?P<id>\S+)(?: \((?P<reason>.*?)\))?"
                      r"(?: (?P<what>done|failed).*)?$")


def lock_holder(state_dir: Path) -> dict | None:
    """Who holds the project's render lock now (pid, command), or None."""
    import fcntl

    path = state_dir / "lock"
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            return json.loads(path.read_text() or "{}") or {"pid": None}
        except (OSError, ValueError):
            return {"pid": None}
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RenderWorker:
    def __init__(self, root: Path, state_dir: Path):
        self.root, self.state_dir = root, state_dir
        self.events: list[dict] = []
        self.changed = threading.Condition()
        self.state = "idle"  # idle | waiting | running | done | failed | cancelled
        self.episode: str | None = None
        self.running: dict[str, str] = {}  # "stage shot" -> job id, while it runs
        self.failed: dict[str, str] = {}  # shot or job id -> error line, from the last render
        self.proc: subprocess.Popen | None = None
        self._cancel = False
        self._thread: threading.Thread | None = None

    def emit(self, kind: str, **data) -> None:
        with self.changed:
            self.events.append({"id": len(self.events) + 1, "kind": kind, "time": time.time(), **data})
            self.changed.notify_all()

    def busy(self) -> bool:
        return self.state in ("waiting", "running")

    def start(self, episode: str, shots: list[str] | None = None) -> None:
        if self.busy():
            raise RuntimeError(f"a render of {self.episode} is already {self.state}")
        self.state, self.episode, self._cancel = "waiting", episode, False
        self.failed, self.running = {}, {}
        args = [sys.executable, "-m", "director", "-p", str(self.root), "render", "-e", episode]
        if shots:
            args += ["--shots", ",".join(shots)]
        self._thread = threading.Thread(target=self._run, args=(args,), name="director-studio-render", daemon=True)
        self._thread.start()

    def cancel(self) -> bool:
        self._cancel = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the CLI's own interrupt: finished artifacts are kept
            return True
        return self.state == "waiting"

    def _run(self, args: list[str]) -> None:
        holder = lock_holder(self.state_dir)
        while holder is not None and not self._cancel:  # a render started elsewhere: show it, wait for it
            self.emit("waiting", pid=holder.get("pid"), command=f"director {holder.get('argv') or holder.get('command', '')}")
            time.sleep(1.0)
            holder = lock_holder(self.state_dir)
        if self._cancel:
            self.state = "cancelled"
            self.emit("finished", state=self.state)
            return
        self.state = "running"
        self.emit("started", episode=self.episode, command=" ".join(args[3:]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     cwd=self.root)
        for raw in self.proc.stderr:
            line = raw.rstrip()
            match = JOB_LINE.match(line)
            if match:
                stage, ident = match["stage"], match["id"]
                if match["what"] == "done":
                    self.running.pop(f"{stage} {ident}", None)
                    self.emit("job", stage=stage, id=ident, n=int(match["n"]), total=int(match["total"]), line=line)
                elif match["what"] == "failed":
                    self.failed[ident] = line
                    self.emit("job-failed", stage=stage, id=ident, line=line)
                else:
                    self.running[f"{stage} {ident}"] = ident
                    self.emit("job-started", stage=stage, id=ident, line=line)
            elif line:
                if line.startswith(("error", "failed")) or "failed:" in line:
                    self.failed.setdefault("render", line)
                self.emit("log", line=line)
        code = self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc = None
        self.running = {}
        self.state = "cancelled" if self._cancel else ("done" if code == 0 else "failed")
        self.emit("finished", state=self.state, code=code)
