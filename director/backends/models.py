"""Models a backend needs: id or local path, license, whether it is on this machine, its size.

A render never downloads: models load with ``local_files_only`` from the Hugging Face cache (or
a local folder). ``director models pull`` is the one command that fetches, on a machine with
network. Licenses are recorded per known model; a non-commercial one is refused unless the
project acknowledges it (``license_ack: noncommercial``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from director.errors import BackendUnavailable


@dataclass(frozen=True)
class License:
    name: str
    commercial: str  # "yes", "no" or "conditional" (read the terms: revenue caps, registration)
    url: str = ""


APACHE = License("Apache-2.0", "yes")
MIT = License("MIT", "yes")
LICENSES: dict[str, License] = {
    "Qwen/Qwen-Image-Edit-2509": APACHE,
    "Qwen/Qwen-Image-Edit-2511": APACHE,
    "stabilityai/stable-diffusion-xl-base-1.0": License("CreativeML Open RAIL++-M", "yes"),
    "h94/IP-Adapter": APACHE,
    "black-forest-labs/FLUX.1-Kontext-dev": License("FLUX.1 [dev] Non-Commercial License", "no",
                                                    "https://huggingface.co/black-forest-labs/FLUX.1-Kontext-dev"),
    "openai/clip-vit-base-patch32": MIT,
    "openai/clip-vit-large-patch14": MIT,
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": APACHE,
    "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers": APACHE,
    "Wan-AI/Wan2.2-I2V-A14B-Diffusers": APACHE,
    # LTX-Video: up to 0.9.5 the weights are OpenRAIL-M; the LTX-Video Open Weights License starts at 0.9.6
    "Lightricks/LTX-Video": License("OpenRAIL-M (0.9.0-0.9.5 weights)", "yes",
                                    "https://huggingface.co/Lightricks/LTX-Video"),
    "Lightricks/LTX-Video-0.9.1": License("OpenRAIL-M", "yes"),
    "Lightricks/LTX-Video-0.9.5": License("OpenRAIL-M", "yes", "https://huggingface.co/Lightricks/LTX-Video-0.9.5"),
    "Lightricks/LTX-Video-0.9.7-dev": License("LTX-Video Open Weights License 0.X", "conditional",
                                              "https://huggingface.co/Lightricks/LTX-Video"),
    "Lightricks/LTX-Video-0.9.7-distilled": License("LTX-Video Open Weights License 0.X", "conditional"),
    "Lightricks/LTX-Video-0.9.8-13B-distilled": License("LTX-Video Open Weights License 0.X", "conditional"),
    # LTX-2.x: free for commercial use below an annual-revenue threshold (LTX-2.x Community License)
    "Lightricks/LTX-2.5-Diffusers": License("LTX-2.x Community License", "conditional",
                                            "https://huggingface.co/Lightricks/LTX-2.5-Diffusers"),
    "Lightricks/LTX-2": License("LTX-2 Community License Agreement", "conditional",
                                "https://huggingface.co/Lightricks/LTX-2"),
    "lightx2v/Qwen-Image-Lightning": APACHE,
    "lightx2v/Qwen-Image-Edit-2511-Lightning": APACHE,
    "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers": APACHE,
    "THUDM/CogVideoX-5b-I2V": License("CogVideoX License", "conditional",
                                      "https://huggingface.co/THUDM/CogVideoX-5b-I2V"),
    "THUDM/CogVideoX1.5-5B-I2V": License("CogVideoX License", "conditional"),
    "stabilityai/stable-video-diffusion-img2vid-xt": License("Stability AI Community License", "conditional"),
    "stabilityai/stable-audio-open-1.0": License("Stability AI Community License", "conditional"),
    "facebook/musicgen-small": License("CC-BY-NC-4.0", "no"),
    "tts_models/multilingual/multi-dataset/xtts_v2": License("Coqui Public Model License (CPML)", "no",
                                                             "https://coqui.ai/cpml"),
    "tts_models/en/vctk/vits": License("Apache-2.0 (model); VCTK data CC-BY-4.0", "yes"),
    "voice_conversion_models/multilingual/vctk/freevc24": MIT,
    "voice_conversion_models/multilingual/multi-dataset/openvoice_v2": MIT,
    "myshell-ai/OpenVoiceV2": MIT,
    "myshell-ai/OpenVoice": MIT,
}
# repositories that answer 401 until you log in and accept their terms on huggingface.co
GATED = {"stabilityai/stable-audio-open-1.0", "black-forest-labs/FLUX.1-Kontext-dev",
         "stabilityai/stable-video-diffusion-img2vid-xt"}
UNKNOWN = License("unknown (not in director's list: check the model card)", "conditional")



@dataclass(frozen=True)
class ModelNeed:
    """One model a configured backend needs."""

    id: str
    role: str  # e.g. "keyframes", "ip-adapter", "scorer"
    backend: str
    hub: str = "huggingface"  # "huggingface" or "coqui"
    like: str = ""  # a known model whose license applies when ``id`` is a local folder of its weights
    files: tuple[str, ...] = ()  # only these files of the repository (glob patterns), when not all are needed

    @property
    def license(self) -> License:
        return LICENSES.get(self.id) or LICENSES.get(self.like) or UNKNOWN

    def folder(self) -> Path | None:
        """Where this model is on this machine, whole, or None (never downloads). A download cut short (a pipeline
        missing a component its index names, or a weight shard) is not here: ``models pull`` resumes it."""
        if self.hub != "huggingface":
            return coqui_model_folder(self.id)
        folder = local_folder(self.id)
        return folder if folder is None or not missing_parts(folder) else None



UNREAD_FILES = ["*.onnx", "*.onnx_data", "*.onnx.data", "*openvino*", "*.msgpack", "*.h5", "*.tflite", "*.mlmodel",
                "*.mlpackage/*"]

def missing_parts(folder: Path) -> list[str]:
    """What a diffusers pipeline's folder lacks: a component its ``model_index.json`` names, or a weight shard a
    component's ``*.index.json`` lists (an interrupted download leaves both). Other folders are not judged."""
    import json

    index = folder / "model_index.json"
    if not index.is_file():
        return []
    try:
        components = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["model_index.json"]
    missing: list[str] = []
    for name, value in components.items() if isinstance(components, dict) else ():
        if name.startswith("_") or not isinstance(value, list) or not value or value[0] is None:
            continue
        part = folder / name
        if not part.is_dir():
            missing.append(f"{name}/")
            continue
        for shards in part.glob("*.index.json"):
            try:
                files = set(json.loads(shards.read_text(encoding="utf-8"))["weight_map"].values())
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                missing.append(f"{name}/{shards.name}")
                continue
            missing += [f"{name}/{f}" for f in sorted(files) if not (part / f).is_file()]
    return missing


