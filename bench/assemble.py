"""Assembly: director's assembler against a straightforward moviepy 2 pipeline, paired in one run.

Inputs are made once: N clips of 1080x1920 at 24 fps (H.264), a mixed stereo track and
subtitles. Both sides produce an H.264/AAC MP4 with burned-in subtitles; both outputs are
probed for the same duration and streams. `python -m bench assemble --full` runs the
brief's full size (20 clips, 60 s) once; the default (20 clips, 5 s) fits `make bench`'s budget.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import WORK, save, summary, table
from director.media.audio import write_wav
from director.media.ffmpeg import run_ffmpeg
from director.media.fonts import font_path
from director.media.probe import probe
from director.project import EncodeConfig
from director.stages.assemble import assemble
from director.stages.subtitles import layout, write_subtitles

W, H, FPS, CLIPS = 1080, 1920, 24, 20


def make_inputs(folder: Path, seconds: float) -> tuple[list[Path], list[int], Path, Path, Path]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    frames = [round(seconds * FPS / CLIPS)] * CLIPS
    clips = []
    for i, n in enumerate(frames):
        path = folder / f"clip{i:02d}.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}", "-vf", f"hue=h={i * 18}",
                    "-frames:v", str(n), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], "making benchmark clips")
        clips.append(path)
    total = sum(frames) / FPS
    rate = 48000
    t = np.arange(int(total * rate)) / rate
    audio = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    write_wav(folder / "mix.wav", np.stack([audio, audio], axis=1), rate)
    cues = []
    for i in range(CLIPS):
        start = sum(frames[:i]) / FPS
        cues += layout(f"Line number {i + 1}: nobody leaves this room.", start + 0.05, start + frames[i] / FPS - 0.05,
                       W, H, 0.034, 2)
    write_subtitles(cues, W, H, 0.034, folder / "subs.srt", folder / "subs.ass")
    return clips, frames, folder / "mix.wav", folder / "subs.ass", folder / "subs.srt"


def director_assemble(clips, frames, audio, ass, out: Path) -> float:
    start = time.perf_counter()
    assemble(clips, frames, ["cut"] * len(clips), FPS, audio, ass, EncodeConfig(), out)
    return time.perf_counter() - start


def moviepy_assemble(clips, srt: Path, audio: Path, out: Path) -> float:
    """What a user would write with moviepy 2: concatenate, composite subtitle text, set audio, write."""
    import pysubs2
    from moviepy import AudioFileClip, CompositeVideoClip, TextClip, VideoFileClip, concatenate_videoclips

    start = time.perf_counter()
    video = concatenate_videoclips([VideoFileClip(str(c)) for c in clips])
    texts = [TextClip(font=str(font_path()), text=e.plaintext, font_size=round(H * 0.034), color="white",
                      stroke_color="black", stroke_width=3, method="caption", size=(int(W * 0.84), None))
             .with_start(e.start / 1000).with_duration((e.end - e.start) / 1000).with_position(("center", int(H * 0.7)))
             for e in pysubs2.load(str(srt))]
    final = CompositeVideoClip([video, *texts]).with_audio(AudioFileClip(str(audio)))
    final.write_videofile(str(out), fps=FPS, codec="libx264", audio_codec="aac", logger=None)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    full = "--full" in (argv if argv is not None else sys.argv[1:])
    seconds, runs = (60.0, 1) if full else (5.0, 5)
    folder = WORK / "assemble"
    clips, frames, audio, ass, srt = make_inputs(folder, seconds)
    ours, theirs, ratios = [], [], []
    director_assemble(clips, frames, audio, ass, folder / "warm.mp4")  # warm-up (file cache, imports)
    for _ in range(runs):
        a = director_assemble(clips, frames, audio, ass, folder / "director.mp4")
        b = moviepy_assemble(clips, srt, audio, folder / "moviepy.mp4")
        ours.append(a)
        theirs.append(b)
        ratios.append(b / a)
    p1, p2 = probe(folder / "director.mp4"), probe(folder / "moviepy.mp4")
    same = {"duration": (p1["video"]["duration"], p2["video"]["duration"]),
            "video": (p1["video"]["codec"], p2["video"]["codec"]), "audio": (p1["audio"]["codec"], p2["audio"]["codec"]),
            "size": ((p1["video"]["width"], p1["video"]["height"]), (p2["video"]["width"], p2["video"]["height"]))}
    checks = {"same_duration": abs(same["duration"][0] - same["duration"][1]) <= 1 / FPS + 1e-3,
              "same_streams": same["video"][0] == same["video"][1] and same["audio"][0] == same["audio"][1],
              "same_size": same["size"][0] == same["size"][1]}
    data = {"episode_seconds": seconds, "clips": CLIPS, "size": [W, H], "fps": FPS, "runs": runs,
            "director": summary(ours), "moviepy": summary(theirs), "moviepy_over_director": summary(ratios),
            "outputs": same, "checks": checks,
            "budget": {"faster_than_moviepy": statistics.median(ratios) > 1}}
    rows = [["director (one ffmpeg graph)", data["director"]["median"], data["director"]["min"], runs],
            ["moviepy 2 (concatenate + TextClip + write_videofile)", data["moviepy"]["median"], data["moviepy"]["min"],
             runs]]
    md = table(["assembler", "median s", "min s", "runs"], rows)
    md += (f"\n\nmoviepy / director, paired: median {data['moviepy_over_director']['median']:.2f}x "
           f"(min {data['moviepy_over_director']['min']:.2f}x) for a {seconds:g} s {W}x{H} episode of {CLIPS} clips; "
           f"outputs: {checks}")
    save("assemble-full" if full else "assemble", data, md)


if __name__ == "__main__":
    main()
