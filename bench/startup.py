"""`director --help` and `director validate` on the demo, as whole processes (budget: --help < 0.5 s)."""
from __future__ import annotations

from bench.common import ROOT, director_cmd, run, save, summary, table

RUNS = 7


def main() -> None:
    rows, data = [], {}
    for label, args in (("director --help", ["--help"]),
                        ("director validate projects/demo", ["validate", str(ROOT / "projects/demo")]),
                        ("python -c pass (interpreter floor)", None)):
        cmd = director_cmd(*args) if args is not None else [director_cmd()[0], "-c", "pass"]
        run(cmd)  # warm-up
        times = [run(cmd)[0] for _ in range(RUNS)]
        data[label] = summary(times)
        rows.append([label, data[label]["median"], data[label]["min"], data[label]["max"], RUNS])
    data["budget"] = {"help_seconds": 0.5, "met": data["director --help"]["median"] < 0.5}
    save("startup", {"results": data}, table(["command", "median s", "min s", "max s", "runs"], rows))


if __name__ == "__main__":
    main()
