"""Pacing of a rendered episode, as a listener hears it: the air between lines, the longest digital silence,
the shortest subtitle cue. Renders the demo and the Chinese demo (preview, small frames: pacing does not depend
on the picture) and writes bench/results/pacing.json.

- inter-line gap: from the end of one line's audible speech (RMS above -40 dBFS in 10 ms windows, inside its
  voice file) to the start of the next line's, where the next line answers it (the next beat of the same
  scene; an action, a sound or a scene change between them is the script's pause); the longest gap between
  any two lines is reported too;
- digital silence: the longest run of 10 ms windows of the final mix under -70 dBFS;
- shortest cue: the shortest subtitle cue on screen (SRT).
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from bench.common import ROOT, save


def _audible(samples: np.ndarray, rate: int, floor_db: float = -40.0) -> tuple[float, float]:
    mono = samples.mean(axis=1) if samples.ndim > 1 else samples
    win = max(1, int(0.01 * rate))
    frames = len(mono) // win
    rms = np.sqrt(np.mean(mono[: frames * win].reshape(frames, win) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms) > floor_db)[0]
    if not len(loud):
        return 0.0, 0.0
    return loud[0] * win / rate, (loud[-1] + 1) * win / rate


def measure(project: Path) -> dict:
    from director.media.audio import read_wav
    from director.project import Project
    from director.runtime.render import explain

    ctx, _, _ = explain(Project.find(project))
    spans = []
    for p in ctx.placements():
        data, rate = read_wav(p.entry.role("audio"))
        a, b = _audible(data, rate)
        scene, _, index = p.ref.rpartition("/")
        spans.append((p.start + a, p.start + b, scene, int(index)))
    # an exchange: a line that answers the one before it (the next beat of the same scene); an action, a
    # sound or a scene change between two lines is the script's own pause, not pacing
    gaps = [max(0.0, nxt[0] - cur[1]) for cur, nxt in zip(spans, spans[1:])
            if nxt[2] == cur[2] and nxt[3] == cur[3] + 1]
    every = [max(0.0, nxt[0] - cur[1]) for cur, nxt in zip(spans, spans[1:])]
    mix, rate = read_wav(ctx.entry("mix", "episode").role("audio"))
    mono = mix.mean(axis=1) if mix.ndim > 1 else mix
    win = int(0.01 * rate)
    frames = len(mono) // win
    rms = np.sqrt(np.mean(mono[: frames * win].reshape(frames, win) ** 2, axis=1) + 1e-20)
    silent = 20 * np.log10(rms) < -70
    longest = run = 0
    for s in silent:
        run = run + 1 if s else 0
        longest = max(longest, run)
    import pysubs2
    cues = pysubs2.load(str(ctx.entry("subtitles", "episode").role("srt")))
    return {"lines": len(spans), "exchanges": len(gaps),
            "median_gap_s": round(statistics.median(gaps), 3) if gaps else None,
            "max_gap_s": round(max(every), 3) if every else None,
            "longest_digital_silence_s": round(longest * win / rate, 3),
            "shortest_cue_s": round(min((c.end - c.start) / 1000 for c in cues), 3) if cues else None,
            "seconds": round(len(mono) / rate, 2)}


def main() -> None:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("demo", "zh-demo"):
            project = Path(tmp) / name
            shutil.copytree(ROOT / "projects" / name, project, ignore=shutil.ignore_patterns("out", ".director"))
            sp = yaml.safe_load((project / "screenplay.yaml").read_text())
            sp["format"] = {**sp.get("format", {}), "width": 108, "height": 192}
            (project / "screenplay.yaml").write_text(yaml.safe_dump(sp, sort_keys=False, allow_unicode=True))
            subprocess.run([sys.executable, "-m", "director", "-p", str(project), "render"], check=True,
                           capture_output=True)
            rows[name] = measure(project)
    lines = [f"{'episode':>8} {'lines':>5} {'exchanges':>9} {'median gap':>10} {'max gap':>8} {'digital silence':>15} "
             f"{'shortest cue':>12}"]
    lines += [f"{k:>8} {v['lines']:>5} {v['exchanges']:>9} {v['median_gap_s']:>9.2f}s {v['max_gap_s']:>7.2f}s "
              f"{v['longest_digital_silence_s']:>14.2f}s {v['shortest_cue_s']:>11.2f}s" for k, v in rows.items()]
    lines.append("targets (issue 16): median gap <= 0.3 s; no digital silence > 0.5 s; cues >= 0.8 s")
    save("pacing", rows, "\n".join(lines))


if __name__ == "__main__":
    main()
