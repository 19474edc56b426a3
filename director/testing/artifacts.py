"""Typed artifact handles for tests that call a backend directly, outside a render."""
from __future__ import annotations

from pathlib import Path

from director.backends.types import Artifact

ROLES = {"keyframe.png": "image", "bg.png": "background", "fg.png": "foreground", "header.png": "header",
         "sheet.png": "image", "clip.mp4": "clip"}


def artifact_of(folder: Path, stage: str = "keyframes") -> Artifact:
    """The files a backend wrote in ``folder``, by role (what a render's cache entry would say)."""
    files = {ROLES[p.name]: p.name for p in Path(folder).iterdir() if p.name in ROLES}
    return Artifact(stage, f"test-{Path(folder).name}", str(folder), files)


def flat(made) -> dict:
    """A result's meta with its report fields on top (what older tests read by name)."""
    meta = made.meta()
    return {**meta, **meta.get("report", {})}
