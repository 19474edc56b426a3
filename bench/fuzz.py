"""A longer fuzz run of the three YAML loaders (screenplay, director.yaml, shot list); engine: tests/fuzzing.py.

    python -m bench.fuzz --minutes 30                  # 10 minutes per target
    python -m bench.fuzz --minutes 5 --targets shots --seed 123

Prints cases tried per target, the exit-code histogram and every distinct failure (signature,
input classes, smallest input). The smallest input of each failure is kept under
bench/results/fuzz-crashes/<target>/<hash>/ (project files + info.json); the summary goes to
bench/results/fuzz.json. Exits 1 when anything broke the contract (exit 0 or 3, no traceback,
no "internal error", bounded time and memory, no writes outside the project).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time

from bench.common import RESULTS, WORK, save, table


def main(argv: list[str] | None = None) -> int:
    from tests import fuzzing

    ap = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="total run time, split across the targets")
    ap.add_argument("--targets", default=",".join(fuzzing.TARGETS), help="comma-separated: screenplay,config,shots")
    ap.add_argument("--jobs", type=int, default=None, help="cases at once (default: CPU count, at most 4)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="CPU seconds one case may use (3x that of wall-clock time)")
    ap.add_argument("--mem-mb", type=int, default=1024, help="memory one case may add (RLIMIT_AS)")
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (printed by every run)")
    args = ap.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in fuzzing.TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(fuzzing.TARGETS)}")

    crashes = RESULTS / "fuzz-crashes"
    shutil.rmtree(crashes, ignore_errors=True)
    workdir = WORK / "fuzz"
    shutil.rmtree(workdir, ignore_errors=True)
    per_target = args.minutes * 60 / len(targets)
    results, rows, reports, failed = {}, [], [], False
    for target in targets:
        last = [time.monotonic()]

        def progress(fz, last=last):
            if time.monotonic() - last[0] >= 15:
                last[0] = time.monotonic()
                print(f"  {fz.target}: {fz.cases} cases, {len(fz.findings)} failure signature(s)",
                      file=sys.stderr, flush=True)

        def on_finding(fz, finding):
            print(f"  {fz.target}: NEW {finding.signature}", file=sys.stderr, flush=True)

        fuzzer = fuzzing.Fuzzer(target, workdir / target, jobs=args.jobs, timeout=args.timeout,
                                mem_mb=args.mem_mb, on_finding=on_finding)
        print(f"[fuzz {target}: {per_target:.0f}s, {fuzzer.jobs} jobs]", file=sys.stderr, flush=True)
        started = time.monotonic()
        seed = fuzzing.fuzz(fuzzer, per_target, seed=args.seed, progress=progress)
        wall = time.monotonic() - started
        summary = fuzzer.summary()
        summary.update(seed=seed, wall_seconds=round(wall, 1), cases_per_second=round(fuzzer.cases / wall, 2),
                       crashes=[str(p.relative_to(RESULTS.parent.parent)) for p in fuzzer.save_findings(crashes)])
        results[target] = summary
        failed |= bool(fuzzer.findings)
        codes = ", ".join(f"{k}: {v}" for k, v in summary["exit_codes"].items())
        rows.append([target, fuzzer.cases, summary["cases_per_second"], summary["median_case_seconds"],
                     summary["max_rss_growth_mb"], codes, len(fuzzer.findings), seed])
        reports.append(fuzzer.report())
        shutil.rmtree(workdir / target, ignore_errors=True)
    settings = {"minutes": args.minutes, "timeout_s": args.timeout, "mem_mb": args.mem_mb, "targets": targets}
    save("fuzz", {"settings": settings, "results": results},
         table(["target", "cases", "cases/s", "median s", "max RSS growth MB", "exit codes", "failures", "seed"], rows))
    print("\n\n".join(reports))
    if failed:
        print(f"\nsmallest failing inputs: {crashes}/", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
