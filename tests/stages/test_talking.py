"""Talking shots: which shots talk, the sync score, and the living animatic."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from director.media.lipsync import energy_envelope, mouth_motion, score


def _syllables(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Speech-like audio: bursts of a voiced tone (syllables of 80-250 ms) with pauses between words."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate), np.float32)
    t = 0.1
    while t < seconds - 0.3:
        length = rng.uniform(0.08, 0.25)
        a, b = int(t * rate), int((t + length) * rate)
        n = np.arange(b - a)
        out[a:b] = rng.uniform(0.2, 0.8) * np.sin(2 * np.pi * 180 * n / rate) * np.hanning(b - a)
        t += length + (rng.uniform(0.25, 0.6) if rng.random() < 0.25 else rng.uniform(0.02, 0.08))
    return out


def _mouth_clip(energy: np.ndarray, delay: int, size=(48, 64)) -> list[np.ndarray]:
    """Frames whose mouth (a dark bar in a skin-coloured box) opens with the energy, ``delay`` frames late."""
    h, w = size
    peak = energy.max() or 1.0
    frames = []
    for k in range(len(energy)):
        opening = energy[k - delay] / peak if 0 <= k - delay < len(energy) else 0.0
        frame = np.full((h, w, 3), (226, 190, 160), np.uint8)
        half = int(round(opening * 10))
        frame[24 - half:24 + half + 1, 20:44] = (90, 30, 40)
        frames.append(frame)
    return frames


@pytest.mark.parametrize("delay", [-3, 0, 2, 4])
def test_the_sync_score_recovers_a_known_offset(delay):
    rate, fps = 16000, 24
    audio = _syllables(6.0, rate, seed=delay + 10)
    energy = energy_envelope(audio, rate, fps, int(6.0 * fps))
    motion = mouth_motion(_mouth_clip(energy, delay), (16, 8, 48, 40))
    found = score(motion, energy)
    assert abs(found.lag - delay) <= 1, found
    assert found.correlation > 0.6, found


def test_a_still_or_unrelated_mouth_scores_near_zero():
    rate, fps = 16000, 24
    energy = energy_envelope(_syllables(6.0, rate, seed=1), rate, fps, 144)
    other = energy_envelope(_syllables(6.0, rate, seed=2), rate, fps, 144)
    still = mouth_motion(_mouth_clip(np.zeros(144), 0), (16, 8, 48, 40))
    assert score(still, energy).correlation == 0.0
    assert score(mouth_motion(_mouth_clip(other, 0), (16, 8, 48, 40)), energy, max_lag=0).correlation < 0.35


# ---------------------------------------------------------------------------------------------- which shots talk
def test_a_shot_talks_when_the_speaker_faces_the_camera():
    from director.screenplay import load_screenplay
    from director.shots import Shot, talking_speakers
    from tests.conftest import ROOT

    sp = load_screenplay(ROOT / "projects/demo/screenplay.yaml").screenplay

    def shot(**kw) -> Shot:
        return Shot(**{"id": "s", "scene": "handoff", "size": "MCU", "duration": 2.0, "beats": ["handoff/2"],
                       "characters": ["ren", "mia"], **kw})

    assert talking_speakers(sp, shot()) == ("ren",)  # a two-shot: ren speaks, mia listens
    assert talking_speakers(sp, shot(angle="ots", characters=["mia", "ren"])) == ()  # ren from behind
    assert talking_speakers(sp, shot(angle="ots", characters=["ren", "mia"])) == ("ren",)  # over mia's shoulder
    assert talking_speakers(sp, shot(size="WS")) == ()  # too wide to read lips
    assert talking_speakers(sp, shot(characters=["mia"])) == ()  # the speaker is off screen
    assert talking_speakers(sp, shot(talking=False)) == ()  # the user's word wins
    assert talking_speakers(sp, shot(size="WS", talking=True)) == ("ren",)


# ---------------------------------------------------------------------------------------------- the living animatic
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo rendered small, then re-rendered with its two dialogue shots merged into one two-shot."""
    from tests.conftest import ROOT, director, make_project

    project = make_project(tmp_path_factory.mktemp("talk"), ROOT / "projects/demo", size=(216, 384))
    director("-p", str(project), "render", check=True)
    return project


