"""Character voices with Coqui TTS (``coqui-tts``, ``import TTS``), loaded from the local model folder.

- A multi-speaker model (default: VITS trained on VCTK, commercially usable) voices every
  character; ``voice.preset`` and the character id pick a speaker deterministically, so the same
  character has the same voice in every episode.
- With ``voice.sample`` and a voice-conversion model (default OpenVoice v2's tone-colour
  converter, MIT, run through coqui-tts' OpenVoice model), the base voice is converted to the
  sample's timbre: a license-clean clone. The sample's embedding is computed once per sample.
- XTTS-v2 clones directly from the sample (its speaker latents computed once per sample), but its
  weights are under the non-commercial CPML: refused unless the project sets
  ``license_ack: noncommercial``.

Emotion maps to what the models expose: speaking rate and, for XTTS, temperature. Long lines are
split at sentence boundaries and joined with short gaps and fades.

FreeVC is not offered: coqui-tts downloads its WavLM encoder the first time it loads, and a
render never downloads.
"""
from __future__ import annotations

import hashlib
import json
import threading
import wave
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from director.backends import REMOTE_MODELS, BackendConfig
from director.backends.models import ModelNeed, coqui_model_folder, license_gate, local_folder, require_local
from director.backends.types import AudioResult, SpeechRequest
from director.errors import BackendUnavailable, StageFailed
from director.media.linebreak import split_text

EMOTION_RATE = {"angry": 1.12, "scared": 1.15, "excited": 1.12, "happy": 1.05, "calm": 0.92, "sad": 0.85,
                "tender": 0.9, "cold": 0.95, "whisper": 0.9, "tense": 1.05, "shocked": 1.1}
EMOTION_TEMPERATURE = {"angry": 0.85, "excited": 0.85, "scared": 0.8, "calm": 0.6, "sad": 0.65, "cold": 0.55}
LANGUAGE = {"zh-CN": "zh-cn", "zh-TW": "zh-cn", "en": "en", "en-US": "en", "en-GB": "en"}
# XTTS-v2's tokenizer warns of truncated audio past these lengths (Chinese is spelled out in pinyin first)
XTTS_CHARS = {"en": 250, "de": 253, "fr": 273, "es": 239, "it": 213, "pt": 203, "pl": 224, "zh": 82, "ar": 166,
              "cs": 186, "ru": 182, "nl": 251, "tr": 226, "ja": 71, "hu": 224, "ko": 95, "hi": 150}


class CoquiConfig(BackendConfig):
    name: ClassVar[str] = "coqui-tts"
    kind: ClassVar[str] = "voice"
    version: ClassVar[str] = "3"
    license: ClassVar[str] = "MPL-2.0 (coqui-tts code); model licenses listed by `director models`"
    requires: ClassVar[tuple[str, ...]] = ("TTS", "torch")
    target: ClassVar[str] = "director.backends.coqui:CoquiBackend"
    uses_sample: ClassVar[bool] = True

    model: str = Field(default="tts_models/en/vctk/vits", description="Coqui model name or local folder")
    vc_model: str | None = Field(default="myshell-ai/OpenVoiceV2",
                                 description="OpenVoice v1/v2 converter (Hugging Face id or local folder) that "
                                             "converts the base voice to voice.sample; null: no cloning")
    device: str = "auto"
    max_chars: int = Field(default=220, ge=40, le=2000,
                           description="longer lines are voiced in pieces, split at sentences, else clauses "
                                       "(XTTS: at most its own limit per language, 82 for Chinese)")

    def languages(self) -> tuple[str, ...] | None:
        if self.is_xtts():  # XTTS-v2's 17 languages
            return ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh", "ja", "hu", "ko", "hi")
        parts = self.model.split("/")
        if len(parts) == 4 and parts[0] == "tts_models" and parts[1] != "multilingual":
            return (parts[1].split("-")[0],)  # tts_models/<language>/<dataset>/<model>
        return None

    def is_xtts(self) -> bool:
        """XTTS by name, or a local folder whose config says so (its weights carry the CPML either way)."""
        if "xtts" in self.model.lower():
            return True
        config = Path(self.model).expanduser() / "config.json"
        try:
            return config.is_file() and json.loads(config.read_text()).get("model") == "xtts"
        except (OSError, ValueError):
            return False

    def needs(self) -> list[ModelNeed]:
        needs = [ModelNeed(self.model, "voice", self.name, hub="coqui",
                           like="tts_models/multilingual/multi-dataset/xtts_v2" if self.is_xtts() else "")]
        if self.vc_model and not self.is_xtts():
            needs.append(ModelNeed(self.vc_model, "voice conversion", self.name, like="myshell-ai/OpenVoiceV2",
                                   files=("converter/*", "checkpoints/converter/*")))
        return needs

    def check(self, license_ack: str | None = None) -> None:
        super().check()
        license_gate(self.needs(), license_ack)
        if REMOTE_MODELS.get():  # the cluster's workers hold the weights
            return
        require_local(self.needs())
        check_phonemizer(coqui_model_folder(self.model))


