"""How a line is heard (line.delivery): inner monologue styled in the subtitles, phone/radio band-limited in the
mix, neither lip-synced; validated with file:line like the rest."""
from __future__ import annotations

import numpy as np
import yaml

from director.project import Project
from tests.conftest import director, make_project


def _project(tmp, deliveries: dict[str, str]):
    project = make_project(tmp, size=(108, 192))
    path = project / "screenplay.yaml"
    data = yaml.safe_load(path.read_text())
    for beat in data["scenes"][0]["beats"]:
        line = beat.get("line")
        if line and line["who"] in deliveries:
            line["delivery"] = deliveries[line["who"]]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return project


def test_deliveries_are_validated_in_either_language(tmp_path):
    good = _project(tmp_path / "a", {"ana": "内心独白", "bo": "V.O."})
    assert director("-p", str(good), "validate").returncode == 0
    bad = _project(tmp_path / "b", {"ana": "telepathy"})
    out = director("-p", str(bad), "validate")
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert "screenplay.yaml:" in out.stderr and "line.delivery" in out.stderr and "inner" in out.stderr


def test_inner_monologue_is_italic_and_a_phone_line_is_band_limited(tmp_path):
    from director.media.audio import read_wav
    from director.runtime.render import explain
    from director.shots import Shot, talking_speakers

    project = _project(tmp_path, {"ana": "inner", "bo": "phone"})
    director("-p", str(project), "render", check=True)
    ctx, _, _ = explain(Project.find(project))
    ass = ctx.entry("subtitles", "episode").role("ass").read_text()
    srt = ctx.entry("subtitles", "episode").role("srt").read_text()
    inner = next(line for line in ass.splitlines() if "following me" in line)
    assert "{\\i1}" in inner and "<i>" in srt and "Only since Tuesday" in srt
    assert not any("{\\i1}" in line for line in ass.splitlines() if "Only since Tuesday" in line)
    # the phone line loses what a phone cannot carry; an ordinary line of the same voice engine keeps it
    mix, rate = read_wav(ctx.entry("mix", "episode").role("audio"))
    mono = mix.mean(axis=1) if mix.ndim > 1 else mix
    spans = {p.ref: (p.start, p.start + p.duration) for p in ctx.placements()}
    by_who = {ctx.beats[ref].line.who if ctx.beats[ref].line else "narrator": span for ref, span in spans.items()}

    def high_share(span) -> float:
        a, b = (int(t * rate) for t in span)
        spectrum = np.abs(np.fft.rfft(mono[a:b])) ** 2
        freqs = np.fft.rfftfreq(b - a, 1 / rate)
        return float(spectrum[freqs > 4000].sum() / spectrum.sum())

    phone, plain = high_share(by_who["bo"]), high_share(by_who["narrator"])
    assert phone < 0.01 < plain, (phone, plain)
    # neither is lip-synced, even in a close-up of the speaker
    for ref in spans:
        beat = ctx.beats[ref]
        if beat.line:
            shot = Shot(id="x", scene=ref.split("/")[0], size="CU", duration=2.0, beats=[ref],
                        characters=[beat.line.who])
            assert talking_speakers(ctx.sp, shot) == ()
