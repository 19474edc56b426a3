"""Orchestration overhead: the render's wall time during which no job runs, on a 40-shot episode.

Jobs overlap (the scheduler runs CPU, io and device jobs side by side), so the overhead is the wall time minus
the union of the jobs' intervals (each job's start and end, from the run record), over the jobs' own seconds.
It is measured with the preview backends at 216x384: jobs are cheap, which makes the share an upper bound.
Budget: overhead < 2% of backend compute.
"""
from __future__ import annotations

import json
from pathlib import Path

from bench.common import WORK, measured_director, save, summary, table
from bench.episodes import write_episode

RUNS = 5


def busy(jobs: list[dict]) -> float:
    """Seconds during which at least one job ran: the union of the ran jobs' [start, end] intervals."""
    spans = sorted((j["info"]["start"], j["info"]["end"]) for j in jobs
                   if j["status"] == "ran" and "start" in j.get("info", {}))
    total, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def main() -> None:
    shares, per_shot, walls = [], [], []
    for i in range(RUNS + 1):
        project = write_episode(WORK / "overhead", lines=36, size=(216, 384))
        for sub in (".director", "out", "shots"):
            import shutil

            shutil.rmtree(project / sub, ignore_errors=True)
        info = measured_director("-q", "-p", str(project), "--json", "render")
        record = json.loads(Path(info["result"]["record"]).read_text())
        shots = len(record["stages"]["clips"]["ran"])
        work = sum(j["seconds"] for j in record["jobs"] if j["status"] == "ran")
        overhead = info["wall"] - busy(record["jobs"])
        if i == 0:
            continue
        walls.append(info["wall"])
        shares.append(overhead / work)
        per_shot.append(overhead / shots)
    data = {"shots": shots, "wall": summary(walls), "overhead_over_work": summary(shares),
            "overhead_per_shot_s": summary(per_shot), "backends": "preview (tiny diffusers backends not built yet)",
            "budget": {"share": 0.02, "met": summary(shares)["median"] < 0.02}}
    md = table(["measure", "median", "min", "max"],
               [["wall s", data["wall"]["median"], data["wall"]["min"], data["wall"]["max"]],
                ["overhead / job time", data["overhead_over_work"]["median"], data["overhead_over_work"]["min"],
                 data["overhead_over_work"]["max"]],
                ["overhead per shot s", data["overhead_per_shot_s"]["median"], data["overhead_per_shot_s"]["min"],
                 data["overhead_per_shot_s"]["max"]]])
    md += f"\n\n{shots} shots, preview backends at 216x384, {RUNS} runs after a warm-up. Overhead = process wall time" \
          " (interpreter start, imports, planning, keys, cache lookups, publishing) during which no job ran, over the" \
          " jobs' own seconds."
    save("overhead", data, md)


if __name__ == "__main__":
    main()
