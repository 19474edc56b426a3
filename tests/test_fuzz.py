"""Fuzz the three YAML loaders through the CLI: any bytes in a screenplay (or its series bible),
``director.yaml`` or a shot list must give exit 0 or 3, no traceback, no "internal error", an
answer within DIRECTOR_FUZZ_TIMEOUT seconds, bounded memory, and no writes outside the project.

The engine is tests/fuzzing.py; ``python -m bench.fuzz --minutes N`` runs the same targets longer.
Each test reports every distinct failure it met (signature, input classes, smallest input).

  DIRECTOR_FUZZ_SECONDS  whole budget, split across the three targets (default 12;
                         `make fuzz` runs minutes)
  DIRECTOR_FUZZ_SEED     hypothesis seed, printed by every run, to replay its inputs
  DIRECTOR_FUZZ_TIMEOUT  CPU seconds one case may use (default 5; 3x that of wall-clock time)
  DIRECTOR_FUZZ_MEM_MB   memory one case may add, enforced with RLIMIT_AS (default 1024)
  DIRECTOR_FUZZ_JOBS     cases run at once (default: CPU count, at most 4)
"""
from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("hypothesis", reason="the fuzz tests need hypothesis (pip install hypothesis)")

from tests import fuzzing  # noqa: E402

BUDGET = float(os.environ.get("DIRECTOR_FUZZ_SECONDS", "12"))
SEED = int(os.environ["DIRECTOR_FUZZ_SEED"]) if os.environ.get("DIRECTOR_FUZZ_SEED") else None
TIMEOUT = float(os.environ.get("DIRECTOR_FUZZ_TIMEOUT", "5"))
MEM_MB = int(os.environ.get("DIRECTOR_FUZZ_MEM_MB", "1024"))
JOBS = int(os.environ["DIRECTOR_FUZZ_JOBS"]) if os.environ.get("DIRECTOR_FUZZ_JOBS") else None
PER_TARGET = BUDGET / len(fuzzing.TARGETS)

pytestmark = [pytest.mark.skipif(not hasattr(os, "fork") or not os.path.exists("/proc/self/status"),
                                 reason="the fuzzer forks one sandboxed child per case (Linux)")]
if importlib.util.find_spec("pytest_timeout"):
    pytestmark.append(pytest.mark.timeout(int(PER_TARGET + 3 * TIMEOUT + 120)))


@pytest.mark.parametrize("target", fuzzing.TARGETS)
def test_loader_contract_holds_for_any_input(target, tmp_path):
    fuzzer = fuzzing.Fuzzer(target, tmp_path / "fuzz", jobs=JOBS, timeout=TIMEOUT, mem_mb=MEM_MB)
    seed = fuzzing.fuzz(fuzzer, PER_TARGET, seed=SEED)
    summary = fuzzer.summary()
    print(f"\n[fuzz {target}] seed {seed}: {summary['cases']} cases in {PER_TARGET:.0f}s, "
          f"median {summary['median_case_seconds']}s per case, exit codes {summary['exit_codes']}")
    if fuzzer.findings:
        crashes = tmp_path / "crashes"
        fuzzer.save_findings(crashes)
        pytest.fail(f"{fuzzer.report()}\n\nsmallest inputs saved under {crashes}/{target}/; "
                    f"replay this run's inputs with DIRECTOR_FUZZ_SEED={seed}", pytrace=False)
