"""A whole episode on a real GPU, through the CLI: ``director render`` of the demo with the final profile's draft tier.

``bench gpu`` times each model through its backend; this runs the engine itself on the card: the demo project with
the final profile (Qwen-Image-Edit-2509 keyframes with the CLIP consistency scorer, Wan 2.2 TI2V-5B clips at the
draft tier's settings, production-size configs with random weights as in ``bench gpu``), the preview voice and
music (the Coqui and Stable Audio stacks are not carried to the lent machine), ``devices`` left to its default
(every visible CUDA device). Then a one-line edit and a re-render with nothing changed. What it reports:

- wall time of each render and the episode's seconds per GPU-minute (the brief's draft target: >= 10);
- the GPU's busy share while GPU jobs were due: the union of the GPU jobs' intervals from the run record over
  the span from the first GPU job's start to the last one's end, and nvidia-smi's utilisation sampled every 200 ms;
- model loads per device (each kind at most once), and what the edit re-ran;
- director's Wan clip job against plain diffusers on the same folder: ``from_pretrained`` + ``.to("cuda")`` and
  one pipeline call with the same size, frames, steps and guidance (the brief: within 10%).

``GPU_TINY=1`` runs the same script on tiny configs on the CPU (a check of this script, not a timing).
``GPU_WORK`` is where the models are built (default: a temporary folder; Qwen's 58 GB go to /dev/shm when the
disk lacks room). ``GPU_STEP=build`` builds and saves the models only; ``GPU_STEP=series`` renders a series of
three episodes of the demo's cast with ``render --all``, ``GPU_STEP=render`` the demo, an edit and a re-render,
with models already built in ``GPU_WORK`` (separate calls on a lent machine whose carried files must be split).
``GPU_DIRECTOR=path`` renders with another checkout's code (a paired before/after run on the same machine).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import gpu
from bench.common import ROOT, fresh_project, save

TINY = gpu.TINY


def build(work: Path) -> dict:
    started = time.perf_counter()
    wan = gpu.wan_folder(work / "wan22")
    root = work if TINY or shutil.disk_usage(work).free > 70e9 else Path("/dev/shm")
    qwen = gpu.qwen_folder(root / "qwen-edit")
    clip = gpu.clip_folder(work / "clip")
    folders = {"wan": str(wan), "qwen": str(qwen), "clip": str(clip)}
    (work / "folders.json").write_text(json.dumps(folders))
    return {"build_save_s": round(time.perf_counter() - started, 1), **folders}


def project(work: Path, folders: dict) -> Path:
    dest = fresh_project("demo", ROOT / "projects" / "demo", work)
    device = "cpu" if TINY else "auto"
    tiny_key = ", resolution: 64, condition_side: 28, reference_side: 64" if TINY else ""
    tiny_clip = ", resolution: 64" if TINY else ""
    config = (dest / "director.yaml").read_text().replace("profile: preview", "profile: final")
    config += (
        "tier: draft\n"
        "backends:\n"
        f"  keyframes: {{backend: qwen-image-edit, model: {folders['qwen']}, scorer: {folders['clip']}, lora: null, "
        f"device: {device}{tiny_key}}}\n"
        f"  video: {{backend: wan-i2v, model: {folders['wan']}, device: {device}{tiny_clip}}}\n"
        "  voice: {backend: espeak}\n"
        "  music: {backend: procedural-music}\n")
    (dest / "director.yaml").write_text(config)
    return dest


class Sampler:
    """nvidia-smi's GPU utilisation every 200 ms while a render runs (nothing where there is no nvidia-smi)."""

    def __init__(self):
        self.samples: list[tuple[float, int]] = []
        self.proc = None

    def __enter__(self):
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                          "-lms", "200"], stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.samples.append((time.perf_counter(), int(line.strip())))
            except ValueError:
                pass

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()

    def between(self, start: float, end: float) -> dict:
        values = [u for t, u in self.samples if start <= t <= end]
        if not values:
            return {}
        idle, longest = 0, 0
        for u in values:
            idle = idle + 1 if u == 0 else 0
            longest = max(longest, idle)
        return {"samples": len(values), "mean_util": round(sum(values) / len(values), 1),
                "busy_share": round(sum(1 for u in values if u > 0) / len(values), 3),
                "longest_idle_s": round(longest * 0.2, 1)}


