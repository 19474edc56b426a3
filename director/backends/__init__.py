"""Backends: typed configs that build the thing doing a stage's work, found by entry point.

Third parties register ``name = "package.module:ConfigClass"`` in the entry-point group
``director.backends``; a broken plugin is a warning, never a crash. Profiles choose backends.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from director.errors import BackendUnavailable, ConfigError

log = logging.getLogger("director.backends")
# True while resolving backends whose models run on a cluster's workers (executor: ray): the driver checks
# packages and licenses; GPUs and model weights are the workers' (checked where they load).
REMOTE_MODELS: ContextVar[bool] = ContextVar("director_remote_models", default=False)
GROUP = "director.backends"
KINDS = ("keyframes", "video", "voice", "music", "sfx")  # stages whose backend is a plugin (entry points)
# not plugins: the planner is chosen by ``planner:`` (rules | llm), the assembly is ffmpeg's, set by ``encode:``
NOT_PLUGGED = {"planner": "the planner is chosen at the top level of director.yaml: planner: {backend: rules} or "
                          "{backend: llm}",
               "assembler": "the assembly is ffmpeg's; its settings are under encode: (preset, crf, audio_bitrate)"}


class BackendConfig(BaseModel):
    """A backend's settings; ``build()`` makes the backend. Subclasses state their contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    kind: ClassVar[str]
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "Apache-2.0"
    requires: ClassVar[tuple[str, ...]] = ()
    target: ClassVar[str]  # "module:Class" built lazily so heavy imports stay out of start-up

    backend: str = ""

    # Capabilities stages ask about (defaults here; a backend that has one says so):
    uses_sample: ClassVar[bool] = False  # voice: speaks in the voice of a reference recording
    uses_speech: ClassVar[bool] = False  # video: moves the speakers' mouths with their voices (talking shots)
    reacts_to_speech: ClassVar[bool] = False  # video: gets every shot's lines, not only talking shots' (reactions)

    def uses_next_keyframe(self) -> bool:
        """video: the clip ends on the next shot's keyframe (first-last-frame models)."""
        return False

    def quantum(self, mood: str) -> float:
        """music: scores are made in whole units of this many seconds (a bar); 0 for any length."""
        return 0.0

    def job_seconds(self) -> float | None:
        """GPU seconds one job of this backend is expected to take (a typical shot), before anything runs: the
        scheduler splits devices between model kinds by it until it has measured real jobs. None: unknown."""
        return None

    def identity(self) -> dict[str, Any]:
        """What enters fingerprints: backend id, version and every setting (never a secret)."""
        return {"id": self.name, "version": self.version, "config": self.model_dump(mode="json", exclude={"backend"})}

    def needs(self) -> list:
        """The models (``director.backends.models.ModelNeed``) this backend loads; none for built-ins."""
        return []

    def languages(self) -> tuple[str, ...] | None:
        """Primary language subtags a voice backend speaks (``en``, ``zh``), or None for any/unknown."""
        return None

    def check(self, license_ack: str | None = None) -> None:
        """Raise BackendUnavailable when this machine cannot run the backend (packages, models, license)."""
        self.check_packages()

    def check_packages(self) -> None:
        missing = [mod for mod in self.requires if importlib.util.find_spec(mod) is None]
        if missing:
            raise BackendUnavailable(f"{self.kind} backend '{self.name}' needs the Python package(s) "
                                     f"{', '.join(missing)}; install them (see README) or choose another backend")

    def build(self):
        """Make the backend (models load here); ``check`` ran when the profile was resolved."""
        self.check_packages()
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)(self)


# Built-in backends, also declared as entry points in pyproject.toml.
BUILTIN = {
    "preview-panel": "director.backends.preview.panel:PanelConfig",
    "preview-animatic": "director.backends.preview.animatic:AnimaticConfig",
    "espeak": "director.backends.preview.voice:EspeakConfig",
    "procedural-music": "director.backends.preview.music:ProceduralMusicConfig",
    "procedural-sfx": "director.backends.preview.sfx:ProceduralSfxConfig",
    "qwen-image-edit": "director.backends.diffusion.keyframes:QwenEditConfig",
    "sdxl-ip-adapter": "director.backends.diffusion.keyframes:SDXLIPAdapterConfig",
    "flux-kontext": "director.backends.diffusion.keyframes:FluxKontextConfig",
    "wan-i2v": "director.backends.diffusion.video:WanConfig",
    "wan-flf2v": "director.backends.diffusion.video:WanFLF2VConfig",
    "ltx-i2v": "director.backends.diffusion.video:LTXConfig",
    "ltx-condition": "director.backends.diffusion.video:LTXConditionConfig",
    "cogvideox-i2v": "director.backends.diffusion.video:CogVideoXConfig",
    "svd": "director.backends.diffusion.video:SVDConfig",
    "ltx2-talking": "director.backends.diffusion.talking:LTX2TalkingConfig",
    "coqui-tts": "director.backends.coqui:CoquiConfig",
    "stable-audio": "director.backends.diffusion.music:StableAudioConfig",
}

