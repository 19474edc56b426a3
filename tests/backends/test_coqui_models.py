"""Where a Coqui model is on this machine, and how `models pull` fetches one whose terms must be agreed to.

XTTS-v2's catalogue entry names a Hugging Face repository: Coqui fetches it into the Hugging Face cache and
leaves its own model folder empty (or holding only ``tos_agreed.txt``), so that folder is not the model."""
from __future__ import annotations

import builtins
import os

import pytest

from director.backends.models import ModelNeed, coqui_catalogue, coqui_model_folder, pull
from director.errors import BackendUnavailable

from tests.conftest import needs

pytestmark = needs("TTS")

XTTS = "tts_models/multilingual/multi-dataset/xtts_v2"


def _snapshot(cache, repo: str, files: dict[str, str]):
    """A repository as the Hugging Face cache lays it out: refs/main names the snapshot."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (snap / name).write_text(text)
    return snap


@pytest.fixture
def hub(tmp_path, monkeypatch):
    from huggingface_hub import constants
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read at import: the env var alone is too late
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "tts-home"))
    return cache


def test_xtts_is_found_in_the_hugging_face_cache_not_in_coquis_leftover_folder(hub, tmp_path):
    assert coqui_catalogue(XTTS)["repo_id"] == "tts-hub/XTTS-v2"
    leftover = tmp_path / "tts-home" / "tts" / XTTS.replace("/", "--")
    leftover.mkdir(parents=True)
    (leftover / "tos_agreed.txt").write_text("agreed")
    assert coqui_model_folder(XTTS) is None  # the terms alone are not the model
    snap = _snapshot(hub, "tts-hub/XTTS-v2", {"config.json": '{"model": "xtts"}', "model.pth": "", "vocab.json": "{}"})
    assert coqui_model_folder(XTTS) == snap


def test_a_model_in_coquis_own_folder_needs_its_config(hub, tmp_path):
    vits = "tts_models/en/vctk/vits"
    folder = tmp_path / "tts-home" / "tts" / vits.replace("/", "--")
    folder.mkdir(parents=True)
    (folder / "model_file.pth").write_text("")
    assert coqui_model_folder(vits) is None  # half a download
    (folder / "config.json").write_text("{}")
    assert coqui_model_folder(vits) == folder


def test_pulling_xtts_needs_the_acknowledgement_and_never_asks_on_the_terminal(hub, monkeypatch):
    from TTS.utils.manage import ModelManager

    def fetch(self, item):  # what Coqui's Hugging Face download leaves behind (the network is not reached)
        return _snapshot(hub, item["repo_id"], {"config.json": '{"model": "xtts"}', "model.pth": "",
                                                "vocab.json": "{}"})

    def ask(*_):
        raise AssertionError("Coqui asked for its terms on the terminal")

    monkeypatch.setattr(ModelManager, "_download_hf_model", fetch)
    monkeypatch.setattr(builtins, "input", ask)
    monkeypatch.delenv("COQUI_TOS_AGREED", raising=False)
    need = ModelNeed(XTTS, "voice", "coqui-tts", hub="coqui")
    with pytest.raises(BackendUnavailable, match=r"CPML.*license_ack: noncommercial"):
        pull(need)
    assert coqui_model_folder(XTTS) is None
    folder = pull(need, "noncommercial")
    assert folder == coqui_model_folder(XTTS) and (folder / "config.json").is_file()
    assert "COQUI_TOS_AGREED" not in os.environ  # agreed for this pull only
