"""The animatic's engines, paired: ms per frame of the ffmpeg engine (the camera move performed by a filter
graph inside the encode, Python piping only the faces' patches) against the Pillow engine (every frame drawn
in Python, the engine before it) in the same run.

A two-character MCU panel at 1080x1920, 24 fps, 4 s (96 frames), one character speaking a line of
syllable-like audio. Each clip is rendered by the real ``AnimaticBackend``, once per engine, for a static shot,
a dolly-in and an orbit (parallax: figures and background move apart), a pan and a handheld shot (the picture
moves as one; handheld rolls), each with the panel's faces (mouths follow the voice, eyes blink) and with the
faces removed from the keyframe (what a shot with nobody talking draws). Interleaved, median of 3; the ratio is
the median of the paired new/old ratios. Writes bench/results/animatic.json.

The ffmpeg engine's clip is a recipe (``media.source``) that a render runs inside each segment's encode; here it
is encoded to a clip file (``clip_file``, the backend's own CRF and preset), so both engines are timed from the
layers to an encoded clip.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import save, table

WIDTH, HEIGHT, FPS, SECONDS = 1080, 1920, 24.0, 4.0


def _setup(root: Path):
    from director.backends.preview.panel import PanelBackend, PanelConfig
    from director.backends.types import Artifact, FigureSpec, FrameRequest, SpeechSpan
    from director.media.audio import write_wav

    panel = root / "panel"
    panel.mkdir()
    figures = (FigureSpec("ren", "Ren", "tall man in a grey suit"), FigureSpec("mia", "Mia", "yellow raincoat"))
    req = FrameRequest(shot_id="bench", size="MCU", angle="eye-level", width=WIDTH, height=HEIGHT, prompt="",
                       caption="Ren: You're late.", location_id="office", location="dim office", time="night",
                       look="", negative="", seed=1, figures=figures)
    made = PanelBackend(PanelConfig()).render(req, panel)
    with_faces = Artifact("keyframes", "k1", str(panel), dict(made.files))
    without = Artifact("keyframes", "k0", str(panel), {k: v for k, v in made.files.items() if k != "faces"})
    rate = 22050
    rng = np.random.default_rng(0)
    audio = np.zeros(int(3.0 * rate), np.float32)
    t = 0.1
    while t < 2.8:
        n = int(rng.uniform(0.08, 0.25) * rate)
        a = int(t * rate)
        audio[a:a + n] = 0.5 * np.sin(2 * np.pi * 180 * np.arange(n) / rate)[: len(audio) - a] * np.hanning(n)[
            : len(audio) - a]
        t += n / rate + rng.uniform(0.03, 0.3)
    voice = root / "voice"
    voice.mkdir()
    write_wav(voice / "line.wav", audio, rate)
    speech = (SpeechSpan("ren", 0.4, Artifact("voice", "v1", str(voice), {"audio": "line.wav"})),)
    return with_faces, without, speech


def _render(keyframe, speech, move: str, engine: str, out: Path) -> float:
    from director.backends.preview.animatic import AnimaticBackend, AnimaticConfig
    from director.backends.types import ClipRequest

    out.mkdir(parents=True, exist_ok=True)
    req = ClipRequest(shot_id="bench", keyframe=keyframe, move=move, width=WIDTH, height=HEIGHT, fps=FPS,
                      frames=int(SECONDS * FPS), seed=3, talking=("ren",), speech=speech)
    from director.media.source import clip_file

    started = time.perf_counter()
    AnimaticBackend(AnimaticConfig(engine=engine)).render(req, out)
    clip_file(out)  # the ffmpeg engine's clip is a recipe: encoded here as a clip file, to compare like with like
    return time.perf_counter() - started


MOVES = ("static", "dolly-in", "pan-left", "handheld", "orbit")
TARGETS = {"static": 5.0}  # ms per frame, ffmpeg engine; any moving shot: 12 (faces included)


def main() -> None:
    frames = int(SECONDS * FPS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        living, still, speech = _setup(root)
        for move in MOVES:
            for faces, keyframe in (("no", still), ("yes", living)):
                times: dict[str, list[float]] = {"pillow": [], "ffmpeg": []}
                for i in range(3):  # interleaved: drift on a shared machine hits both alike
                    for engine in times:
                        times[engine].append(_render(keyframe, speech, move, engine,
                                                     root / f"{move}-{faces}-{engine}-{i}"))
                old = statistics.median(times["pillow"]) / frames * 1000
                new = statistics.median(times["ffmpeg"]) / frames * 1000
                ratio = statistics.median(n / o for n, o in zip(times["ffmpeg"], times["pillow"]))
                target = TARGETS.get(move, 12.0)
                rows.append({"move": move, "faces": faces == "yes", "frames": frames,
                             "pillow_ms_per_frame": round(old, 2), "ffmpeg_ms_per_frame": round(new, 2),
                             "ratio": round(ratio, 3), "target_ms_per_frame": target, "met": new <= target})
    new_ms = {(r["move"], r["faces"]): r["ffmpeg_ms_per_frame"] for r in rows}
    lines = [f"talking MCU two-shot, {WIDTH}x{HEIGHT} @ {FPS:g} fps, {frames} frames, x264 ultrafast: ms per frame of "
             "a whole clip (layers read, frames drawn and encoded), median of 3, interleaved", "",
             table(["move", "faces", "pillow (old)", "ffmpeg (new)", "new / old", "target", "met"],
                   [[r["move"], "yes" if r["faces"] else "no", f"{r['pillow_ms_per_frame']:.2f}",
                     f"{r['ffmpeg_ms_per_frame']:.2f}", f"{r['ratio']:.3f}", f"<= {r['target_ms_per_frame']:g}",
                     "yes" if r["met"] else "no"] for r in rows]), "",
             "targets (issue: speed on the CPU, a faster animatic): static <= 5 ms/frame, moving <= 12 ms/frame "
             "including faces; new / old is the median of the paired ratios",
             "faces / no faces, ffmpeg engine (issue 18 asked <= 1.2 of the Pillow engine): "
             + ", ".join(f"{m} {new_ms[m, True] / new_ms[m, False]:.2f}" for m in MOVES)]
    save("animatic", {"width": WIDTH, "height": HEIGHT, "fps": FPS, "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
