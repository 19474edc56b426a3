"""The mix's prepared pieces kept between mixes of one process (``render --watch``): the same mix, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import director.stages.mix as mixing
from director.backends.types import Artifact
from director.media.audio import read_wav, write_wav
from director.project import MixConfig
from director.stages.mix import MixRequest, keep_stems, mix


def _artifact(tmp_path, stage: str, key: str, data: np.ndarray, rate: int) -> Artifact:
    folder = tmp_path / stage / key
    folder.mkdir(parents=True)
    write_wav(folder / "a.wav", data.astype(np.float32), rate)
    return Artifact(stage, key, str(folder), {"audio": "a.wav"})


@pytest.fixture
def pieces(tmp_path):
    rng = np.random.default_rng(7)
    t = np.arange(22050 * 2) / 22050
    voices = [_artifact(tmp_path, "voice", f"v{i}", 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t) * rng.random(len(t)),
                        22050) for i in range(3)]
    music = _artifact(tmp_path, "music", "m", 0.2 * rng.standard_normal((48000 * 9, 2)), 48000)
    sfx = _artifact(tmp_path, "sfx", "s", 0.5 * rng.standard_normal(4000), 44100)
    return voices, music, sfx


def _request(pieces, second_at: float, phone: bool = False) -> MixRequest:
    voices, music, sfx = pieces
    return MixRequest(seconds=8.0, voices=((voices[0], 0.3), (voices[1], second_at), (voices[2], 5.5)),
                      music=((music, 0.0, 8.0),), sfx=((sfx, 0.7, 2.9),), config=MixConfig(),
                      filters=((1, "phone"),) if phone else (),
                      rooms=((0.0, 3.1, "kitchen", "room"), (3.1, 8.0, "market street", "street")))


def _mixed(req, out) -> np.ndarray:
    out.mkdir(parents=True, exist_ok=True)
    mix(req, out)
    return read_wav(out / "mix.wav")[0]


@pytest.fixture
def keeping():
    keep_stems()
    yield
    keep_stems(False)


def test_a_mix_from_kept_pieces_is_the_mix_made_fresh(pieces, tmp_path, keeping):
    edits = [_request(pieces, 2.6), _request(pieces, 3.0), _request(pieces, 3.0, phone=True), _request(pieces, 2.6)]
    kept = [_mixed(req, tmp_path / f"kept{i}") for i, req in enumerate(edits)]  # each from the pieces the last kept
    assert mixing._kept and all(not part.flags.writeable for value in mixing._kept.values()
                                for part in (value if isinstance(value, tuple) else (value,))
                                if isinstance(part, np.ndarray))
    keep_stems(False)
    for i, req in enumerate(edits):
        assert np.array_equal(kept[i], _mixed(req, tmp_path / f"fresh{i}")), i  # a kept piece never changed
    assert not np.array_equal(kept[0], kept[1])


def _kept_bytes() -> int:
    return sum(mixing._nbytes(v) for v in mixing._kept.values())


def test_kept_pieces_stay_under_their_bound(pieces, tmp_path, keeping, monkeypatch):
    monkeypatch.setattr(mixing, "KEPT_BYTES", 2_000_000)  # less than the music alone (3.5 MB): never kept
    first = _mixed(_request(pieces, 2.6), tmp_path / "a")
    assert mixing._kept and _kept_bytes() <= 2_000_000
    assert not any(key[0] == "music" for key in mixing._kept)
    monkeypatch.setattr(mixing, "KEPT_BYTES", 6_000_000)  # the music and some of the rest (7.7 MB in all)
    _mixed(_request(pieces, 3.0), tmp_path / "b")
    assert _kept_bytes() <= 6_000_000 and len(mixing._kept) >= 3
    monkeypatch.setattr(mixing, "KEPT_BYTES", 16_000_000)  # everything
    _mixed(_request(pieces, 3.0), tmp_path / "b2")
    assert {key[0] for key in mixing._kept} == {"music", "music-lufs", "voice", "sfx", "room"}
    assert np.array_equal(_mixed(_request(pieces, 2.6), tmp_path / "c"), first)


def test_a_piece_made_again_under_its_key_is_read_again(pieces, tmp_path, keeping):
    """A cache entry found torn is made again under the same key; a backend that is not deterministic (a GPU's
    voice) gives another take, which the next mix must hear."""
    req = _request(pieces, 2.6)
    before = _mixed(req, tmp_path / "a")
    voice = pieces[0][1]
    write_wav(voice.file("audio"), 0.3 * np.sin(np.arange(22050 * 2) / 5.0).astype(np.float32), 22050)
    again = _mixed(req, tmp_path / "b")
    keep_stems(False)
    assert not np.array_equal(again, before) and np.array_equal(again, _mixed(req, tmp_path / "fresh"))


def test_a_plain_render_keeps_nothing(pieces, tmp_path):
    _mixed(_request(pieces, 2.6), tmp_path / "a")
    assert not mixing._kept


def test_sound_effects_step_back_under_speech(pieces, tmp_path, monkeypatch):
    """A phone's ring over the answer measured 6 dB over the voice (the effects were never ducked): under speech
    an effect is sfx_duck_db lower, and where nobody speaks it is as loud as before."""
    import director.stages.mix as mixing

    monkeypatch.setattr(mixing, "master", lambda mixed, *a, **k: (mixed, {"lufs": -14.0, "true_peak": -1.0,
                                                                          "notes": []}))
    voices, music, sfx = pieces
    rate = 48000

    def heard(at: float, duck: float, with_sfx: bool = True) -> np.ndarray:
        req = MixRequest(seconds=8.0, voices=((voices[0], 0.3), (voices[1], 2.5)), music=(),
                         sfx=((sfx, 0.7, at),) if with_sfx else (), rooms=(),
                         config=MixConfig(room_tone_db=None, sfx_duck_db=duck))
        return _mixed(req, tmp_path / f"{at}-{duck}-{with_sfx}")[:, 0]

    for at, expected in ((2.9, 10 ** (-6 / 20)), (6.5, 1.0)):  # inside the second line; after every line
        alone = heard(at, -6.0, False)
        part = slice(int(at * rate), int((at + 0.08) * rate))
        ducked = np.abs(heard(at, -6.0) - alone)[part].sum()
        full = np.abs(heard(at, 0.0) - alone)[part].sum()
        assert abs(ducked / full - expected) < 0.05, (at, ducked / full)


def test_a_cues_loudness_is_remembered_across_processes_by_its_files_stamp(pieces, tmp_path, monkeypatch):
    """An edit's mix from a fresh `director render` measured every unchanged cue again (~0.1 s a minute of music): the
    memo answers for a cue whose file is as it was, the same mix bit for bit, and measures one made again."""
    import dataclasses

    import director.media.loudness as loudness

    memo = tmp_path / "state/loudness.json"
    memo.parent.mkdir()
    req = dataclasses.replace(_request(pieces, 2.6), memo=str(memo))
    measured = []
    real = loudness.integrated_loudness
    monkeypatch.setattr(loudness, "integrated_loudness", lambda x, rate: (measured.append(x.shape), real(x, rate))[1])
    first = _mixed(req, tmp_path / "a")
    cues = [shape for shape in measured if len(shape) == 2]  # the music's (stereo); the dialogue's is mono
    assert len(cues) == 1 and memo.exists()
    measured.clear()
    assert np.array_equal(_mixed(req, tmp_path / "b"), first)
    assert [shape for shape in measured if len(shape) == 2] == []  # remembered
    # each line's loudness too (its level): only the dialogue as a whole is measured again
    assert [shape for shape in measured if len(shape) == 1] == [(req.seconds * 48000,)], measured
    music = pieces[1]
    data, rate = read_wav(music.file("audio"))
    write_wav(music.file("audio"), data, rate)  # made again: a new file stamp
    measured.clear()
    _mixed(req, tmp_path / "c")
    assert len([shape for shape in measured if len(shape) == 2]) == 1
