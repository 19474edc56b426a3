"""``director models``: what the project's profile loads, its license, whether it is here, its size."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from director.backends import configure_backends
from director.backends.models import ModelNeed, pull, size_on_disk
from director.errors import BackendUnavailable, UsageError
from director.ids import id_problem
from director.project import Project
from director.runtime.engine import StateIndex
from director.stages.refs import SHEETS
from director.store.cache import ArtifactCache
from director.store.files import temp_beside


def profile_backends(project: Project, profile: str | None) -> dict:
    profile = profile or project.config.profile
    overrides = {k: v.model_dump() for k, v in project.config.backends.items()}
    return configure_backends(profile, overrides, tier=project.config.tier)


def memory_rows(project: Project, profile: str | None, vram_gb: float, host_gb: float | None = None) -> list[dict]:
    """The memory plan of the profile's models on a card of ``vram_gb`` GiB (``director models --vram/--ram``)."""
    from director.backends.memory import plan

    return [r.as_dict() for r in plan(profile_backends(project, profile), vram_gb, host_gb)]


def device_vram_gb() -> float | None:
    """This machine's first CUDA GPU's memory in GiB, or None (no torch, no GPU)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    try:
        if not torch.cuda.is_available():
            return None
        return torch.cuda.get_device_properties(0).total_memory / 1024 ** 3
    except RuntimeError:
        return None


def voice_language_warning(project: Project, language: str, profile: str | None = None) -> str | None:
    """A warning when the profile's voice cannot speak the screenplay's language (before any render)."""
    profile = profile or project.config.profile
    try:
        voice = profile_backends(project, profile).get("voice")
    except Exception:  # a backend that cannot even be configured is reported by render/doctor
        return None
    spoken = voice.languages() if voice is not None else None
    primary = language.split("-")[0].lower()
    if spoken is None or primary in spoken:
        return None
    model = getattr(voice, "model", "") or voice.name
    return (f"the {profile} profile's voice ({voice.name}, {model}) speaks {', '.join(spoken)} only, and this "
            f"screenplay is {language}: its lines would be read with the wrong phonetics. Choose a voice model "
            f"for {primary} under backends.voice (XTTS-v2 speaks zh/ja/ko but is non-commercial)")


def needed_models(project: Project, profile: str | None) -> list[ModelNeed]:
    needs: list[ModelNeed] = []
    for config in profile_backends(project, profile).values():
        for need in config.needs():
            if need not in needs:
                needs.append(need)
    return needs


def model_rows(needs: list[ModelNeed]) -> list[dict]:
    rows = []
    for need in needs:
        folder = need.folder()
        rows.append({"id": need.id, "role": need.role, "backend": need.backend, "license": need.license.name,
                     "commercial": need.license.commercial, "local": folder is not None,
                     "path": str(folder) if folder else None,
                     "bytes": size_on_disk(folder) if folder else None})
    return rows


def pull_failure(need: ModelNeed, exc: Exception) -> str:
    """What went wrong fetching a model, and the fix: gated repositories need a login and accepted terms."""
    name = type(exc).__name__
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if name in ("GatedRepoError", "RepositoryNotFoundError") or status in (401, 403):
        return (f"could not fetch {need.id}: the repository is gated (HTTP {status or 401}). Log in with "
                f"`hf auth login` (`huggingface-cli login` before huggingface_hub 1.0; or set HF_TOKEN), open https://huggingface.co/{need.id} and accept its "
                f"terms ({need.license.name}), then run the same `director models ... pull` again")
    if name in ("LocalEntryNotFoundError", "ConnectError", "ConnectionError", "ConnectTimeout") or \
            "Name or service not known" in str(exc) or "offline" in str(exc).lower():
        return (f"could not fetch {need.id}: huggingface.co cannot be reached from here. Run `director models "
                f"--profile final pull` on a machine with network, or copy its Hugging Face cache (HF_HOME, "
                f"~/.cache/huggingface) here")
    if isinstance(exc, ImportError):
        return (f"could not fetch {need.id}: {exc.name or 'huggingface_hub'} is not installed; pip install "
                "'director[gpu]' (or pip install huggingface_hub)")
    return f"could not fetch {need.id}: {name}: {str(exc)[:300]}"


def pull_models(needs: list[ModelNeed], license_ack: str | None = None) -> list[str]:
    """Fetch every missing model (a download cut short is resumed); the only network use in director besides the
    LLM. A model whose license the project has not acknowledged is refused before anything is fetched."""
    from director.backends.models import license_gate

    license_gate(needs, license_ack)
    fetched = []
    for need in needs:
        if need.folder() is not None:
            continue
        try:
            pull(need, license_ack)
        except BackendUnavailable:
            raise
        except Exception as exc:  # network, auth, gated repo: say which and why
            raise BackendUnavailable(pull_failure(need, exc)) from None
        fetched.append(need.id)
    return fetched


def _sheet_id(ident: str) -> None:
    """A character's or location's id, nothing else: ``refs unlock x/../../../notes`` deleted notes.png at the
    project's root (the path stayed inside the project, so the inside check let it through)."""
    problem = id_problem(ident)
    if problem:
        raise UsageError(f"{ident!r} is not a character or location id: it {problem}")