# What each profile uses per stage; ``director.yaml``'s ``backends:`` overrides per stage.
PROFILES: dict[str, dict[str, str]] = {
    "preview": {"keyframes": "preview-panel", "video": "preview-animatic", "voice": "espeak",
                "music": "procedural-music", "sfx": "procedural-sfx"},
    "final": {"keyframes": "qwen-image-edit", "video": "wan-i2v", "voice": "coqui-tts",
              "music": "stable-audio", "sfx": "procedural-sfx"},
}

# Tiers of the final profile: settings laid over the profile's default backends (director.yaml wins over both).
# draft: step-distilled weights, no classifier-free guidance, one take -- for iterating on a cut.
# quality: each model's full schedule and the consistency retries.
QWEN_LIGHTNING = "Qwen-Image-Edit-2509/Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"
TIERS: dict[str, dict[str, dict[str, Any]]] = {
    "draft": {
        # lightx2v/Qwen-Image-Lightning (Apache-2.0): 4 steps, true CFG off, its own flow-match schedule
        "keyframes": {"lora": "lightx2v/Qwen-Image-Lightning", "lora_weight": QWEN_LIGHTNING, "steps": 4,
                      "guidance": 1.0, "scheduler": "lightning", "tries": 1, "reference_side": 512},
        # FastWan2.2-TI2V-5B (Apache-2.0): Wan 2.2 TI2V-5B distilled to 3 DMD steps, no CFG; 576x1024 native
        "video": {"model": "FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers", "steps": 3, "guidance": 1.0,
                  "scheduler": "dmd", "resolution": 768},
    },
    "quality": {},
}


@dataclass
class Registry:
    targets: dict[str, str]

    @classmethod
    def discover(cls) -> "Registry":
        targets = dict(BUILTIN)
        try:
            for ep in entry_points(group=GROUP):
                targets.setdefault(ep.name, ep.value)
        except Exception as exc:  # a broken distribution must not stop a render
            log.warning("could not read backend plugins: %s", exc)
        return cls(targets)

    def config_class(self, name: str) -> type[BackendConfig]:
        if name not in self.targets:
            raise BackendUnavailable(f"backend '{name}' is not installed here (known: {', '.join(sorted(self.targets))})")
        module, _, attr = self.targets[name].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except Exception as exc:
            raise BackendUnavailable(f"backend '{name}' ({self.targets[name]}) failed to load: {exc}") from None

    def configure(self, stage: str, choice: dict[str, Any]) -> BackendConfig:
        name = choice["backend"]
        cls = self.config_class(name)
        if cls.kind != stage:
            raise ConfigError(f"backends.{stage}: '{name}' is a {cls.kind} backend, not a {stage} backend")
        try:
            return cls.model_validate(choice)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"director.yaml: backends.{stage} ({name}): {detail}") from None


def configure_backends(profile: str, overrides: dict[str, dict[str, Any]], registry: Registry | None = None,
                       tier: str = "draft") -> dict[str, BackendConfig]:
    """Backend config per stage kind for a profile, not checked (``director models`` lists their needs)."""
    registry = registry or Registry.discover()
    return {kind: registry.configure(kind, choice) for kind, choice in _choices(profile, overrides, tier).items()}


def _choices(profile: str, overrides: dict[str, dict[str, Any]], tier: str = "draft") -> dict[str, dict[str, Any]]:
    """Per kind: the profile's backend, the tier's settings for it, then director.yaml's (which win).

    A tier's settings apply only while the kind keeps the profile's backend: choosing another backend
    in director.yaml starts from that backend's own defaults.
    """
    choices = {kind: {"backend": name} for kind, name in PROFILES[profile].items()}
    if profile == "final":
        for kind, settings in TIERS.get(tier, {}).items():
            choices[kind].update(settings)
    for kind, override in overrides.items():
        base = choices.get(kind, {})
        same = override.get("backend", base.get("backend")) == base.get("backend")
        choices[kind] = ({**base, **override} if same else dict(override))
    return choices


def resolve_backends(profile: str, overrides: dict[str, dict[str, Any]], registry: Registry | None = None,
                     license_ack: str | None = None, tier: str = "draft") -> dict[str, BackendConfig]:
    """Backend config per stage kind for a profile, checked so that missing ones are all named at once."""
    registry = registry or Registry.discover()
    out, missing = {}, []
    for kind, choice in _choices(profile, overrides, tier).items():
        try:
            config = registry.configure(kind, choice)
            config.check(license_ack)
            out[kind] = config
        except BackendUnavailable as exc:
            missing.append(f"{kind} ({choice['backend']}): {exc}")
    if missing:
        from director.backends.models import PULL, pull_command

        raise BackendUnavailable(f"profile '{profile}' cannot run here:\n  " +
                                 "\n  ".join(missing).replace(PULL, pull_command(profile)))
    return out
