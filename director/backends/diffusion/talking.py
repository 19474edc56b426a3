"""Talking shots on LTX-2: the clip is generated from the keyframe *and the shot's dialogue*.

LTX-2 is an audio-video model: its transformer denoises a video stream and an audio stream that
attend to each other. diffusers' ``LTX2DFRPipeline`` can hold the audio stream fixed
(``freeze_audio=True``: the given audio latents enter every step at sigma 0 and are never
stepped), so the video is denoised *towards* director's own voices: mouths and heads follow the
lines. The audio is encoded the way LTX-2's audio VAE was trained: 16 kHz log-mel (1024-point
STFT, hop 160, Slaney mel scale and norm, magnitude), 25 latent frames a second. Only the video
is kept; the voice stays the one director made and mixed.

``ltx2-talking`` is a video backend: shots that do not talk render as ordinary LTX-2
image-to-video (the model's own audio is thrown away). Every pass of a long shot gets the
dialogue of its own time window. After a talking clip is made its lip sync is scored
(``media/lipsync.py``) where the keyframe says where the mouths are; below ``sync_threshold`` it
is made again with the next seed, up to ``tries`` times, keeping the best.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from director.backends.diffusion import common
from director.backends.diffusion.fitting import Rules
from director.backends.diffusion.prompts import negative_prompt
from director.backends.diffusion.video import VideoBackend, VideoConfig, motion_prompt
from director.backends.types import ClipRequest, Made
from director.store import steps

AUDIO_RATE, MEL_HOP, MEL_FFT = 16000, 160, 1024  # LTX-2's audio front end (its AudioProcessor)


class LTX2TalkingConfig(VideoConfig):
    name: ClassVar[str] = "ltx2-talking"
    version: ClassVar[str] = "2"  # passes planned from the frames shown (was one frame more)
    license: ClassVar[str] = "LTX-2.x Community License (weights; free below a revenue threshold, read the terms)"
    target: ClassVar[str] = "director.backends.diffusion.talking:LTX2TalkingBackend"
    pipeline_class: ClassVar[str] = "LTX2DFRPipeline"
    default_model: ClassVar[str] = "Lightricks/LTX-2.5-Diffusers"
    rules: ClassVar[Rules] = Rules(step=8, fps=24, max_frames=241, min_frames=9, multiple=32, side=925)  # 704x1248 at 9:16
    uses_speech: ClassVar[bool] = True

    # LTX2DFRPipeline (diffusers 0.42) takes neither: it always steps through its 8 distilled sigmas, with no CFG;
    # ``steps`` only sizes the progress bar
    steps: int = Field(default=8, description="the distilled schedule's length, for the progress bar (the pipeline "
                       "always takes its 8 steps)")
    guidance: float = Field(default=1.0, description="not used: the distilled pipeline has no classifier-free guidance")
    sync_threshold: float = Field(default=0.5, ge=0, le=1, description="lip-sync score below which a talking "
                                  "clip is made again with the next seed")
    tries: int = Field(default=2, ge=1, le=5, description="attempts per talking clip (the best is kept)")


def mel_filters(rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular mel filters (n_mels x n_fft//2+1), as librosa/torchaudio make."""
    fmax = rate / 2 if fmax is None else fmax

    def to_mel(f):
        f = np.asarray(f, np.float64)
        return np.where(f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4))

    def to_hz(m):
        m = np.asarray(m, np.float64)
        return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    hz = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    lower = (freqs[None, :] - hz[:-2, None]) / (hz[1:-1] - hz[:-2])[:, None]
    upper = (hz[2:, None] - freqs[None, :]) / (hz[2:] - hz[1:-1])[:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return (weights * (2.0 / (hz[2:] - hz[:-2]))[:, None]).astype(np.float32)


def log_mel(wave: np.ndarray, n_mels: int, rate: int = AUDIO_RATE, hop: int = MEL_HOP, n_fft: int = MEL_FFT):
    """(1, 2, frames, n_mels) log-mel of a mono 16 kHz waveform, both channels the same (the VAE is stereo)."""
    import torch

    x = torch.as_tensor(np.asarray(wave, np.float32))
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=torch.hann_window(n_fft), center=True,
                      pad_mode="reflect", return_complex=True).abs()  # (freq, frames)
    mel = torch.as_tensor(mel_filters(rate, n_fft, n_mels)) @ spec
    logged = torch.log(torch.clamp(mel, min=1e-5)).T  # (frames, mels)
    return logged[None, None].expand(1, 2, -1, -1).contiguous()


def dialogue(req: ClipRequest, rate: int = AUDIO_RATE) -> np.ndarray:
    """Every line of the clip mixed into one mono track at ``rate``, placed at its offset, clip-long."""
    from director.media.audio import read_wav, resample

    out = np.zeros(int(round(req.frames / req.fps * rate)) + 1, np.float32)
    for span in req.speech:
        data, sr = read_wav(span.audio.file("audio"))
        data = resample(data if data.ndim == 1 else data.mean(axis=1), sr, rate)
        at = int(round(span.offset * rate))
        skip = max(0, -at)  # a line that began before the cut (a J-cut): its rest
        at = max(0, at)
        end = min(len(out), at + len(data) - skip)
        if end > at:
            out[at:end] += data[skip: skip + end - at]
    return out


