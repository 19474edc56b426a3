"""GPU-seconds of a final render on one H100, from the calibrated FLOP model, before any GPU exists.

For the demo (16 s) and the Chinese demo (~60 s): each shot's real frame count comes from a preview
render's timing (the same voices' lengths the final render would fit), then every stage of the final
profile is costed for the draft and the quality tier. Writes bench/results/gpu_estimate.json.
"""
from __future__ import annotations

import shutil

from bench.common import ROOT, WORK, save


def episode_shape(name: str) -> dict:
    from director.project import Project
    from director.runtime.engine import Selection, StateIndex, execute
    from director.runtime.render import prepare, render

    project_dir = WORK / f"gpu-{name}"
    shutil.rmtree(project_dir, ignore_errors=True)
    if name == "zh-60s":  # the same synthetic 60-second Chinese episode `bench render` times
        from bench.episodes import write_episode
        write_episode(project_dir, lines=22, language="zh-CN")
    else:
        shutil.copytree(ROOT / "projects" / name, project_dir, ignore=shutil.ignore_patterns(".director", "out",
                                                                                                "shots"))
    project = Project.find(project_dir)
    render(project, selection=Selection(until="timing"))
    ctx, _ = prepare(project, None, None, explain=True)
    execute(ctx, StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json")), Selection(until="timing"))
    sp = ctx.sp
    shots = [{"frames": ctx.frames(s), "refs": len(s.characters) + 1} for s in ctx.shots]
    speech = sum(p.duration for p in ctx.placements())
    seconds = sum(s["frames"] for s in shots) / sp.format.fps
    sheets = sum(1 for c in sp.characters.values() if not c.refs) + sum(1 for loc in sp.locations.values()
                                                                        if not loc.refs)
    cues = sum(1 for _, _, b in sp.beats() if b.music and not b.music.stop)
    return {"episode": name, "seconds": round(seconds, 2), "shots": shots, "speech": speech, "sheets": sheets,
            "music": [seconds / max(1, cues)] * max(1, cues), "fmt": sp.format}


def main() -> None:
    from director.backends import configure_backends
    from director.backends.gpu_time import ANCHORS, GPUS, MEASURED, MFU, anchor_estimate, estimate_episode

    gpu = GPUS["H100"]

    def compare(points):
        return [{"what": a["what"], "measured_s": a["seconds"], "model_s": round(anchor_estimate(a), 2),
                 "ratio": round(anchor_estimate(a) / a["seconds"], 3)} for a in points]
    anchors, measured = compare(ANCHORS), compare(MEASURED)
    rows, lines = [], [f"FLOP model: MFU {MFU:.0%} of dense BF16 peak; published anchors (model / published):"]
    lines += [f"  {a['ratio']:.2f}  {a['model_s']:>7.1f}s / {a['measured_s']:>7.1f}s  {a['what']}" for a in anchors]
    lines.append("director's own H100 measurements (model / measured; bench/results/gpu.json):")
    lines += [f"  {a['ratio']:.2f}  {a['model_s']:>7.2f}s / {a['measured_s']:>7.2f}s  {a['what']}" for a in measured]
    lines.append(f"\n{'episode':<10} {'tier':<8} {'length':>7} {'GPU-s':>7} {'ep-s/GPU-min':>19}  per stage")
    for name in ("demo", "zh-60s"):
        shape = episode_shape(name)
        fmt = shape["fmt"]
        for tier in ("draft", "quality"):
            est = estimate_episode(configure_backends("final", {}, tier=tier), fmt.width, fmt.height, fmt.fps,
                                   shape["shots"], shape["sheets"], shape["speech"], shape["music"], gpu)
            rate = shape["seconds"] / (est["total"] / 60)
            warm = shape["seconds"] / ((est["total"] - est["model_loads"]) / 60)
            rows.append({"episode": name, "tier": tier, "episode_seconds": shape["seconds"],
                         "shots": len(shape["shots"]), "gpu": gpu.name, "estimate": est,
                         "episode_seconds_per_gpu_minute": round(rate, 2),
                         "episode_seconds_per_gpu_minute_models_loaded": round(warm, 2)})
            stages = "  ".join(f"{k} {v:.0f}" for k, v in est.items() if k not in ("total",))
            lines.append(f"{name:<10} {tier:<8} {shape['seconds']:>6.1f}s {est['total']:>7.1f} {rate:>6.1f} "
                         f"({warm:.1f} warm)  {stages}")
    lines.append("ep-s/GPU-min: seconds of finished episode per H100-minute, cold (every model read from disk at "
                 "2 GB/s) and warm (models already loaded, as for the next episode of a series)")
    lines.append("target (DESIGN §10): draft >= 10 s of episode per H100-minute")
    save("gpu_estimate", {"mfu": MFU, "anchors": anchors, "measured": measured, "episodes": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
