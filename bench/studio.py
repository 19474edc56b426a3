"""The studio's start-up and its board on a 60-shot episode.

start-up: `director studio` started as a user starts it (a new process), timed from the spawn until its
first page (the demo's board, rendered) has answered -- median of 3. Board: a rendered 60-shot episode (20
scenes of an action and two lines, preview at 108x192), the board's JSON and its page through the app in
process, server time per request (median of 7, after one warm-up). Writes bench/results/studio.json.
"""
from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from bench.common import ROOT, save


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _project(root: Path, scenes: int | None) -> Path:
    project = root / ("demo" if scenes is None else "long")
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns("out", ".director", "shots"))
    config = yaml.safe_load((project / "director.yaml").read_text()) or {}
    (project / "director.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    sp = yaml.safe_load((project / "screenplay.yaml").read_text())
    sp["format"] = {**sp.get("format", {}), "width": 108, "height": 192}
    if scenes is not None:
        who = list(sp["characters"])
        sp["scenes"] = [{"id": f"s{i:02d}", "location": list(sp["locations"])[i % len(sp["locations"])],
                         "time": "night", "beats": [
                             {"action": f"{who[0].title()} looks at {who[1].title()}, beat {i}."},
                             {"line": {"who": who[i % 2], "text": f"Line {i} one."}},
                             {"line": {"who": who[(i + 1) % 2], "text": f"Line {i} two."}}]} for i in range(scenes)]
    (project / "screenplay.yaml").write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
    subprocess.run([sys.executable, "-m", "director", "-p", str(project), "render"], check=True,
                   capture_output=True)
    return project


def startup(project: Path) -> float:
    port = _port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "studio", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    answer.read()
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if time.perf_counter() - started > 30:
                    raise
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def board_times(project: Path) -> dict:
    from fastapi.testclient import TestClient

    from director.project import Project
    from director.studio.app import create_app

    app = create_app(Project.find(project))
    episode = Project.find(project).load_episode(None).episode
    out = {}
    with TestClient(app) as client:
        shots = len(client.get(f"/api/e/{episode}/board").json()["shots"])
        for name, url in (("json", f"/api/e/{episode}/board"), ("page", f"/e/{episode}")):
            times = []
            for _ in range(7):
                t = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append(time.perf_counter() - t)
            out[name] = round(statistics.median(times) * 1000, 1)
    return {"shots": shots, **out}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo = _project(Path(tmp), None)
        start = [startup(demo) for _ in range(3)]
        long = _project(Path(tmp), 20)
        board = board_times(long)
    row = {"startup_s": round(statistics.median(start), 3), "startup_all": [round(s, 3) for s in start],
           "board_shots": board["shots"], "board_json_ms": board["json"], "board_page_ms": board["page"]}
    text = (f"studio start-up to first page (demo board): {row['startup_s']:.2f} s (median of 3; target < 1 s)\n"
            f"board of a {row['board_shots']}-shot episode: JSON {row['board_json_ms']:.0f} ms, page "
            f"{row['board_page_ms']:.0f} ms server time (median of 7; target < 300 ms)")
    save("studio", row, text)


if __name__ == "__main__":
    main()
