"""`python -m bench` runs every benchmark; `python -m bench NAME [NAME...]` runs some."""
from __future__ import annotations

import importlib
import sys
import time

ORDER = ("startup", "render", "preview", "assemble", "overhead", "scaling", "voice", "gpu", "gpu_episode", "gpu_estimate", "schedule", "animatic",
         "studio", "fuzz")
BY_NAME = ("watch_ab",)  # run only when named: it compares this code with an older commit
VALUED = ("--against", "--rounds")  # options followed by a value


def main(argv: list[str]) -> int:
    values = {i + 1 for i, a in enumerate(argv) if a in VALUED}  # the values of options, not benchmarks
    names = [a for i, a in enumerate(argv) if not a.startswith("-") and i not in values] or list(ORDER)
    unknown = [n for n in names if n not in ORDER + BY_NAME]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(ORDER + BY_NAME)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main(*([argv] if name in ("assemble", "preview", "schedule", "watch_ab") else []))
        print(f"[{name}: {time.perf_counter() - t:.0f}s]", file=sys.stderr, flush=True)
    print(f"[all: {time.perf_counter() - started:.0f}s]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