class LTX2TalkingBackend(VideoBackend):
    def audio_latents(self, audio: np.ndarray, start_frame: int, frames: int):
        """The dialogue of one pass's window as the raw latents its canvas needs (the pipeline normalises)."""
        import torch
        from diffusers.pipelines.ltx2.dfr_layout import resolve_canvas

        pipe, fps = self.pipe, self.rules.fps
        canvas = resolve_canvas(frames, pipe.vae_temporal_compression_ratio)[0]
        per_second = AUDIO_RATE / MEL_HOP / pipe.audio_vae_temporal_compression_ratio  # 25
        want = round(canvas / fps * per_second)
        a = int(round(start_frame / fps * AUDIO_RATE))
        window = np.zeros(int(round(canvas / fps * AUDIO_RATE)), np.float32)
        piece = audio[a:a + len(window)]
        window[:len(piece)] = piece
        mel = log_mel(window, pipe.audio_vae.config.mel_bins)
        vae = pipe.audio_vae
        with torch.no_grad():
            # the execution device: under model offload the VAE sits on the CPU until its encode moves it (its
            # hook moves the module, not the arguments), so vae.device would leave the mel behind
            latents = vae.encode(mel.to(pipe._execution_device, vae.dtype)).latent_dist.mode()
        latents = latents[:, :, :want]
        if latents.shape[2] < want:
            latents = torch.nn.functional.pad(latents, (0, 0, 0, want - latents.shape[2]))
        return latents

    def generate(self, image, prompt, negative, frames, width, height, seed, last_image=None, start_frame=0,
                 audio: np.ndarray | None = None):
        from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

        held = {}
        if audio is not None:  # talking: the video follows director's voices, held fixed at every step
            held = {"audio_latents": self.audio_latents(audio, start_frame, frames), "freeze_audio": True}
        result = self.pipe(prompt=prompt, conditions=[LTX2VideoCondition(frames=image, index=0, strength=1.0)],
                           height=height, width=width, num_frames=frames, frame_rate=self.rules.fps,
                           generate_slots=False, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), output_type="pil", **held)
        return result.frames[0]

    def render(self, req: ClipRequest, out: Path) -> Made:
        if not (req.talking and req.speech):
            return super().render(req, out)
        return self._talking(req, out, dialogue(req))

    def _talking(self, req: ClipRequest, out: Path, audio: np.ndarray) -> Made:
        from PIL import Image

        from director.backends.preview.faces import load_faces
        from director.media.lipsync import clip_motion, energy_envelope, score

        plan = self.plan(req)
        width, height = self.native(req)
        first = common.fit(Image.open(req.keyframe.file("image")).convert("RGB"), width, height)
        prompt = motion_prompt(req) + ". The character speaks, lips moving with the words"
        negative = negative_prompt(req.negative, "static, frozen, distorted, flicker, low quality, closed mouth")
        faces = [f for f in load_faces(req.keyframe, req.width, req.height) if f.id in req.talking]
        energy = energy_envelope(audio, AUDIO_RATE, req.fps, req.frames)
        best: tuple[float, list, dict] | None = None
        attempts = []
        started = time.perf_counter()
        for attempt in range(self.config.tries):
            seed = req.seed + 1000 * attempt
            stitched = self.generate_passes(req, plan, first, prompt, negative, width, height, seed,
                                            condition={"audio": audio})
            path = out / f"take-{attempt + 1}.mp4"
            self.write_clip(req, stitched, path)
            sync = {}
            for face in faces:  # where the keyframe says a speaker's mouth is
                box = face.mouth_box(lambda x, y: (x, y), 1.0, req.width, req.height)
                sync[face.id] = score(clip_motion(path, box), energy).as_dict()
            worst = min((s["correlation"] for s in sync.values()), default=1.0)
            attempts.append({"seed": seed, "sync": sync})
            if best is None or worst > best[0]:
                best = (worst, stitched, {"seed": seed, "sync": sync, "take": path.name})
            if not faces or worst >= self.config.sync_threshold:
                break
        worst, stitched, chosen = best
        (out / chosen["take"]).replace(out / "clip.mp4")
        for extra in out.glob("take-*.mp4"):
            extra.unlink()
        notes = []
        if faces and worst < self.config.sync_threshold:
            notes.append(f"clip {req.shot_id}: lip sync {worst:.2f} is below {self.config.sync_threshold:g} after "
                         f"{len(attempts)} tries; kept the best")
        if not faces:
            notes.append(f"clip {req.shot_id}: talking shot not scored for lip sync (the keyframe does not say where "
                         "the mouths are)")
        return Made({"clip": "clip.mp4"},
                    report={"passes": plan.passes, "seams": plan.seams, "talking": list(req.talking),
                            "sync": chosen["sync"], "tries": attempts, "gpu_seconds": round(time.perf_counter() - started, 3)},
                    info={"frames": req.frames, "fps": req.fps, "width": req.width, "height": req.height,
                          "move": req.move, "prompt": prompt, "backend": self.config.name,
                          "model": self.config.model_id(), "steps": self.config.steps,
                          "native": {"width": width, "height": height, "fps": self.rules.fps, "frames": len(stitched)},
                          "device": self.pipe.director_device}, notes=tuple(notes))