def _clip(project, shot_id: str):
    """(decoded frames, the clip's faces.json, {speaker: energy per frame}) of a rendered shot."""
    import json

    import av

    from director.media.audio import read_wav
    from director.media.source import clip_file
    from director.project import Project
    from director.runtime.render import explain

    ctx, _, _ = explain(Project.find(project))
    shot = next(s for s in ctx.shots if s.id == shot_id)
    clip = ctx.entry("clips", shot_id)
    faces = json.loads(clip.role("faces").read_text())
    with av.open(str(clip_file(clip.path, project / f".{shot_id}-clip.mp4"))) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    energy = {}
    for v in ctx.timing(shot)["voices"]:
        samples, rate = read_wav(ctx.entry("voice", v["ref"]).role("audio"))
        who = ctx.beats[v["ref"]].line.who
        energy[who] = energy.get(who, 0) + energy_envelope(samples, rate, ctx.sp.format.fps, len(frames), v["offset"])
    return frames, faces, energy


def _motion(frames, boxes) -> np.ndarray:
    """Mouth motion with the box of each frame (the box follows a moving camera)."""
    out = [0.0]
    for k in range(1, len(frames)):
        x0, y0, x1, y1 = boxes[k]
        a = frames[k - 1][y0:y1, x0:x1].astype(float).mean(axis=2)
        b = frames[k][y0:y1, x0:x1].astype(float).mean(axis=2)
        out.append(float(np.abs(b - a).mean()) if a.shape == b.shape else 0.0)
    return np.asarray(out)


@pytest.mark.parametrize("shot_id", ["arrival-02", "handoff-02"])  # a close-up pushing in; a static MCU
def test_a_demo_dialogue_shot_moves_its_speakers_mouth_with_the_voice(demo, shot_id):
    frames, faces, energy = _clip(demo, shot_id)
    (who,) = faces["talking"]
    found = score(_motion(frames, faces["mouths"][who]), energy[who])
    assert found.correlation >= 0.6 and abs(found.lag) <= 2, found


def test_in_a_two_shot_only_the_speaker_moves_their_mouth(demo):
    """handoff-02 (ren speaks) and handoff-03 (mia answers) become one MS two-shot: each mouth moves during its
    own line only; the other face listens (its mouth still, blinking at the line's end)."""
    from tests.conftest import director

    path = next((demo / "shots").glob("*.yaml"))
    data = yaml.safe_load(path.read_text())
    shots = data["shots"]
    i = next(n for n, s in enumerate(shots) if s["id"] == "handoff-02")
    merged = {**shots[i], "size": "MS", "angle": "eye-level", "characters": ["ren", "mia"], "talking": None,
              "beats": shots[i]["beats"] + shots[i + 1]["beats"], "duration": shots[i]["duration"] + shots[i + 1]["duration"]}
    data["shots"] = shots[:i] + [merged] + shots[i + 2:]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    director("-p", str(demo), "render", check=True)
    frames, faces, energy = _clip(demo, "handoff-02")
    assert faces["talking"] == ["mia", "ren"] and set(energy) == {"mia", "ren"}
    motion = {who: _motion(frames, faces["mouths"][who]) for who in ("mia", "ren")}
    for speaker, listener in (("ren", "mia"), ("mia", "ren")):
        own = score(motion[speaker], energy[speaker])
        assert own.correlation >= 0.6 and abs(own.lag) <= 2, (speaker, own)
        spoken = energy[speaker] > 1e-3  # the frames of this speaker's line: the other mouth stays shut
        assert motion[listener][spoken].mean() < 0.1 * motion[speaker][spoken].mean(), (speaker, listener)
        assert score(motion[listener] * spoken, energy[speaker]).correlation < 0.1  # below the encoder's noise


def test_a_talking_shot_on_a_backend_that_cannot_talk_is_an_ordinary_clip_with_a_note(demo, monkeypatch):
    from director.backends.preview.animatic import AnimaticConfig
    from director.project import Project
    from director.runtime.render import explain

    monkeypatch.setattr(AnimaticConfig, "uses_speech", False)
    _, result, _ = explain(Project.find(demo))
    notes = [n for n in result.notes if n.startswith("talking shot")]
    assert notes and all("rendered as an ordinary clip" in n for n in notes)
    assert any("arrival-02" in n for n in notes) and not any("arrival-01" in n for n in notes)
