"""Preview clips: an animatic of the storyboard panel that performs the shot's camera move.

Pan, tilt, dolly/zoom, truck, crane, orbit (a parallax approximation: foreground and
background layers move against each other) and handheld shake, at the project's fps for
exactly the requested number of frames. The panel's header stays fixed, like a slate.

The characters live: a speaker's mouth opens with the energy of their own voice (frame by frame
RMS of the line's recording, where the line plays in the shot), every face blinks at natural,
seeded intervals, and a listener blinks as a line ends. The panel says where each face is
(``faces.json``); mouths and eyes are redrawn over the moved frame, and a static shot patches
only the face regions of one still frame, so a living shot costs about what a still one did.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, ImageDraw

from director.backends import BackendConfig
from director.backends.types import ClipRequest, Made
from director.media.ffmpeg import FrameWriter
from director.backends.preview.faces import Performance, load_faces
from director.media.lipsync import score
from director.store.files import write_json


@dataclass(frozen=True)
class Cam:
    """Where the camera is at one moment: zoom and offset (share of the frame) per layer."""

    zoom: float = 1.0
    x: float = 0.0
    y: float = 0.0
    rot: float = 0.0
    fg_zoom: float | None = None
    fg_x: float | None = None
    fg_y: float | None = None


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def camera(move: str, t: float, rng_phase: tuple[float, ...] = (0.0,) * 6) -> Cam:
    """The camera at time ``t`` in [0, 1] for a move."""
    e = _ease(t)
    if move == "zoom-in":
        return Cam(zoom=1.0 + 0.18 * e)
    if move == "zoom-out":
        return Cam(zoom=1.18 - 0.18 * e)
    if move == "dolly-in":  # perspective: the subject grows faster than the room
        return Cam(zoom=1.0 + 0.1 * e, fg_zoom=1.0 + 0.22 * e)
    if move == "dolly-out":
        return Cam(zoom=1.1 - 0.1 * e, fg_zoom=1.22 - 0.22 * e)
    if move in ("pan-left", "pan-right"):
        sign = -1 if move == "pan-left" else 1
        return Cam(zoom=1.16, x=sign * (-0.06 + 0.12 * e))
    if move in ("tilt-up", "tilt-down"):
        sign = -1 if move == "tilt-up" else 1
        return Cam(zoom=1.16, y=sign * (-0.06 + 0.12 * e))
    if move in ("truck-left", "truck-right"):
        sign = -1 if move == "truck-left" else 1
        return Cam(zoom=1.14, x=sign * (-0.03 + 0.06 * e), fg_zoom=1.14, fg_x=sign * (-0.07 + 0.14 * e))
    if move in ("crane-up", "crane-down"):
        sign = -1 if move == "crane-up" else 1
        return Cam(zoom=1.14 + 0.04 * e, y=sign * (-0.03 + 0.06 * e), fg_zoom=1.14 + 0.04 * e,
                   fg_y=sign * (-0.07 + 0.14 * e))
    if move == "orbit":  # background slides one way, subject the other
        return Cam(zoom=1.15, x=0.06 - 0.12 * e, fg_zoom=1.15, fg_x=-0.05 + 0.1 * e)
    if move == "handheld":
        a, b, c, d, f, g = rng_phase
        sx = 0.006 * (math.sin(2 * math.pi * (1.3 * t * 4 + a)) + 0.5 * math.sin(2 * math.pi * (3.1 * t * 4 + b)))
        sy = 0.006 * (math.sin(2 * math.pi * (1.1 * t * 4 + c)) + 0.5 * math.sin(2 * math.pi * (2.7 * t * 4 + d)))
        rot = 0.5 * math.sin(2 * math.pi * (0.9 * t * 4 + f)) + 0.2 * math.sin(2 * math.pi * (2.3 * t * 4 + g))
        return Cam(zoom=1.07, x=sx, y=sy, rot=rot)
    return Cam()


def _transform(img: Image.Image, zoom: float, x: float, y: float, rot: float) -> Image.Image:
    w, h = img.size
    cx, cy = w / 2, h / 2
    cos, sin = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    a, b = cos / zoom, sin / zoom
    d, e = -sin / zoom, cos / zoom
    ox, oy = cx + x * w, cy + y * h
    coeffs = (a, b, ox - a * cx - b * cy, d, e, oy - d * cx - e * cy)
    return img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR)


def _forward(width: int, height: int, zoom: float, x: float, y: float, rot: float):
    """Where ``_transform`` with these settings puts a point of its source: the map panel -> frame."""
    cx, cy = width / 2, height / 2
    ox, oy = cx + x * width, cy + y * height
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))

    def to_frame(px: float, py: float) -> tuple[float, float]:
        dx, dy = px - ox, py - oy
        return cx + zoom * (c * dx - s * dy), cy + zoom * (s * dx + c * dy)

    return to_frame


def _box(region, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    return max(0, int(x0)), max(0, int(y0)), min(width, int(x1) + 1), min(height, int(y1) + 1)


def _ordered_map(fn, items, threads: int):
    """fn over items on a few threads, results in order, at most 2x threads frames in flight."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * max(1, threads):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class AnimaticConfig(BackendConfig):
    name: ClassVar[str] = "preview-animatic"
    kind: ClassVar[str] = "video"
    version: ClassVar[str] = "3"  # 2: frames drawn on all cores, layers pasted in place; 3: talking faces
    uses_speech: ClassVar[bool] = True
    reacts_to_speech: ClassVar[bool] = True  # listeners blink when a line ends, in any shot
    license: ClassVar[str] = "Apache-2.0 (director's own code; frames encoded by ffmpeg run as a separate program)"
    target: ClassVar[str] = "director.backends.preview.animatic:AnimaticBackend"

    crf: int = 17
    preset: str = "ultrafast"
    threads: int = 2


