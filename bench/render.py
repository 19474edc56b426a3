"""Full preview renders (demo, and a 60-second Chinese episode): time per stage, peak memory.

Each demo iteration is a paired triple on one fresh project: full render, render with nothing
changed, render after a one-line edit. The ratios (cache) come from the same iteration.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from bench.common import ROOT, WORK, fresh_project, measured_director, save, summary, table
from bench.episodes import write_episode

RUNS = 5


def render(project: Path) -> dict:
    info = measured_director("-q", "-p", str(project), "--json", "render")
    record = json.loads(Path(info["result"]["record"]).read_text())
    info["record"] = record
    return info


def ran(record: dict) -> dict[str, list[str]]:
    return {k: v["ran"] for k, v in record["stages"].items() if v["ran"]}


def main() -> None:
    full, nochange, edit, stages, peaks, reran = [], [], [], {}, [], None
    for i in range(RUNS + 1):
        project = fresh_project("render-demo", ROOT / "projects/demo")
        first = render(project)
        second = render(project)
        sp = project / "screenplay.yaml"
        sp.write_text(sp.read_text().replace("You're late.", "You're late again."))
        third = render(project)
        if i == 0:
            continue  # warm-up
        full.append(first["wall"])
        nochange.append(second["wall"] / first["wall"])
        edit.append(third["wall"] / first["wall"])
        peaks.append(first["peak_mb"])
        for name, s in first["record"]["stages"].items():
            stages.setdefault(name, []).append(s["seconds"])
        reran = ran(third["record"])
    zh = write_episode(WORK / "render-zh60", lines=22, language="zh-CN")
    zh_run = render(zh)
    zh_length = zh_run["result"]["duration"]
    data = {
        "demo": {"wall": summary(full), "peak_mb": summary(peaks),
                 "stages": {k: summary(v) for k, v in stages.items()},
                 "length_s": first["result"]["duration"]},
        "cache": {"nothing_changed_over_full": summary(nochange), "one_line_edit_over_full": summary(edit),
                  "rerun_after_edit": reran,
                  "budget": {"edit_ratio": 0.15, "met": statistics.median(edit) < 0.15}},
        "zh60": {"wall": zh_run["wall"], "peak_mb": zh_run["peak_mb"], "length_s": zh_length, "runs": 1,
                 "stages": {k: v["seconds"] for k, v in zh_run["record"]["stages"].items()}},
    }
    rows = [["demo full render", data["demo"]["wall"]["median"], f"{data['demo']['wall']['iqr']:.2f}",
             f"{data['demo']['peak_mb']['median']:.0f}", RUNS],
            ["zh-CN 60 s episode (1 run)", zh_run["wall"], "-", f"{zh_run['peak_mb']:.0f}", 1]]
    md = table(["render", "median s", "IQR s", "peak MB", "runs"], rows)
    md += "\n\n" + table(["stage (demo)", "median s"], [[k, v["median"]] for k, v in data["demo"]["stages"].items()])
    md += "\n\n" + table(["stage (zh 60 s)", "s"], [[k, v] for k, v in data["zh60"]["stages"].items()])
    save("render", {k: data[k] for k in ("demo", "zh60")}, md)
    cmd = table(["paired ratio", "median", "min", "max", "runs"],
                [["nothing changed / full", data["cache"]["nothing_changed_over_full"]["median"],
                  data["cache"]["nothing_changed_over_full"]["min"], data["cache"]["nothing_changed_over_full"]["max"], RUNS],
                 ["one-line edit / full", data["cache"]["one_line_edit_over_full"]["median"],
                  data["cache"]["one_line_edit_over_full"]["min"], data["cache"]["one_line_edit_over_full"]["max"], RUNS]])
    cmd += "\n\nre-ran after the edit: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in (reran or {}).items())
    save("cache", {"results": data["cache"]}, cmd)


if __name__ == "__main__":
    main()
