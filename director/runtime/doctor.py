"""``director doctor``: can this machine run the project's profile? Every check says what is missing and the fix.

Each stage's Python stack is imported in a fresh interpreter (a broken compiled extension, such as a
torchaudio built for another torch, fails there and not in the middle of a render); CUDA, the GPU's
memory and the driver, free disk for the models still to fetch, the espeak-ng program, a Hugging Face
login for gated repositories, and the models themselves.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from director.backends.models import GATED
from director.project import Project


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = True  # False: a warning; the profile can still run

    def as_dict(self) -> dict:
        return asdict(self)


STACKS = {  # backend module prefix -> the imports its stage needs, as a render will do them
    "diffusion": "import torch, diffusers, transformers, accelerate",
    "coqui": "import torch, TTS.api; from TTS.utils.synthesizer import Synthesizer",
}


def import_check(name: str, code: str, timeout: float = 300) -> Check:
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Check(f"imports: {name}", False, f"`{code}` did not finish in {timeout:.0f}s")
    if proc.returncode == 0:
        return Check(f"imports: {name}", True, code.replace("import ", "").replace(";", ","))
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    fix = "make gpu (or: pip install 'director[gpu,tts]' with torch from the PyTorch index, see README)"
    if "torchaudio" in proc.stderr:
        fix = ("the installed torchaudio does not match torch: `make tts-deps` installs one whose compiled part "
               "director never needs, or install the torchaudio built for your torch from the PyTorch index")
    return Check(f"imports: {name}", False, last, fix)


def cuda_check() -> list[Check]:
    if importlib.util.find_spec("torch") is None:
        return [Check("CUDA", False, "torch is not installed", "make gpu")]
    code = ("import torch, json; ok = torch.cuda.is_available(); print(json.dumps({'ok': ok, 'cuda': torch.version.cuda,"
            " 'torch': torch.__version__, 'gpus': [(torch.cuda.get_device_name(i), "
            "torch.cuda.get_device_properties(i).total_memory) for i in range(torch.cuda.device_count())] if ok "
            "else []}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    import json
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [Check("CUDA", False, (proc.stderr.strip().splitlines() or ["torch failed"])[-1][:300],
                      "reinstall torch from the PyTorch index for your driver (README: GPU machines)")]
    if not info["ok"]:
        why = "torch is a CPU build" if info["cuda"] is None else "no GPU visible to CUDA (driver, container flags?)"
        return [Check("CUDA", False, f"{why} (torch {info['torch']})",
                      "install an NVIDIA driver and torch with CUDA (`make gpu`); check `nvidia-smi`")]
    gpus = ", ".join(f"{n} ({m / 1024 ** 3:.0f} GiB)" for n, m in info["gpus"])
    return [Check("CUDA", True, f"{gpus}; torch {info['torch']}, CUDA {info['cuda']}")]


def disk_check(missing_gb: float) -> Check:
    hub = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    probe = hub if hub.exists() else Path.home()
    free = shutil.disk_usage(probe).free / 1024 ** 3
    ok = free > missing_gb * 1.1
    return Check("disk", ok, f"{free:.0f} GiB free at {probe}; models still to fetch: ~{missing_gb:.0f} GiB",
                 "free space or point HF_HOME at a larger disk" if not ok else "")


def language_warnings(project: Project, profile: str | None) -> list[str]:
    """The voice's language against each episode's, as validate says it for the project's own profile."""
    from director.runtime.modelsinfo import voice_language_warning
    from director.screenplay import load_screenplay

    said = []
    for path in project.episode_paths():
        try:
            language = load_screenplay(path, project.root).screenplay.language
        except Exception:  # noqa: BLE001 - an invalid screenplay is validate's to report
            continue
        warning = voice_language_warning(project, language, profile)
        if warning and warning not in said:
            said.append(warning)
    return said


