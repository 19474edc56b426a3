"""`python -m bench` runs every benchmark; `python -m bench NAME [NAME...]` runs some."""
from __future__ import annotations

import importlib
import sys
import time

ORDER = ("startup", "render", "preview", "assemble", "overhead", "scaling", "voice", "gpu", "gpu_episode", "gpu_estimate", "schedule", "animatic",
         "studio", "fuzz")


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or list(ORDER)
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(ORDER)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main(*([argv] if name in ("assemble", "preview", "schedule") else []))
        print(f"[{name}: {time.perf_counter() - t:.0f}s]", file=sys.stderr, flush=True)
    print(f"[all: {time.perf_counter() - started:.0f}s]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