def union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def render(folder: Path, label: str, *args: str) -> dict:
    """``director render`` as a user runs it (``GPU_DIRECTOR``: another checkout's code, for a paired run)."""
    root = Path(os.environ.get("GPU_DIRECTOR") or ROOT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    with Sampler() as sampler:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "director", "-p", str(folder), "--json", "render", *args],
                              capture_output=True, text=True, env=env, cwd=str(root))
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        return {"label": label, "error": f"exit {proc.returncode}", "stderr": proc.stderr[-3000:],
                "stdout": proc.stdout[-1500:]}
    summary = json.loads(proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1])
    episodes = summary.get("episodes") or [summary]
    if any(e.get("up_to_date") for e in episodes):  # answered from the stamp: its record is the last render's
        return {"label": label, "code": str(root), "wall_s": round(wall, 2), "up_to_date": True,
                "episodes": len(episodes), "ran": 0, "reused": sum(e["reused"] for e in episodes)}
    records = [json.loads(Path(e["record"]).read_text()) for e in episodes]
    gpu_jobs = [j for record in records for j in record["jobs"]
                if j["status"] == "ran" and j["info"].get("resource") == "gpu"]
    intervals = [(j["info"]["start"], j["info"]["end"]) for j in gpu_jobs]
    seconds = max(record["seconds"] for record in records)
    length = sum(e["duration"] for e in episodes)
    row = {"label": label, "code": str(root), "wall_s": round(wall, 2), "render_s": seconds,
           "episodes": len(episodes), "episode_s": round(length, 2),
           "ran": sum(e["ran"] for e in episodes), "reused": sum(e["reused"] for e in episodes),
           "loads": [{k: m[k] for k in ("kind", "device", "seconds")} for m in records[-1]["models"]
                     if m["event"] == "load" and m["kind"] in ("keyframes", "video")],
           "gpu_jobs": len(gpu_jobs), "gpu_job_s": round(sum(j["seconds"] for j in gpu_jobs), 2)}
    if len(episodes) == 1:
        row["stages"] = {k: v["seconds"] for k, v in summary["stages"].items()}
        row["gpu_job_list"] = {f"{j['stage']} {j['shot'] or ''}".strip(): round(j["seconds"], 2) for j in gpu_jobs}
    if intervals:
        first, last = min(a for a, _ in intervals), max(b for _, b in intervals)
        row["gpu_span_s"] = round(last - first, 2)
        row["gpu_jobs_cover"] = round(union(intervals) / (last - first), 3) if last > first else None
        zero = started + (wall - seconds)  # the records' clock starts when the render does
        row["nvidia_smi"] = sampler.between(zero + first, zero + last)
        row["nvidia_smi_render"] = sampler.between(started, started + wall)
    row["episode_s_per_gpu_minute"] = round(length / (wall / 60), 2) if length else None
    return row


def series(work: Path) -> Path:
    """Three episodes of one cast (the demo, its first line changed in two of them), rendered with ``--all``."""
    source = work / "demo"
    dest = work / "series"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".director", "out", "shots", "screenplay.yaml"))
    text = (source / "screenplay.yaml").read_text()
    for i, extra in enumerate(["", " Now.", " Again."], 1):
        (dest / f"ep{i}.yaml").write_text(text.replace('"Ten seconds to spare."', f'"Ten seconds to spare.{extra}"'))
    config = (dest / "director.yaml").read_text()
    (dest / "director.yaml").write_text(config.replace("episodes: [screenplay.yaml]", "episodes: [ep*.yaml]"))
    return dest


def _keep(row: dict) -> None:
    print(f"[episode] {json.dumps(row)[:1500]}", flush=True)
    if os.environ.get("OUT"):
        with open(Path(os.environ["OUT"]) / "partial.jsonl", "a") as log:
            log.write(json.dumps(row) + "\n")