def lock_sheet(project: Project, ident: str, episode: str | None = None) -> Path:
    """Copy a generated reference sheet into refs/sheets/ so it is used from now on. In a series a place's sheet
    follows its scenes' time of day, so episodes can hold different ones: ``episode`` says whose; without it,
    different sheets are refused with the episodes that hold them (the last episode's was taken, unsaid)."""
    _sheet_id(ident)
    cache = ArtifactCache(project.cache_dir)
    found: dict[str, tuple[str, Any, str]] = {}  # episode -> (kind, cache entry, key)
    known: set[str] = set()
    for state_file in sorted((project.state / "state").glob("*.json")):
        if state_file.name.endswith(".plan.json") or (episode is not None and state_file.stem != episode):
            continue
        state = StateIndex(state_file)
        known |= {job.split(":", 2)[2] for job in state.jobs if job.startswith(("refs:character:", "refs:location:"))}
        for kind in ("character", "location"):
            item = state.jobs.get(f"refs:{kind}:{ident}")
            if item and (entry := cache.lookup("refs", item["key"])) is not None:
                found[state_file.stem] = (kind, entry, item["key"])
    if not found:
        from director.vocab import did_you_mean

        where = f" in episode {episode}" if episode is not None else ""
        if known and ident not in known:  # a typo, most likely: what there is
            raise UsageError(f"no generated reference sheet for '{ident}'{where}{did_you_mean(ident, sorted(known))}; "
                             f"sheets made so far: {', '.join(sorted(known))}")
        raise UsageError(f"no generated reference sheet for '{ident}'{where}; render first (the sheet is made for a "
                         f"character or location without refs)")
    if len({key for _, _, key in found.values()}) > 1:
        names = sorted(found)
        raise UsageError(f"'{ident}' has different generated sheets in episodes {', '.join(names)} (a place's sheet "
                         f"follows its scenes' time of day); say whose to keep for every episode: director refs lock "
                         f"{ident} -e {names[0]}")
    kind, entry, _ = next(iter(found.values()))
    target = project.inside(project.root / SHEETS / f"{kind}-{ident}.png", "the locked sheet")
    tmp = temp_beside(target)
    try:
        shutil.copyfile(entry.role("image"), tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def unlock_sheet(project: Project, ident: str) -> list[Path]:
    """Stop using a locked reference sheet: the next render generates (or reuses) a sheet again."""
    _sheet_id(ident)
    removed = []
    for kind in ("character", "location"):
        target = project.inside(project.root / SHEETS / f"{kind}-{ident}.png", "the locked sheet")
        if target.exists():
            target.unlink()
            removed.append(target)
    if not removed:
        raise UsageError(f"no locked reference sheet for '{ident}' (locked sheets are in {SHEETS}/)")
    return removed