def local_folder(model: str) -> Path | None:
    """Where the model is on this machine (a folder), or None; never touches the network."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    if model.startswith(("/", ".", "~")):
        return None
    try:
        from huggingface_hub import snapshot_download
        return Path(snapshot_download(model, local_files_only=True))
    except Exception:
        return None


def size_on_disk(folder: Path) -> int:
    total = 0
    for item in folder.rglob("*"):
        try:
            if item.is_file():
                total += item.resolve().stat().st_size
        except OSError:
            continue
    return total


PULL = "`director models pull`"  # named with the profile where it is known: pull_command


def pull_command(profile: str | None) -> str:
    """The command that fetches a profile's models (``models pull`` alone fetches the project's own profile's)."""
    return f"`director models --profile {profile} pull`" if profile else PULL


def require_local(needs: list[ModelNeed]) -> None:
    """Raise BackendUnavailable naming every missing model and the command that fetches them."""
    missing = [n for n in needs if n.folder() is None]
    if missing:
        names = ", ".join(f"{n.id} ({n.role})" for n in missing)
        raise BackendUnavailable(f"model(s) not on this machine: {names}; fetch with {PULL} "
                                 f"on a machine with network, or set the backend's model to a local folder")


def license_gate(needs: list[ModelNeed], ack: str | None) -> None:
    """Refuse non-commercial models unless the project says ``license_ack: noncommercial``."""
    refused = [n for n in needs if n.license.commercial == "no"]
    if refused and ack != "noncommercial":
        names = "; ".join(f"{n.id} is under the {n.license.name}" for n in refused)
        raise BackendUnavailable(f"{names}, which does not allow commercial use; set `license_ack: noncommercial` "
                                 f"in director.yaml to use it anyway, or choose a commercially usable model")