def plain_diffusers(folders: dict) -> dict:
    """The draft clip in plain diffusers vs director's backend, same folder, size, frames and steps, both loaded at
    once and called in turn (director, plain, director, plain, ...): the first call of a process pays CUDA's
    one-time costs, so the first pair is reported apart and the rest are compared."""
    torch = gpu._torch()
    from diffusers import WanImageToVideoPipeline
    from PIL import Image

    from director.backends.diffusion.video import WanConfig

    frames = 9 if TINY else 121
    config = WanConfig(model=folders["wan"], device=gpu._device(), dtype="bf16", steps=3, guidance=1.0,
                       scheduler="default", resolution=64 if TINY else 768)
    backend, load_s, _ = gpu._load(config)
    started = time.perf_counter()
    pipe = WanImageToVideoPipeline.from_pretrained(folders["wan"], torch_dtype=torch.bfloat16).to(gpu._device())
    gpu._sync()
    row: dict = {"director_load_s": load_s, "plain_load_s": round(time.perf_counter() - started, 2),
                 "director": [], "director_gpu": [], "plain": []}
    work = Path(folders["wan"]).parent / "cmp"
    try:
        for turn in range(int(os.environ.get("GPU_PAIRS", "3"))):
            made = gpu._clip(backend, work, frames, f"cmp{turn}")
            row["director"].append(made["seconds"])
            row["director_gpu"].append(made["gpu_seconds"])
            width, height, native = made["native"]["width"], made["native"]["height"], made["native"]["frames"]
            image = Image.new("RGB", (width, height), (170, 80, 60))
            started = time.perf_counter()
            pipe(image=image, prompt="a person walks toward the camera", height=height, width=width,
                 num_frames=native, num_inference_steps=3, guidance_scale=1.0,
                 generator=torch.Generator(gpu._device()).manual_seed(1), output_type="pil")
            gpu._sync()
            row["plain"].append(round(time.perf_counter() - started, 2))
        row["size"] = [width, height, native]
        later = slice(1, None) if len(row["plain"]) > 1 else slice(None)
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        row["director_gpu_over_plain"] = round(mean(row["director_gpu"][later]) / mean(row["plain"][later]), 3)
        row["director_job_over_plain"] = round(mean(row["director"][later]) / mean(row["plain"][later]), 3)
    finally:
        gpu._release(backend)
        del pipe
        gpu._peak_reset()
    return row


def edit_line(folder: Path) -> None:
    """One line of the demo's dialogue changed, as a writer would: its voice, timing and shot re-render."""
    script = folder / "screenplay.yaml"
    text = script.read_text()
    assert text.count('"You\'re late."') == 1
    script.write_text(text.replace('"You\'re late."', '"You\'re late again."'))


def main() -> None:
    torch = gpu._torch()
    if not TINY and not torch.cuda.is_available():
        print("skipped: no CUDA device here (GPU_TINY=1 checks this script on the CPU)")
        return
    step = os.environ.get("GPU_STEP", "all")
    work = Path(os.environ.get("GPU_WORK") or tempfile.mkdtemp(prefix="director-gpu-episode-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"env": {"torch": torch.__version__, "tiny": TINY,
                             "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}}
    if step == "compare":  # director's Wan clip against plain diffusers alone (builds Wan if it is not there)
        if not (work / "wan22" / "model_index.json").exists():
            gpu.wan_folder(work / "wan22")
        row = plain_diffusers({"wan": str(work / "wan22")})
        _keep({"label": "plain diffusers", **row})
        return
    if step in ("all", "build"):
        results["build"] = build(work)
        print(f"[episode] build: {results['build']}", flush=True)
        if step == "build":
            return
    folders = json.loads((work / "folders.json").read_text())
    folder = project(work, folders)
    if step in ("all", "series"):
        row = render(series(work), os.environ.get("GPU_LABEL", "series of 3, render --all"), "--all")
        results.setdefault("renders", []).append(row)
        _keep(row)
        if step == "series":
            return
    for label in ("first render", "one line edited", "nothing changed"):
        if label == "one line edited":
            edit_line(folder)
        row = render(folder, label)
        results.setdefault("renders", []).append(row)
        _keep(row)
        if "error" in row:
            break
    try:
        results["plain_diffusers"] = plain_diffusers(folders)
    except Exception as exc:  # the renders' figures stand without it
        results["plain_diffusers"] = {"error": f"{type(exc).__name__}: {exc}"[:800]}
    print(f"[episode] plain diffusers: {results['plain_diffusers']}", flush=True)
    lines = []
    for r in results.get("renders", []):
        if "error" in r:
            lines.append(f"{r['label']}: {r['error']}")
            continue
        if r.get("up_to_date"):
            lines.append(f"{r['label']}: wall {r['wall_s']} s, answered from the up-to-date stamp, reused {r['reused']}")
            continue
        lines.append(f"{r['label']}: wall {r['wall_s']} s for {r['episode_s']} s of episode "
                     f"({r['episode_s_per_gpu_minute']} s/GPU-min), ran {r['ran']} reused {r['reused']}, "
                     f"GPU jobs cover {r.get('gpu_jobs_cover')} of {r.get('gpu_span_s')} s, nvidia-smi "
                     f"{r.get('nvidia_smi')}, loads {[(m['kind'], m['device'], m['seconds']) for m in r['loads']]}")
    name = "gpu_episode" if not TINY else "gpu_episode_tiny"
    save(name, results, "\n".join(lines))
    if os.environ.get("OUT"):
        shutil.copy(ROOT / "bench" / "results" / f"{name}.json", Path(os.environ["OUT"]) / f"{name}.json")


if __name__ == "__main__":
    main()
