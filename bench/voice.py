"""Real-time factor of the Coqui voice path at production size (random weights), on CUDA where present.

Builds, from their configs, a VCTK-size multi-speaker VITS, OpenVoice v2's converter and an
XTTS-v2-size model (30-layer GPT), saves them as model folders and times director's own
``coqui-tts`` backend on one ~10-word-per-sentence line: VITS alone, VITS + OpenVoice (the
license-clean clone), and XTTS. RTF = compute seconds / seconds of audio produced (lower is better).
Random weights give the true compute per audio second; the audio's length is whatever the random
duration predictor (VITS) or the token limit (XTTS never predicts its stop token) gives.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import save, summary, table

TEXT = ("I waited for you at the station until the last train left. "
        "Tell me the truth now, or do not call me again.")


def _sample(path: Path) -> str:
    import numpy as np

    from director.media.audio import write_wav
    rate = 22050
    t = np.arange(6 * rate) / rate
    write_wav(path, (0.2 * np.sign(np.sin(2 * np.pi * 160 * t)) * np.sin(2 * np.pi * 3 * t) ** 2).astype("float32"),
              rate)
    return str(path)


def _time(backend, sample: str | None, runs: int, out: Path) -> dict:
    from director.backends.types import SpeechRequest, VoiceParams
    req = SpeechRequest(text=TEXT, language="en", emotion="tense", seed=1,
                        voice=VoiceParams(speaker="ana", preset="female_young", sample=sample))
    backend.synthesize(req, out)  # warm-up: kernels, caches, the sample's embedding
    rtf, audio = [], 0.0
    for _ in range(runs):
        _sync()
        start = time.perf_counter()
        result = backend.synthesize(req, out)
        _sync()
        rtf.append((time.perf_counter() - start) / result.duration)
        audio = result.duration
    return {"rtf": summary(rtf), "audio_seconds": round(audio, 2)}


def _sync() -> None:
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> None:
    try:
        import torch
        import TTS  # noqa: F401
    except ImportError:
        save("voice", {"skipped": "coqui-tts/torch not installed"}, "skipped: install director[tts]")
        return
    from director.backends.coqui import CoquiConfig
    from director.testing.voices import openvoice_converter, vits_folder, xtts_folder

    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs = 5 if device == "cuda" else 3
    results, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vits = vits_folder(root / "vits", [f"p{225 + i}" for i in range(109)])  # VCTK's 109 speakers
        converter, xtts = openvoice_converter(root / "openvoice"), xtts_folder(root / "xtts")
        sample = _sample(root / "sample.wav")
        cases = [("VITS (VCTK size)", CoquiConfig(model=str(vits), vc_model=None, device=device), None),
                 ("VITS + OpenVoice v2 (clone)", CoquiConfig(model=str(vits), vc_model=str(converter), device=device),
                  sample),
                 ("XTTS-v2 size (clone)", CoquiConfig(model=str(xtts), device=device), sample)]
        for label, config, voice_sample in cases:
            backend = config.build()
            params = sum(p.numel() for name, p in backend.tts.synthesizer.tts_model.named_parameters()
                         if not name.startswith("disc."))  # VITS carries its training discriminator
            if backend.vc is not None:
                params += sum(p.numel() for p in backend.vc.model.parameters())
            out = root / label.split()[0].lower()
            out.mkdir(exist_ok=True)
            item = _time(backend, voice_sample, 1 if (device == "cpu" and "XTTS" in label) else runs, out)
            item["params_m"] = round(params / 1e6, 1)
            results[label] = item
            rows.append([label, item["params_m"], item["audio_seconds"], item["rtf"]["median"], item["rtf"]["n"]])
            del backend
    device_name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    save("voice", {"device": device_name, "text": TEXT, "results": results},
         f"device: {device_name}\n\n" + table(["path", "params (M)", "audio s", "RTF median", "runs"], rows))


if __name__ == "__main__":
    main(sys.argv[1:])
