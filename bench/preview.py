"""Preview speed (issue 20): real-time factor, edit / full ratios and peak memory, the new path paired with the old.

"old" is the path before issue 20 where it still exists, set by configuration in the same code: the animatic
drawn frame by frame in Pillow (`backends.video.engine: pillow`) and the episode encoded in one pass with
veryfast / CRF 20 (`encode: {join: single, preset: veryfast, crf: 20}`). "new" is the defaults. Each episode is
rendered fresh by both, one after the other (the demo three times each: the median), then re-rendered with
nothing changed (three times: the median), after a one-line edit and after a change of one shot's seed; every
ratio is over the same path's own full render. The new path then measures the same kinds of change made while
``director render --watch`` runs (a second edit of the same line, the same shot's seed once more): from the file's
save to the watching process's result, as its user waits for it. A 3-minute Chinese episode gives the peak memory of a long render
(the whole process tree, sampled every 50 ms), at full and at half size (``preview_scale: 0.5``).

`python -m bench preview [--quick]` (--quick: the demo only, one pair).
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bench.common import ROOT, WORK, fresh_project, measured_director, save, summary, table
from bench.episodes import write_episode

OLD = "encode: {join: single, preset: veryfast, crf: 20}\nbackends: {video: {backend: preview-animatic, engine: pillow}}\n"
EDITS = {"demo": ("You're late.", "You're late again."), "zh60": ("再给我一天时间。", "再给我一天时间，求你了。")}
WATCHED_EDITS = {"demo": ("You're late again.", "You're late again, Ren."),
                 "zh60": ("再给我一天时间，求你了。", "再给我一天时间，求求你了。")}


def _render(project: Path) -> dict:
    info = measured_director("-q", "-p", str(project), "--json", "render")
    info["record"] = json.loads(Path(info["result"]["record"]).read_text())
    return info


def _project(name: str, path: str) -> Path:
    if name == "demo":
        project = fresh_project(f"preview-demo-{path}", ROOT / "projects/demo")
    else:
        lines = 22 if name == "zh60" else 66
        project = write_episode(WORK / f"preview-{name}-{path}", lines=lines, language="zh-CN")
        for sub in (".director", "out", "shots"):
            shutil.rmtree(project / sub, ignore_errors=True)
    if path == "old":
        with (project / "director.yaml").open("a") as f:
            f.write(OLD)
    if path == "half":
        with (project / "director.yaml").open("a") as f:
            f.write("preview_scale: 0.5\n")
    return project


def _seed(project: Path, by: int = 1) -> None:
    """The middle shot's seed, ``by`` more."""
    shots = project / "shots/screenplay.yaml"
    data = yaml.safe_load(shots.read_text(encoding="utf-8"))
    data["shots"][len(data["shots"]) // 2]["seed"] += by
    shots.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def watched(name: str, project: Path, full_s: float) -> dict:
    """The edit and the seed change again, made while ``render --watch`` runs: seconds from the save to its result."""
    import queue
    import tempfile
    import threading

    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", "director", "-q", "--json", "-p", str(project), "render",
                             "--watch"], stdout=subprocess.PIPE, stderr=err, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def result() -> dict:
        try:
            return json.loads(lines.get(timeout=300))
        except queue.Empty:
            err.seek(0)
            raise RuntimeError(f"render --watch gave no result: {err.read()[-2000:]}") from None

    out = {}
    try:
        result()  # its first render (everything reused)
        sp = project / "screenplay.yaml"
        old, new = WATCHED_EDITS[name]
        assert old in sp.read_text(encoding="utf-8"), (name, old)
        for label, change in (("one_line_edit", lambda: sp.write_text(
                sp.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")),
                              # a seed never drawn: the edit re-planned the shots, and put the seed back as planned
                              ("seed_change", lambda: _seed(project, 1000))):
            time.sleep(0.5)  # the watch is waiting
            started = time.perf_counter()
            change()
            done = result()
            seconds = time.perf_counter() - started
            record = json.loads(Path(done["record"]).read_text())
            out[label] = {"s": round(seconds, 3), "over_full": round(seconds / full_s, 4), "ran": _ran(record)}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    if proc.returncode != 0:
        err.seek(0)
        raise RuntimeError(f"render --watch exited {proc.returncode}: {err.read()[-2000:]}")
    return out


def _ran(record: dict) -> dict[str, int]:
    return {k: len(v["ran"]) for k, v in record["stages"].items() if v["ran"]}


FULL_RUNS = {"demo": 3}  # fresh full renders of an episode (the median is the figure); one for the long ones


def episode(name: str, path: str) -> dict:
    # the demo's full render is ~3 s, and one sample of it moved by ~0.4 s between runs on the same code: its
    # figure is the median of three fresh renders (each from a fresh copy), their spread kept beside it
    fulls = []
    for _ in range(FULL_RUNS.get(name, 1)):
        project = _project(name, path)
        fulls.append(_render(project))
    full = sorted(fulls, key=lambda run: run["wall"])[len(fulls) // 2]
    length = full["result"]["duration"]
    out = {"length_s": round(length, 3), "full_s": round(full["wall"], 3), "rtf": round(full["wall"] / length, 4),
           "full_runs_s": [round(run["wall"], 3) for run in fulls],
           "peak_mb": max(run["peak_mb"] for run in fulls),
           "stages": {k: v["seconds"] for k, v in full["record"]["stages"].items()}}
    if name == "long" or path == "half":
        return out
    # a no-op render is ~0.13 s: one sample is at the mercy of a scheduler hiccup, so the median of three
    again = sorted((_render(project) for _ in range(3)), key=lambda run: run["wall"])[1]
    sp = project / "screenplay.yaml"
    old, new = EDITS[name]
    text = sp.read_text(encoding="utf-8")
    assert old in text, (name, old)
    sp.write_text(text.replace(old, new, 1), encoding="utf-8")
    edit = _render(project)
    _seed(project)
    seed = _render(project)
    for label, run in (("nothing_changed", again), ("one_line_edit", edit), ("seed_change", seed)):
        short = bool(run["result"].get("up_to_date"))  # answered from the stamp: its record is the last render's
        out[label] = {"s": round(run["wall"], 3), "over_full": round(run["wall"] / full["wall"], 4),
                      "ran": {} if short else _ran(run["record"]), "up_to_date": short}
    if path == "new":
        out["watching"] = watched(name, project, full["wall"])
    return out


def main(argv: list[str] | None = None) -> None:
    quick = "--quick" in (argv or sys.argv[1:])
    names = ["demo"] if quick else ["demo", "zh60"]
    results: dict = {}
    for name in names:
        for path in ("old", "new"):  # interleaved: the same machine state for both
            results.setdefault(name, {})[path] = episode(name, path)
            print(name, path, json.dumps({k: v for k, v in results[name][path].items() if k != "stages"}),
                  file=sys.stderr, flush=True)
    if not quick:
        results["long"] = {"new": episode("long", "new"), "half": episode("long", "half")}
    rows = []
    for name in names:
        old, new = results[name]["old"], results[name]["new"]
        rows.append([f"{name} ({new['length_s']:.1f} s)", old["rtf"], new["rtf"], round(new["full_s"] / old["full_s"], 3),
                     old["one_line_edit"]["over_full"], new["one_line_edit"]["over_full"],
                     new["seed_change"]["over_full"], new["nothing_changed"]["over_full"],
                     f"{old['peak_mb']:.0f} / {new['peak_mb']:.0f}"])
    md = table(["episode", "RTF old", "RTF new", "new / old", "edit/full old", "edit/full new", "seed/full new",
                "unchanged/full new", "peak MB old / new"], rows)
    md += "\n\n" + table(["render --watch (new path)", "edit s", "edit/full", "seed s", "seed/full"],
                          [[name, results[name]["new"]["watching"]["one_line_edit"]["s"],
                            results[name]["new"]["watching"]["one_line_edit"]["over_full"],
                            results[name]["new"]["watching"]["seed_change"]["s"],
                            results[name]["new"]["watching"]["seed_change"]["over_full"]] for name in names])
    if "long" in results:
        long = results["long"]["new"]
        half = results["long"]["half"]
        md += (f"\n\n3-minute episode ({long['length_s']:.0f} s): RTF {long['rtf']}, peak {long['peak_mb']:.0f} MB; "
               f"at preview_scale 0.5 (540x960): RTF {half['rtf']}, peak {half['peak_mb']:.0f} MB")
    md += "\n\n" + table(["stage seconds", *[f"{n} {p}" for n in names for p in ("old", "new")]],
                         [[stage, *[results[n][p]["stages"].get(stage, 0.0) for n in names for p in ("old", "new")]]
                          for stage in results[names[0]]["new"]["stages"]])
    save("preview", {"results": results, "summary": {n: {p: summary([results[n][p]["rtf"]]) for p in ("old", "new")}
                                                     for n in names}}, md)


if __name__ == "__main__":
    main()
