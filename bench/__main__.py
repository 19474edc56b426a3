"""`python -m bench` runs every benchmark; `python -m bench NAME [NAME...]` runs some."""
from __future__ import annotations

import importlib
import sys
import time

ORDER = ("startup", "render", "preview", "assemble", "overhead", "scaling", "voice", "gpu", "gpu_episode", "gpu_estimate", "schedule", "animatic",
         "studio", "fuzz")
BY_NAME = ("watch_ab",)  # run only when named: it compares this code with an older commit
VALUED = ("--against", "--rounds", "--scale")  # options followed by a value


KNOWN_FLAGS = ("--quick", "--full", "--scale", "--against", "--rounds")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):  # it ran every benchmark and overwrote the committed results
        print(f"{__doc__.strip()}\nbenchmarks: {', '.join(ORDER)}; by name only: {', '.join(BY_NAME)}\n"
              "options: --quick (preview: the demo only), --full (assemble: the 60 s episode too), --scale X "
              "(schedule), --against COMMIT and --rounds N (watch_ab)")
        return 0
    flags = [a.split("=")[0] for a in argv if a.startswith("-")]
    if unknown := [f for f in flags if f not in KNOWN_FLAGS]:
        print(f"unknown option(s): {', '.join(unknown)}; see python -m bench --help", file=sys.stderr)
        return 2
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