def coqui_catalogue(model: str) -> dict:
    """Coqui's own entry for a model name (``TTS/.models.json``, read without importing TTS), or {}."""
    import importlib.util
    import json
    parts = model.split("/")
    spec = importlib.util.find_spec("TTS") if len(parts) == 4 else None
    if spec is None or not spec.submodule_search_locations:
        return {}
    try:
        catalogue = json.loads((Path(spec.submodule_search_locations[0]) / ".models.json").read_text("utf-8"))
        entry = catalogue[parts[0]][parts[1]][parts[2]][parts[3]]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return entry if isinstance(entry, dict) else {}


def coqui_model_folder(model: str) -> Path | None:
    """A Coqui TTS model by name, or a local folder; never downloads.

    Coqui keeps a model in its own folder (``<TTS_HOME>/tts/<type>--<lang>--<dataset>--<model>``) unless its
    catalogue entry names a Hugging Face repository (XTTS-v2's does): that one it fetches into the Hugging Face
    cache, leaving its own folder empty or holding only the terms agreed to. A folder counts only with the
    model's ``config.json`` in it."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    if "/" not in model or model.startswith(("/", ".", "~")):
        return None
    repo = coqui_catalogue(model).get("repo_id")
    if repo:
        folder = local_folder(repo)
    else:
        home = Path(os.environ.get("TTS_HOME") or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        folder = home / "tts" / model.replace("/", "--")
    return folder if folder is not None and (folder / "config.json").is_file() else None


def pull(need: ModelNeed, license_ack: str | None = None) -> Path:
    """Download one model into the local cache (the only code path that uses the network)."""
    if need.hub == "coqui":
        from TTS.utils.manage import ModelManager
        if coqui_catalogue(need.id).get("tos_required"):
            # Coqui asks for its terms on the terminal (input()), which hangs or fails unattended; the
            # project's acknowledgement is the agreement.
            if license_ack != "noncommercial":
                raise BackendUnavailable(f"{need.id} is under the {need.license.name}: agree to its terms with "
                                         f"`license_ack: noncommercial` in director.yaml, then pull again")
            before, os.environ["COQUI_TOS_AGREED"] = os.environ.get("COQUI_TOS_AGREED"), "1"
            try:
                ModelManager(progress_bar=True).download_model(need.id)
            finally:
                os.environ.pop("COQUI_TOS_AGREED") if before is None else os.environ.update(COQUI_TOS_AGREED=before)
        else:
            ModelManager(progress_bar=True).download_model(need.id)
        folder = coqui_model_folder(need.id)
        if folder is None:
            raise BackendUnavailable(f"{need.id} was fetched, but no folder with its config.json is on this machine")
        return folder
    from huggingface_hub import snapshot_download
    # exports no loader here reads: a component folder's ONNX/OpenVINO copies, Flax and TensorFlow weights
    # (stable-diffusion-xl-base-1.0 carries gigabytes of them beside its PyTorch weights)
    return Path(snapshot_download(need.id, allow_patterns=list(need.files) or None, ignore_patterns=UNREAD_FILES))
