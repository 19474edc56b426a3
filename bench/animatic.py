"""The living animatic's cost: time per frame of a talking shot against the same shot drawn still.

A two-character MCU panel at 1080x1920, 24 fps, 4 s (96 frames), one character speaking a line of
syllable-like audio. Each clip is rendered by the real ``AnimaticBackend``: once with the panel's
faces (mouths follow the voice, eyes blink: today's animatic) and once with the faces removed
from the keyframe (what the animatic drew before talking shots: the same code path a shot with
nobody in it takes), for a static shot (patches only the face regions) and a dolly-in (features
drawn over each moved frame). Paired, interleaved, median of 3. Writes bench/results/animatic.json.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import save

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


def _render(keyframe, speech, move: str, out: Path) -> float:
    from director.backends.preview.animatic import AnimaticBackend, AnimaticConfig
    from director.backends.types import ClipRequest

    out.mkdir(parents=True, exist_ok=True)
    req = ClipRequest(shot_id="bench", keyframe=keyframe, move=move, width=WIDTH, height=HEIGHT, fps=FPS,
                      frames=int(SECONDS * FPS), seed=3, talking=("ren",), speech=speech)
    started = time.perf_counter()
    AnimaticBackend(AnimaticConfig()).render(req, out)
    return time.perf_counter() - started


def main() -> None:
    frames = int(SECONDS * FPS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        living, still, speech = _setup(root)
        for move in ("static", "dolly-in"):
            times: dict[str, list[float]] = {"still": [], "living": []}
            for i in range(3):  # interleaved: drift on a shared machine hits both alike
                times["still"].append(_render(still, speech, move, root / f"{move}-still-{i}"))
                times["living"].append(_render(living, speech, move, root / f"{move}-living-{i}"))
            still_ms = statistics.median(times["still"]) / frames * 1000
            living_ms = statistics.median(times["living"]) / frames * 1000
            rows.append({"move": move, "frames": frames, "still_ms_per_frame": round(still_ms, 2),
                         "living_ms_per_frame": round(living_ms, 2), "ratio": round(living_ms / still_ms, 3)})
    lines = [f"talking MCU two-shot, {WIDTH}x{HEIGHT} @ {FPS:g} fps, {frames} frames (drawing + x264 ultrafast encode)",
             f"{'move':>9} {'still ms/frame':>15} {'living ms/frame':>16} {'ratio':>6}"]
    lines += [f"{r['move']:>9} {r['still_ms_per_frame']:>15.2f} {r['living_ms_per_frame']:>16.2f} {r['ratio']:>6.3f}"
              for r in rows]
    lines.append("target (issue 18): living / still <= 1.2")
    save("animatic", {"width": WIDTH, "height": HEIGHT, "fps": FPS, "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