def needs_espeak(folder: Path | None) -> bool:
    """Whether a Coqui model turns text into phonemes with eSpeak (VCTK VITS does; XTTS and char models don't)."""
    try:
        config = json.loads((folder / "config.json").read_text()) if folder else {}
    except (OSError, ValueError):
        return False
    return bool(config.get("use_phonemes")) and config.get("phonemizer") in (None, "", "espeak")


def check_phonemizer(folder: Path | None) -> None:
    """The eSpeak *program*: coqui's phonemizer runs ``espeak-ng``/``espeak``; the espeakng-loader wheel only
    ships the library, so on a fresh box VITS fails at the first line with "No espeak backend found"."""
    import shutil

    if needs_espeak(folder) and not (shutil.which("espeak-ng") or shutil.which("espeak")):
        raise BackendUnavailable("this voice model speaks through phonemes and needs the espeak-ng program: "
                                 "install it with `sudo apt-get install espeak-ng` (macOS: `brew install espeak-ng`; "
                                 "`make gpu` does it), then check with `director doctor`")


def checkpoint(folder: Path) -> Path:
    """XTTS loads from its folder; single-file models (VITS, FreeVC) from their model.pth."""
    for name in ("model.pth", "model_file.pth", "model.pth.tar"):
        if (folder / name).is_file() and not (folder / "vocab.json").is_file():
            return folder / name
    return folder


def speaker_for(speakers: list[str], voice_key: str) -> str:
    """The same preset or character always maps to the same speaker of a multi-speaker model."""
    index = int(hashlib.sha256(voice_key.encode()).hexdigest()[:8], 16) % len(speakers)
    return sorted(speakers)[index]


class CoquiBackend:
    def __init__(self, config: CoquiConfig):
        import torch
        from TTS.api import TTS

        self.config = config
        self.lock = threading.Lock()
        device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        folder = coqui_model_folder(config.model)
        if folder is None:
            require_local(config.needs())
        self.tts = TTS(model_path=str(checkpoint(folder)), config_path=str(folder / "config.json"),
                       progress_bar=False).to(device)
        self.xtts = config.is_xtts()
        self.vc = None
        if config.vc_model and not self.xtts:
            vc_folder = local_folder(config.vc_model)
            if vc_folder is None:
                require_local(config.needs())
            self.vc = OpenVoiceConverter(vc_folder, device)
        self.sample_rate = int(self.tts.synthesizer.output_sample_rate)
        self._latents: dict[str, tuple] = {}  # XTTS speaker latents per sample file digest

    def synthesize(self, req: SpeechRequest, out: Path) -> AudioResult:
        import numpy as np
        import torch

        if not req.text.strip():
            raise StageFailed("cannot voice an empty line: write the words or remove the beat")
        rate = EMOTION_RATE.get((req.emotion or "").lower(), 1.0) * req.voice.rate
        chunks = []
        with self.lock:
            torch.manual_seed(req.seed)  # VITS and OpenVoice sample noise; XTTS samples tokens
            for part in split_text(req.text.strip(), self.limit(req.language)):
                chunks.append(np.asarray(self._speak(part, req, rate), dtype=np.float32))
            audio = join(chunks, self.sample_rate)
            converted = self.vc is not None and bool(req.voice.sample)
            if converted:
                audio = self.vc.convert(audio, self.sample_rate, req.voice.sample)
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        if peak <= 1e-4:
            raise StageFailed(f"the voice model produced silence for {req.text[:40]!r}")
        audio = audio / max(peak, 1.0)
        path = out / "voice.wav"
        write_wav(path, audio, self.sample_rate)
        return AudioResult(str(path), self.sample_rate, 1, len(audio) / self.sample_rate,
                           detail={"model": self.config.model, "sentences": len(chunks),
                                   "cloned": converted or self.xtts})

    def limit(self, language: str) -> int:
        """The longest piece voiced at once: XTTS truncates past its limit for the language."""
        if not self.xtts:
            return self.config.max_chars
        return min(self.config.max_chars, XTTS_CHARS.get(language.split("-")[0].lower(), 250))

    def _speak(self, text: str, req: SpeechRequest, rate: float):
        tts = self.tts
        language = LANGUAGE.get(req.language, req.language.split("-")[0].lower())
        if self.xtts:
            gpt_latent, speaker_embedding = self._xtts_voice(req)
            temperature = EMOTION_TEMPERATURE.get((req.emotion or "").lower(), 0.7)
            out = tts.synthesizer.tts_model.inference(text, language, gpt_latent, speaker_embedding,
                                                      temperature=temperature, speed=rate)
            return out["wav"]
        kwargs = {}
        if tts.is_multi_speaker:
            kwargs["speaker"] = speaker_for(tts.speakers, req.voice.preset or req.voice.speaker)
        if tts.is_multi_lingual:
            kwargs["language"] = language
        # TTS.tts(speed=...) never reaches VITS: Vits.inference reads the *instance* attribute length_scale
        # (copied from the config once, at init). Set it per call; synthesize holds self.lock around this.
        model = tts.synthesizer.tts_model
        original = getattr(model, "length_scale", None)
        if original is not None:
            model.length_scale = original / max(rate, 0.05)
        try:
            return tts.tts(text=text, **kwargs)
        finally:
            if original is not None:
                model.length_scale = original

    def _xtts_voice(self, req: SpeechRequest):
        """The sample's latents; without a sample, one of the model's built-in studio speakers by preset."""
        if req.voice.sample:
            return self._xtts_latents(req.voice.sample)
        manager = self.tts.synthesizer.tts_model.speaker_manager
        if manager is None or not manager.speakers:
            raise StageFailed(f"XTTS clones a voice: give '{req.voice.speaker}' a voice.sample (3-30 s of clean "
                              f"speech) in the screenplay")
        speaker = manager.speakers[speaker_for(list(manager.speakers), req.voice.preset or req.voice.speaker)]
        gpt_latent, speaker_embedding = speaker.values()  # coqui-tts reads speakers_xtts.pth the same way
        return gpt_latent, speaker_embedding

    def _xtts_latents(self, sample: str):
        """XTTS conditioning (GPT latents, speaker embedding) for a sample, computed once per sample content."""
        import torch

        key = file_digest(sample)
        if key not in self._latents:
            model = self.tts.synthesizer.tts_model
            cfg = model.config
            audio = torch.from_numpy(read_mono(sample, 22050)[: 22050 * cfg.max_ref_len])[None].to(model.device)
            with torch.inference_mode():
                self._latents[key] = (model.get_gpt_cond_latents(audio, 22050, length=cfg.gpt_cond_len,
                                                                 chunk_length=cfg.gpt_cond_chunk_len),
                                      model.get_speaker_embedding(audio, 22050))
        return self._latents[key]