class AnimaticBackend:
    def __init__(self, config: AnimaticConfig):
        self.config = config

    def render(self, req: ClipRequest, out: Path) -> Made:
        src = req.keyframe  # a panel's layers move apart (parallax); any other keyframe moves as one picture
        layered = src.has("background") and src.has("foreground")
        key = Image.open(src.file("image")).convert("RGB")
        if key.size != (req.width, req.height):
            key = key.resize((req.width, req.height), Image.LANCZOS)
        bg = fg = header = None
        if layered:
            bg = Image.open(src.file("background")).convert("RGB")
            fg = Image.open(src.file("foreground")).convert("RGBA")
            if src.has("header"):
                header = Image.open(src.file("header")).convert("RGBA")
        rng = random.Random(req.seed)
        phase = tuple(rng.random() for _ in range(6))
        parallax = layered and camera(req.move, 0.5, phase).fg_zoom is not None
        flat = key
        if layered and not parallax:  # one layer moves: composite once, move once
            flat = Image.alpha_composite(bg.convert("RGBA"), fg).convert("RGB")
        band = header.getbbox() if header is not None else None
        band_img = header.crop(band) if band else None
        faces = load_faces(src, req.width, req.height) if layered else []
        performance = Performance(faces, req) if faces else None
        talkers = [f for f in faces if performance is not None and f.id in performance.opening]
        boxes: dict[str, list[list[int]]] = {f.id: [] for f in faces}
        motion: dict[str, list[float]] = {f.id: [] for f in talkers}

        def placed(i: int):
            """The frame's camera as a map from panel points to frame points (the figures' layer)."""
            cam = camera(req.move, i / max(1, req.frames - 1), phase)
            if parallax:
                zoom = cam.fg_zoom or cam.zoom
                x = cam.fg_x if cam.fg_x is not None else cam.x
                y = cam.fg_y if cam.fg_y is not None else cam.y
            else:
                zoom, x, y = cam.zoom, cam.x, cam.y
            return _forward(req.width, req.height, zoom, x, y, cam.rot), zoom

        def compose(i: int) -> Image.Image:
            cam = camera(req.move, i / max(1, req.frames - 1), phase)
            if parallax:
                frame = _transform(bg, cam.zoom, cam.x, cam.y, cam.rot)
                front = _transform(fg, cam.fg_zoom or cam.zoom, cam.fg_x if cam.fg_x is not None else cam.x,
                                   cam.fg_y if cam.fg_y is not None else cam.y, cam.rot)
                frame.paste(front, (0, 0), front)  # RGBA over RGB in place: no full-frame conversions
            elif req.move == "static":
                frame = flat.copy()
            else:
                frame = _transform(flat, cam.zoom, cam.x, cam.y, cam.rot)
            return frame

        def slate(frame: Image.Image) -> Image.Image:
            if band_img is not None:
                region = frame.crop(band).convert("RGBA")
                frame.paste(Image.alpha_composite(region, band_img).convert("RGB"), band[:2])
            return frame

        def draw(i: int) -> bytes:
            frame = compose(i)
            if performance is not None:
                to_frame, zoom = placed(i)
                performance.draw(ImageDraw.Draw(frame), i, to_frame, zoom)
            return slate(frame).tobytes()

        last: dict[str, np.ndarray] = {}
        sizes: dict[str, tuple[int, int]] = {}

        def measure(i: int, pixels: np.ndarray) -> None:
            """Mouth boxes and mouth motion of the frame as written (the sync score's inputs)."""
            to_frame, zoom = placed(i)
            for face in faces:
                if face.id not in sizes:  # one box size through the shot: a moving camera still compares
                    first = face.mouth_box(*placed(0), req.width, req.height)
                    sizes[face.id] = (first[2] - first[0], first[3] - first[1])
                box = face.mouth_box(to_frame, zoom, req.width, req.height, sizes[face.id])
                boxes[face.id].append(box)
                if face not in talkers:
                    continue
                crop = pixels[box[1]:box[3], box[0]:box[2]].astype(np.float32).mean(axis=2)
                before = last.get(face.id)
                same = before is not None and before.shape == crop.shape and crop.size
                motion[face.id].append(float(np.abs(crop - before).mean()) if same else 0.0)
                last[face.id] = crop

        with FrameWriter(out / "clip.mp4", req.width, req.height, req.fps, self.config.crf,
                         self.config.preset) as writer:
            if req.move == "static":
                still = slate(compose(0))
                pixels = np.asarray(still).copy()  # written every frame; only face regions change
                if performance is None:
                    data = pixels.tobytes()
                    for _ in range(req.frames):
                        writer.write(data)
                else:
                    original = pixels.copy()
                    regions = [_box(f.region(), req.width, req.height) for f in faces]
                    identity = _forward(req.width, req.height, 1.0, 0.0, 0.0, 0.0)
                    for i in range(req.frames):
                        for x0, y0, x1, y1 in regions:
                            pixels[y0:y1, x0:x1] = original[y0:y1, x0:x1]
                        if performance.active(i):
                            for x0, y0, x1, y1 in regions:
                                patch = Image.fromarray(pixels[y0:y1, x0:x1])
                                performance.draw(ImageDraw.Draw(patch), i, identity, 1.0, (x0, y0))
                                pixels[y0:y1, x0:x1] = np.asarray(patch)
                        measure(i, pixels)
                        writer.write(memoryview(pixels))
            else:
                # Pillow releases the GIL while it transforms, so frames are drawn on all cores
                for i, data in enumerate(_ordered_map(draw, range(req.frames), self.config.threads)):
                    if faces:
                        measure(i, np.frombuffer(data, np.uint8).reshape(req.height, req.width, 3))
                    writer.write(data)
        report: dict = {"passes": 1}
        files = {"clip": "clip.mp4"}
        if performance is not None:
            sync = {}
            for face in talkers:
                energy = performance.energy(face.id)
                sync[face.id] = score(np.asarray(motion[face.id]), energy).as_dict()
            report["sync"] = sync
            write_json(out / "faces.json", {"fps": req.fps, "frames": req.frames, "talking": sorted(sync),
                                            "mouths": boxes, "faces": [f.id for f in faces]})
            files["faces"] = "faces.json"
        return Made(files, report=report,
                    info={"frames": req.frames, "fps": req.fps, "width": req.width, "height": req.height,
                          "move": req.move})
