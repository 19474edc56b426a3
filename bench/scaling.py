"""Render time and peak memory for 10, 20, 40 and 80 shots (is it linear?), and `status` on 1,000 artifacts."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from bench.common import WORK, director_cmd, measured_director, run, save, summary, table
from bench.episodes import write_episode

SIZES = (10, 20, 40, 80)


def fresh(name: str, lines: int, size=(216, 384)) -> Path:
    project = WORK / name
    shutil.rmtree(project, ignore_errors=True)
    return write_episode(project, lines=lines, size=size)


def main() -> None:
    rows, data = [], {"episodes": {}}
    for n in SIZES:
        project = fresh(f"scale-{n}", lines=n - 4)  # 4 scenes open on an action shot
        info = measured_director("-q", "-p", str(project), "--json", "render")
        record = json.loads(Path(info["result"]["record"]).read_text())
        shots = len(record["stages"]["clips"]["ran"])
        data["episodes"][n] = {"shots": shots, "wall": info["wall"], "peak_mb": info["peak_mb"],
                               "length_s": info["result"]["duration"]}
        rows.append([shots, info["wall"], info["wall"] / shots, info["peak_mb"], info["result"]["duration"]])
    xs = np.array([r[0] for r in rows], float)
    ys = np.array([r[1] for r in rows], float)
    slope, intercept = np.polyfit(xs, ys, 1)
    fit = slope * xs + intercept
    r2 = 1 - ((ys - fit) ** 2).sum() / ((ys - ys.mean()) ** 2).sum()
    data["linear_fit"] = {"seconds_per_shot": round(slope, 4), "intercept_s": round(intercept, 3), "r2": round(r2, 4)}
    md = table(["shots", "wall s", "s per shot", "peak MB", "episode s"], rows)
    md += f"\n\nlinear fit: {slope:.3f} s/shot + {intercept:.2f} s, R² = {r2:.4f} (preview backends, 216x384, 1 run each)"

    # ~1,000 artifacts quickly: keyframes and timing of ~500 shots (+ the distinct voices; identical lines share one)
    big = fresh("scale-status", lines=500, size=(72, 128))
    measured_director("-q", "-p", str(big), "render", "--until", "timing")
    artifacts = sum(1 for p in (big / ".director/cache").rglob("manifest.json"))
    run(director_cmd("-p", str(big), "status"))  # warm-up
    times = [run(director_cmd("-p", str(big), "--json", "status"))[0] for _ in range(5)]
    data["status"] = {"artifacts": artifacts, "seconds": summary(times)}
    md += "\n\n" + table(["status on", "median s", "min s", "max s", "runs"],
                         [[f"{artifacts} cached artifacts", data["status"]["seconds"]["median"],
                           data["status"]["seconds"]["min"], data["status"]["seconds"]["max"], 5]])
    save("scaling", data, md)


if __name__ == "__main__":
    main()
