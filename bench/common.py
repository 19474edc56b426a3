"""Shared by the benchmarks: the machine, repeated timings, paired ratios, tables, JSON results."""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / ".work"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0) if Path("/proc/meminfo").exists() else 0
    gpu = None
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True)
        gpu = out.stdout.strip() or None
    versions = {}
    for mod in ("director", "numpy", "PIL", "pydantic", "av", "moviepy", "torch", "diffusers", "langchain_openai"):
        try:
            versions[mod] = getattr(__import__(mod), "__version__", "?")
        except ImportError:
            pass
    from director.media.ffmpeg import ffmpeg_exe

    ffmpeg = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mb": mem, "gpu": gpu, "python": sys.version.split()[0],
            "platform": platform.platform(), "ffmpeg": ffmpeg, "versions": versions,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def summary(values: list[float]) -> dict:
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return {"n": len(values), "median": round(statistics.median(values), 4), "min": round(values[0], 4),
            "max": round(values[-1], 4), "iqr": round(q[2] - q[0], 4)}


def run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, proc


def director_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "director", *args]


MEASURED = """
import json, sys, time
from director.runtime.heap import one_heap
one_heap()  # as the console script does first (director/cli/fast.py)
from director.cli.fast import answered

start = time.perf_counter()
if answered(sys.argv[1:]):  # the console script's own order: a render with nothing to do is answered first
    code = 0
else:
    from director.cli.main import run
    code = run(sys.argv[1:])
wall = time.perf_counter() - start
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print("BENCH" + json.dumps({"code": code, "wall": wall, "self_peak_mb": round(hwm / 1024, 1)}))
"""


def _tree_rss(root, command: list[str]) -> int:
    """The resident memory of a process and its descendants (director, ffmpeg, eSpeak). A child still showing
    ``command`` was forked to start a program and not yet exec'd: the same pages as director's, skipped (sampled in
    that instant it counted director twice: +200 MB)."""
    import psutil

    try:
        total = root.memory_info().rss
        children = root.children(recursive=True)
    except psutil.Error:
        return 0
    for p in children:
        try:
            if p.cmdline() != command:
                total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measured_director(*args: str) -> dict:
    """Run director in a fresh process as the console script does; return its wall time (the whole process, from
    its start to its exit: what `time director ...` says), the peak memory of its process tree (RSS sampled every
    50 ms from this process, not a thread in the measured one, where it competed for director's GIL; ru_maxrss
    would inherit the parent's high-water mark across fork/exec) and stdout JSON. ``inside``: the command line's
    own time within the process (without the interpreter's start and exit)."""
    import psutil

    command = [sys.executable, "-c", MEASURED, *args]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched, peak = psutil.Process(child.pid), 0
    while True:
        peak = max(peak, _tree_rss(watched, command))
        try:  # reads its output meanwhile: a long render's JSON would fill the pipe and stop it
            out, err = child.communicate(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            continue
    seconds = time.perf_counter() - started
    head, _, tail = out.rpartition("BENCH")
    if not tail:
        raise RuntimeError(f"director {' '.join(args)} exited {child.returncode}: {err[-2000:]}")
    info = json.loads(tail)
    info.update(inside=info["wall"], wall=seconds, peak_mb=round(peak / 2**20, 1))
    try:
        info["result"] = json.loads(head)
    except ValueError:
        info["result"] = None
    if info["code"] != 0:
        raise RuntimeError(f"director {' '.join(args)} exited {info['code']}: {err[-2000:]}")
    return info


def table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), **data, "table": markdown}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"\n## {name}\n\n{markdown}\n", flush=True)


def fresh_project(name: str, source: Path, root: Path = WORK) -> Path:
    dest = root / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    return dest