class OpenVoiceConverter:
    """OpenVoice's tone-colour converter (MIT): re-times nothing, changes the timbre to the sample's."""

    def __init__(self, folder: Path, device: str):
        from TTS.vc.configs.openvoice_config import OpenVoiceConfig
        from TTS.vc.models.openvoice import OpenVoice

        candidates = [folder / "converter" / "checkpoint.pth", folder / "checkpoints" / "converter" / "checkpoint.pth",
                      folder / "checkpoint.pth"]
        checkpoint = next((c for c in candidates if c.is_file() and (c.parent / "config.json").is_file()), None)
        if checkpoint is None:
            raise BackendUnavailable(f"{folder} has no OpenVoice converter (converter/checkpoint.pth and "
                                     f"converter/config.json)")
        config = OpenVoiceConfig()
        self.model = OpenVoice(config)
        self.model.load_checkpoint(config, checkpoint, eval=True)
        self.model.to(device)
        self.rate = int(self.model.config.audio.output_sample_rate)
        self._targets: dict[str, object] = {}  # tone-colour embedding per sample file digest

    def convert(self, audio, rate: int, sample: str):
        import numpy as np
        import torch

        from director.media.audio import resample

        source = torch.from_numpy(resample(audio, rate, self.rate)).to(self.model.device)
        with torch.inference_mode():
            g_source, spec = self.model.extract_se(source)
            out = self.model.inference(spec, {"g_src": g_source, "g_tgt": self._target(sample)})["model_outputs"]
        return resample(out[0, 0].float().cpu().numpy().astype(np.float32), self.rate, rate)

    def _target(self, sample: str):
        import torch

        key = file_digest(sample)
        if key not in self._targets:
            mono = torch.from_numpy(read_mono(sample, self.rate)).to(self.model.device)
            with torch.inference_mode():
                self._targets[key] = self.model.extract_se(mono)[0]
        return self._targets[key]


def file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_mono(path: str, rate: int):
    """A voice sample as mono float32 at ``rate``."""
    from director.media.audio import read_audio, resample
    data, source = read_audio(Path(path))
    return resample((data if data.ndim == 1 else data.mean(axis=1)).astype("float32"), source, rate)


def join(chunks: list, rate: int):
    """Sentences back to back with 120 ms of silence and 5 ms fades: no clicks at the joins."""
    import numpy as np
    fade = max(1, int(rate * 0.005))
    gap = np.zeros(int(rate * 0.12), dtype=np.float32)
    out = []
    for i, chunk in enumerate(chunks):
        chunk = chunk.copy()
        if len(chunk) > 2 * fade:
            chunk[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
            chunk[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
        out.extend([chunk] if i == 0 else [gap, chunk])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def write_wav(path: Path, audio, rate: int) -> None:
    import numpy as np
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
