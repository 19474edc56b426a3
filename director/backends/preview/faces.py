"""The animatic's actors: mouths that follow their own voice, eyes that blink, listeners who react.

A panel says where each face is (``faces.json``: head, mouth, eyes, skin and lip colours). For every
frame of a clip a ``Performance`` knows how far each speaker's mouth is open (the RMS of their line's
recording over that frame, normalised per speaker) and whether each face's eyes are closed (blinks at
seeded, natural intervals of 2-5 s, and a listener's blink just after another character's line
ends). It draws only those features, over a frame the camera move has already placed, given the
move's map from panel to frame coordinates.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from director.backends.types import Artifact, ClipRequest
from director.media.lipsync import energy_envelope

MOUTH_DARK = (70, 24, 34)
EYE_DARK = (30, 24, 24)
Mapping = Callable[[float, float], tuple[float, float]]  # panel point -> frame point


@dataclass(frozen=True)
class Face:
    id: str
    cx: float
    cy: float
    r: float
    mouth: tuple[float, float]
    mouth_w: float
    eyes: tuple[tuple[float, float], ...]
    eye_r: float
    skin: tuple[int, int, int]
    lips: tuple[int, int, int]

    def mouth_box(self, to_frame: Mapping, zoom: float, width: int, height: int,
                  size: tuple[int, int] | None = None) -> list[int]:
        """Where the mouth is in the frame (what the sync check differences). ``size``: the box's (width, height)
        in pixels, kept the same through a camera move so consecutive frames compare."""
        mx, my = to_frame(*self.mouth)
        bw, bh = size or (int(self.mouth_w * zoom * 1.4) + 1, int(self.r * zoom * 0.52) + 1)
        x0 = min(max(0, int(round(mx - bw / 2))), max(0, width - bw))
        y0 = min(max(0, int(round(my - bh / 2))), max(0, height - bh))
        return [x0, y0, min(width, x0 + bw), min(height, y0 + bh)]

    def features(self) -> tuple[float, float, float, float]:
        """Panel-space box of everything ``Performance.draw`` changes on this face (mouth open, eyes closed), and of
        its ``mouth_box``: the least a patch must cover."""
        xs, ys = [x for x, _ in self.eyes], [y for _, y in self.eyes]
        (mx, my), e, half = self.mouth, self.eye_r * 1.7, self.mouth_w * 0.7
        return (min(min(xs) - e, mx - half), min(min(ys) - e, my - self.r * 0.26),
                max(max(xs) + e, mx + half), max(max(ys) + e, my + self.r * 0.26))

    def region(self, pad: float = 1.15) -> tuple[float, float, float, float]:
        """Panel-space box holding the eyes and the mouth (all the animatic redraws)."""
        top = min(y for _, y in self.eyes) - self.eye_r * 2.5
        return self.cx - self.r * pad, top, self.cx + self.r * pad, self.mouth[1] + self.r * 0.32


def load_faces(keyframe: Artifact, width: int, height: int) -> list[Face]:
    """The faces a panel drew (scaled to the clip's size); none for a keyframe without ``faces.json``."""
    if not keyframe.has("faces"):
        return []
    data = json.loads(Path(keyframe.file("faces")).read_text())
    sx, sy = width / max(1, data.get("width", width)), height / max(1, data.get("height", height))
    s = (sx + sy) / 2
    out = []
    for f in data.get("faces", []):
        if f.get("back"):
            continue
        out.append(Face(f["id"], f["head"][0] * sx, f["head"][1] * sy, f["head"][2] * s,
                        (f["mouth"][0] * sx, f["mouth"][1] * sy), f["mouth_w"] * s,
                        tuple((x * sx, y * sy) for x, y in f["eyes"]), f["eye_r"] * s, tuple(f["skin"]),
                        tuple(f["lips"])))
    return out


class Performance:
    """Per frame: each face's mouth opening (0..1) and whether its eyes are closed."""

    def __init__(self, faces: list[Face], req: ClipRequest):
        from director.media.audio import read_wav

        self.faces = faces
        n, fps = req.frames, req.fps
        self.opening: dict[str, np.ndarray] = {}
        line_ends: list[tuple[str, float]] = []
        energy: dict[str, np.ndarray] = {}
        for span in req.speech:
            samples, rate = read_wav(span.audio.file("audio"))
            line_ends.append((span.who, span.offset + len(samples) / rate))
            if span.who in req.talking:
                env = energy_envelope(samples, rate, fps, n, span.offset)
                energy[span.who] = np.maximum(energy.get(span.who, np.zeros(n, np.float32)), env)
        ids = {f.id for f in faces}
        self._energy = energy
        for who, env in energy.items():
            if who not in ids:
                continue
            voiced = env[env > 1e-4]
            ref = float(np.percentile(voiced, 90)) if len(voiced) else 1.0
            opening = np.clip(env / max(ref, 1e-6), 0.0, 1.0) ** 0.7
            opening[opening < 0.08] = 0.0
            self.opening[who] = opening.astype(np.float32)
        self.blinks: dict[str, np.ndarray] = {}
        closed = max(2, round(0.12 * fps))
        for face in faces:
            blink = np.zeros(n, bool)
            rng = random.Random(f"{req.seed}:{face.id}")
            t = rng.uniform(0.4, 2.5)
            starts = []
            while t < n / fps:
                starts.append(t)
                t += rng.uniform(2.2, 5.0)
            starts += [end + 0.15 for who, end in line_ends if who != face.id]  # a listener reacts
            for t in starts:
                k = int(t * fps)
                blink[max(0, k):min(n, k + closed)] = True
            self.blinks[face.id] = blink

    def energy(self, who: str) -> np.ndarray:
        """The RMS of ``who``'s voice per frame (zeros where they are silent)."""
        return self._energy[who]

    def active(self, k: int) -> bool:
        """Whether anything differs from the drawn panel at frame ``k``."""
        return any(o[k] > 0 for o in self.opening.values()) or any(b[k] for b in self.blinks.values())

    def draw(self, draw, k: int, to_frame: Mapping, zoom: float, offset: tuple[int, int] = (0, 0)) -> None:
        """Draw frame ``k``'s mouths and closed eyes; ``to_frame`` places panel points, ``offset`` is the
        top-left of the patch being drawn on."""
        ox, oy = offset
        for face in self.faces:
            opening = float(self.opening[face.id][k]) if face.id in self.opening else 0.0
            r = face.r * zoom
            if opening > 0:
                mx, my = to_frame(*face.mouth)
                mx, my = mx - ox, my - oy
                w = face.mouth_w * zoom
                draw.ellipse([mx - w * 0.62, my - r * 0.24, mx + w * 0.62, my + r * 0.24], fill=face.skin)
                h = max(1.5, opening * r * 0.38)
                half = w * 0.5 * (1 - 0.15 * opening)
                draw.ellipse([mx - half, my - h / 2, mx + half, my + h / 2], fill=MOUTH_DARK,
                             outline=face.lips, width=max(1, int(r * 0.05)))
            if self.blinks[face.id][k]:
                e = face.eye_r * zoom
                for ex, ey in face.eyes:
                    ex, ey = to_frame(ex, ey)
                    ex, ey = ex - ox, ey - oy
                    draw.ellipse([ex - e * 1.7, ey - e * 1.7, ex + e * 1.7, ey + e * 1.7], fill=face.skin)
                    draw.line([(ex - e * 1.4, ey + e * 0.3), (ex + e * 1.4, ey + e * 0.3)], fill=EYE_DARK,
                              width=max(1, int(e * 0.6)))
