"""Neural music with diffusers' ``StableAudioPipeline`` (Stable Audio Open 1.0 by default).

Each cue's mood and intensity become the text prompt, the cue's span its length. The model writes
at most ``max_seconds`` per pass (47.55 s for Stable Audio Open); a longer cue repeats the
generated piece's body (after its first quarter) with equal-power crossfades, so long scenes get
a seamless loopable tail instead of silence or a hard restart. The mix stage crossfades cue changes.

The weights are under the Stability AI Community License: free for commercial use below the
revenue cap the license states, so ``director models`` marks them "conditional".
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from director.backends.diffusion import common
from director.backends.preview.music import MOODS, resolve_mood
from director.backends.types import AudioResult, MusicRequest
from director.errors import StageFailed
from director.store import steps

# What each mood sounds like, in words a text-to-music model was trained on.
MOOD_WORDS = {
    "tense": "tense suspenseful underscore, low strings ostinato, pulsing synth bass, minor key",
    "sad": "melancholic slow piano and cello, minor key, sparse and emotional",
    "romantic": "romantic warm strings and soft piano, major key, gentle and tender",
    "happy": "upbeat playful pop orchestral, plucked strings, light percussion, major key",
    "mysterious": "mysterious dark ambient, phrygian mode, airy pads, distant bells",
    "action": "driving action score, fast percussion, staccato brass and strings",
    "calm": "calm ambient pads, soft piano, peaceful and slow",
    "epic": "epic cinematic orchestral, big drums, brass swells, minor key",
    "hopeful": "hopeful uplifting strings and piano, major key, gradual build",
}


def music_prompt(mood: str, intensity: float, style: str) -> tuple[str, str | None]:
    """(prompt, note): the cue's own mood word first, then the known mood's description."""
    known, note = resolve_mood(mood)
    level = "very soft, minimal" if intensity < 0.25 else "soft" if intensity < 0.5 else \
        "full, strong" if intensity < 0.8 else "intense, loud, climactic"
    words = MOOD_WORDS[known]
    lead = mood.strip() if mood.strip().lower() != known else ""
    prompt = ", ".join(p for p in (lead, words, level, f"{MOODS[known].bpm} BPM", style,
                                   "instrumental, no vocals") if p)
    return prompt, note


class StableAudioConfig(common.DiffusersConfig):
    name: ClassVar[str] = "stable-audio"
    kind: ClassVar[str] = "music"
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "Stability AI Community License (Stable Audio Open weights)"
    requires: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "transformers", "torchsde")
    pipeline_class: ClassVar[str] = "StableAudioPipeline"
    default_model: ClassVar[str] = "stabilityai/stable-audio-open-1.0"
    target: ClassVar[str] = "director.backends.diffusion.music:StableAudioBackend"

    steps: int = Field(default=100, ge=1, le=500)
    guidance: float = Field(default=7.0, ge=0, le=30)
    style: str = Field(default="cinematic film score for a short drama", description="added to every prompt")
    negative_prompt: str = "vocals, singing, speech, low quality, distorted, noise, clipping"
    loop_crossfade: float = Field(default=2.0, ge=0.05, le=10, description="seconds of crossfade where a long cue loops")
    quantum_seconds: float = Field(default=2.0, ge=0.1, le=30,
                                   description="cue lengths round up to this, so small timing edits reuse the cue")

    def quantum(self, mood: str) -> float:
        return self.quantum_seconds


class StableAudioBackend:
    def __init__(self, config: StableAudioConfig):
        self.config = config
        self.lock = threading.Lock()
        self.pipe = common.load_pipeline(config)
        self.sample_rate = int(self.pipe.vae.config.sampling_rate)
        self.channels = int(self.pipe.vae.config.audio_channels)
        self.max_seconds = (self.pipe.transformer.config.sample_size * self.pipe.vae.hop_length / self.sample_rate)

    def compose(self, req: MusicRequest, out: Path) -> AudioResult:
        import numpy as np

        from director.media.audio import fade, write_wav

        prompt, note = music_prompt(req.mood, req.intensity, self.config.style)
        notes = [note] if note else []
        n = int(round(req.seconds * self.sample_rate))
        span = min(req.seconds, self.max_seconds)
        with self.lock, warnings.catch_warnings():
            # torchsde's Brownian tree warns on float rounding at the schedule's ends; harmless, and noisy
            warnings.filterwarnings("ignore", message="Should have", category=UserWarning)
            audio = common.with_oom_retry(self.pipe, self.config, lambda: self.pipe(
                prompt, negative_prompt=self.config.negative_prompt, audio_end_in_s=span,
                num_inference_steps=self.config.steps, guidance_scale=self.config.guidance,
                generator=common.generator(self.pipe, req.seed), output_type="np", callback_steps=1,
                callback=lambda i, t, latents: steps.report((i + 1) / self.config.steps)).audios[0],
                f"music {req.mood!r}")
        steps.gpu_done()
        piece = np.asarray(audio, dtype=np.float32).T  # (samples, channels)
        if not np.isfinite(piece).all() or float(np.abs(piece).max()) <= 1e-4:
            raise StageFailed(f"the music model produced silence for the {req.mood!r} cue (check the weights)")
        if len(piece) < n:
            piece = loop_to(piece, n, int(self.config.loop_crossfade * self.sample_rate))
            notes.append(f"generated {span:.1f} s, looped to {req.seconds:.1f} s (the model's limit is "
                         f"{self.max_seconds:.1f} s per pass)")
        piece = piece[:n]
        peak = float(np.abs(piece).max())
        piece = piece * (0.89 / peak) if peak > 0.89 else piece
        piece = fade(piece, self.sample_rate, 0.05, 0.6)
        path = out / "music.wav"
        write_wav(path, piece, self.sample_rate)
        return AudioResult(str(path), self.sample_rate, piece.shape[1], len(piece) / self.sample_rate, tuple(notes),
                           {"prompt": prompt, "generated_seconds": round(span, 3)})


def loop_to(piece, n: int, crossfade: int):
    """Extend ``piece`` to ``n`` samples by repeating its body (after the first quarter, which is often an
    intro) with equal-power crossfades at each join: a loopable tail with no click and no gap."""
    import numpy as np
    body = piece[len(piece) // 4:]
    crossfade = max(1, min(crossfade, len(body) // 2))
    t = np.linspace(0, np.pi / 2, crossfade, dtype=np.float32)[:, None]
    fade_out, fade_in = np.cos(t), np.sin(t)
    out = piece
    while len(out) < n:
        joined = out[-crossfade:] * fade_out + body[:crossfade] * fade_in
        out = np.concatenate([out[:-crossfade], joined, body[crossfade:]])
    return out[:n]
