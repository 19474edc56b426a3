"""Shared helpers for the hardening tests: snapshots of everything outside a project, file edits."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml


def snapshot(folder: Path, skip: Path | None = None) -> dict[str, str]:
    """path -> content digest of every file under ``folder`` except under ``skip``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        if skip is not None and Path(dirpath).resolve().is_relative_to(skip.resolve()):
            dirnames[:] = []
            continue
        for name in filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "?"
    return out


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def assert_clean_failure(proc, code: int = 3) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-2000:]