def doctor(project: Project, profile: str | None) -> list[Check]:
    """Every check for the project's profile, in the order a user would fix them."""
    from director.backends.coqui import needs_espeak
    from director.backends.memory import SIZES
    from director.backends.models import coqui_model_folder, license_gate, pull_command
    from director.errors import BackendUnavailable
    from director.runtime.modelsinfo import profile_backends

    backends = profile_backends(project, profile)
    checks: list[Check] = []
    needs_gpu = False
    stacks = set()
    for kind, config in backends.items():
        module = config.target.split(":")[0]
        for key in STACKS:
            if f".{key}" in module:
                stacks.add(key)
        needs_gpu = needs_gpu or (".diffusion" in module and getattr(config, "device", "auto") != "cpu")
    for key in sorted(stacks):
        checks.append(import_check(key, STACKS[key]))
    if needs_gpu:
        checks += cuda_check()
    from director.media.ffmpeg import NAMES_COLOUR_SPACES, ffmpeg_exe, ffmpeg_version
    try:
        exe = ffmpeg_exe()
        version = ffmpeg_version()
        checks.append(Check("ffmpeg", True, f"{exe} ({version[0]}.{version[1]})" if version != (0, 0) else exe))
        if version < NAMES_COLOUR_SPACES:  # the colour filters' older form works; only 7.1 on names a colour space
            checks.append(Check("ffmpeg version", False, f"ffmpeg {version[0]}.{version[1]} is older than 7.1: "
                                "director converts colours with the scaler's BT.709 matrix instead", "pip install -U "
                                "'imageio-ffmpeg>=0.8.1' (and unset IMAGEIO_FFMPEG_EXE)", blocking=False))
    except Exception as exc:
        checks.append(Check("ffmpeg", False, str(exc), "pip install imageio-ffmpeg"))
    voice = backends.get("voice")
    if voice is not None and voice.name == "coqui-tts":
        folder = coqui_model_folder(voice.model)
        phonemes = needs_espeak(folder) if folder else voice.model.startswith("tts_models/en/vctk")
        program = shutil.which("espeak-ng") or shutil.which("espeak")
        if phonemes:
            checks.append(Check("espeak-ng", bool(program), program or "not on PATH (the voice model speaks "
                                "through eSpeak phonemes)", "" if program else "sudo apt-get install espeak-ng"))
    needs = [n for c in backends.values() for n in c.needs()]
    try:  # said here, not first at render time (or after the other models were fetched)
        license_gate(needs, project.config.license_ack)
    except BackendUnavailable as exc:
        checks.append(Check("licenses", False, str(exc).split("; set")[0],
                            "set `license_ack: noncommercial` in director.yaml (agreeing to those terms), or choose a "
                            "commercially usable model under backends"))
    for warning in language_warnings(project, profile):
        checks.append(Check("voice language", False, warning.split(". Choose")[0],
                            "backends: {voice: {backend: coqui-tts, model: tts_models/multilingual/multi-dataset/"
                            "xtts_v2}} with license_ack: noncommercial, or a commercially usable model for the "
                            "language", blocking=False))
    missing = [n for n in needs if n.folder() is None]
    gated = [n for n in missing if n.id in GATED]
    if gated:
        token = _hf_token()
        checks.append(Check("hugging face login", token, "logged in" if token else
                            f"gated: {', '.join(n.id for n in gated)} need a login and accepted terms",
                            "" if token else "hf auth login (huggingface-cli login before huggingface_hub 1.0), "
                            "then accept the terms on each model's page", blocking=False))
    missing_gb = sum(sum(SIZES.get(n.id, {}).values()) * 2 for n in missing)
    if missing:
        checks.append(disk_check(missing_gb))
    checks.append(Check("models", not missing, "all here" if not missing else
                        "missing: " + ", ".join(n.id for n in missing),
                        pull_command(profile or project.config.profile).strip("`") if missing else ""))
    return checks


def _hf_token() -> bool:
    if os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"):
        return True
    try:
        from huggingface_hub import get_token
        return bool(get_token())
    except Exception:
        return False
