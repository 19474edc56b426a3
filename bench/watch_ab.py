"""The editing loop, paired: ``render --watch`` on the 60 s Chinese episode by this code and by an older commit.

`python -m bench watch_ab [--against COMMIT] [--rounds N]` (default: the code before the last commit that changed
``director/``, 4 rounds). The older code is checked out in a git worktree (removed afterwards) and put first on
``PYTHONPATH`` (the watching process runs outside the repository, so that its own folder does not come first).
Each round runs one watching session per code, in alternating order (the machine's speed drifts between minutes
more than a change moves it): the episode rendered fresh by that code, then four one-line edits and four seed
changes, each timed from the file's save to the watching process's result line, and by the CPU the watching
process and its ffmpeg runs spent on it (less moved by the machine's drift than the wall). The medians over all
rounds are the figures (``bench/results/watch_ab.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from bench.common import ROOT, WORK, save, table
from bench.episodes import write_episode

LINES = ["再给我一天时间。", "再给我一天时间，求你了。", "再给我一天时间，拜托。", "再给我一天时间，好吗。", "再给我一天时间吧。"]
CHANGES = len(LINES) - 1  # edits (and seed changes) a session makes


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def _worktree(commit: str) -> Path:
    path = WORK / f"ab-{commit[:12]}"
    shutil.rmtree(path, ignore_errors=True)
    _git("worktree", "add", "--detach", "-f", str(path), commit)
    return path


def _cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has waited for (the render's ffmpeg runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def session(code: Path, project: Path) -> dict[str, list[float]]:
    """One watching process of ``code`` on a fresh copy of ``project``: each edit's and seed change's seconds from
    the save to the result, and the CPU seconds the watching process and its ffmpeg runs spent on it."""
    work = WORK / f"ab-session-{code.name}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(project, work)
    env = dict(os.environ, PYTHONPATH=str(code))
    subprocess.run([sys.executable, "-m", "director", "-q", "-p", str(work), "render"], check=True, cwd=WORK,
                   env=env, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([sys.executable, "-m", "director", "-q", "--json", "-p", str(work), "render", "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=WORK, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(time.perf_counter()) for _ in proc.stdout], daemon=True).start()
    out: dict[str, list[float]] = {"edit": [], "seed": [], "edit_cpu": [], "seed_cpu": []}

    def timed(kind: str, path: Path, text: str) -> None:
        while not lines.empty():  # a result of a render not asked for here (the watch renders again when a file
            lines.get()  # changes as a render reads it) is not this change's
        cpu, started = _cpu(proc.pid), time.perf_counter()
        path.write_text(text, encoding="utf-8")
        while (done := lines.get(timeout=120)) < started:
            pass
        out[kind].append(done - started)
        out[f"{kind}_cpu"].append(_cpu(proc.pid) - cpu)

    try:
        lines.get(timeout=300)  # its first render: everything reused
        screenplay, shots = work / "screenplay.yaml", work / "shots" / "screenplay.yaml"
        for i in range(CHANGES):
            time.sleep(0.5)  # the watch is waiting
            timed("edit", screenplay, screenplay.read_text(encoding="utf-8").replace(LINES[i], LINES[i + 1], 1))
            time.sleep(0.5)
            data = yaml.safe_load(shots.read_text(encoding="utf-8"))
            data["shots"][len(data["shots"]) // 2]["seed"] += 1000 + i  # a seed never drawn
            timed("seed", shots, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench watch_ab")
    parser.add_argument("--against", help="the older commit (default: the code before the last commit that changed "
                        "director/)")
    parser.add_argument("--rounds", type=int, default=4)
    args, _ = parser.parse_known_args([a for a in (argv or []) if a != "watch_ab"])
    against = args.against or _git("log", "-2", "--format=%H", "HEAD", "--", "director").splitlines()[-1]
    commit = _git("rev-parse", "--verify", f"{against}^{{commit}}")
    rounds = args.rounds
    WORK.mkdir(parents=True, exist_ok=True)
    project = write_episode(WORK / "ab-zh60", lines=22, language="zh-CN")
    for sub in (".director", "out", "shots"):
        shutil.rmtree(project / sub, ignore_errors=True)
    codes = {"old": _worktree(commit), "new": ROOT}
    kinds = ("edit", "seed", "edit_cpu", "seed_cpu")
    samples: dict[str, dict[str, list[float]]] = {k: {kind: [] for kind in kinds} for k in codes}
    try:
        for r in range(rounds):
            for which in (("old", "new") if r % 2 == 0 else ("new", "old")):
                got = session(codes[which], project)
                for kind in kinds:
                    samples[which][kind] += got[kind]
                print(which, {kind: [round(v, 3) for v in got[kind]] for kind in kinds}, flush=True)
    finally:
        _git("worktree", "remove", "--force", str(codes["old"]))
    medians = {k: {kind: round(statistics.median(v), 3) for kind, v in s.items()} for k, s in samples.items()}
    result = {"against": commit, "rounds": rounds, "medians": medians,
              "new_over_old": {kind: round(medians["new"][kind] / medians["old"][kind], 3) for kind in kinds},
              "samples": {k: {kind: [round(x, 3) for x in v] for kind, v in s.items()} for k, s in samples.items()}}
    print(json.dumps({k: result[k] for k in ("against", "medians", "new_over_old")}))
    save("watch_ab", result, table(["render --watch, 60 s zh (median)", f"old ({commit[:7]})", "new", "new / old"],
                                   [[kind.replace("_cpu", " CPU-s"),
                                     medians["old"][kind], medians["new"][kind], result["new_over_old"][kind]]
                                    for kind in kinds]))


if __name__ == "__main__":
    main(sys.argv[1:])
