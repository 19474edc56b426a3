"""Classes 5-8: odd values, config errors, every problem at once, and the contents of refs and samples."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import director, make_project
from tests.hardening.helpers import assert_clean_failure, edit_yaml


# ----------------------------------------------------------------- class 5: values that used to crash
@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(title="INT5000"), "cannot be read"),
    (lambda d: d["format"].update(aspect="1" * 5000 + ":1"), "aspect"),
    (lambda d: d["characters"]["ana"].update(refs=["refs/a\x00b.png"]), "NUL"),
    (lambda d: d["characters"]["ana"].update(refs=["r" * 5000 + ".png"]), "characters long"),
    (lambda d: d["characters"]["ana"].update(refs=["refs/" + "r" * 300 + ".png"]), "bytes"),
    (lambda d: d.update(series="\x00"), "NUL"),
], ids=["int-5000-digits", "aspect-5000-digits", "nul-in-ref", "5000-char-path", "300-byte-name", "nul-series"])
def test_values_that_used_to_crash_are_located_problems(tmp_path, change, words):
    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    edit_yaml(path, change)
    path.write_text(path.read_text().replace("INT5000", "9" * 5000))  # no Python int can be that long to dump
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert "screenplay.yaml:" in proc.stderr and words in proc.stderr


@pytest.mark.parametrize("raw, words", [("title: 2024-13-45\n", None), ("title: 16:9\n", None),
                                        ("title: !!timestamp 2024-13-45\n", None)])
def test_dates_and_sexagesimals_stay_text(tmp_path, raw, words):
    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    text = path.read_text().split("\n", 1)[1]
    path.write_text(raw + text)
    proc = director("-p", str(project), "--json", "plan")
    assert proc.returncode == 0, proc.stderr
    from director.screenplay import load_screenplay
    assert load_screenplay(path).screenplay.title == raw.split(": ", 1)[1].strip().removeprefix("!!timestamp ")


def test_a_symlink_loop_as_a_ref_is_a_located_problem(tmp_path):
    project = make_project(tmp_path)
    refs = project / "refs"
    refs.mkdir()
    (refs / "loop.png").symlink_to(refs / "loop.png")
    edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(refs=["refs/loop.png"]))
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert "refs/loop.png" in proc.stderr and "screenplay.yaml:" in proc.stderr


@pytest.mark.parametrize("pattern", ["/etc/*.yaml", "../*.yaml", "~/x.yaml", "", "a\x00.yaml"])
def test_episode_globs_must_stay_in_the_project(tmp_path, pattern):
    project = make_project(tmp_path)
    edit_yaml(project / "director.yaml", lambda d: d.update(episodes=[pattern]))
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert "director.yaml:" in proc.stderr and "episodes" in proc.stderr


def test_a_very_long_command_line_path_is_a_usage_error():
    proc = director("validate", "x" * 5000 + ".yaml")
    assert_clean_failure(proc, 2)


# ----------------------------------------------------------------- class 6: director.yaml checked at load
@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(encode={"preset": "veryfastt"}), "did you mean 'veryfast'"),
    (lambda d: d.update(encode={"audio_bitrate": "lots"}), "audio_bitrate 'lots' is not a bitrate"),
    (lambda d: d.update(encode={"audio_bitrate": "5M"}), "out of range"),
    (lambda d: d.update(mix={"sample_rate": 0}), "sample_rate 0 is not valid"),
    (lambda d: d.update(mix={"sample_rate": 100000000}), "sample_rate 100000000 is not valid"),
    (lambda d: d.update(backends={"vidoe": {"backend": "wan-i2v"}}), "did you mean 'video'"),
    (lambda d: d.update(backends={"video": {"backend": "wan-i2vv"}}), "did you mean 'wan-i2v'"),
    (lambda d: d.update(backends={"video": {"backend": "espeak"}}), "is a voice backend"),
    (lambda d: d.update(backends={"video": {"backend": "wan-i2v", "stepz": 4}}), "unknown key 'stepz'"),
    (lambda d: d.update(backends={"video": {"backend": "wan-i2v", "steps": "many"}}), "steps"),
    (lambda d: d.update(titel="x"), "unknown key 'titel' in director.yaml"),
], ids=["preset", "bitrate", "bitrate-range", "rate-0", "rate-huge", "stage-typo", "backend-typo", "wrong-kind",
        "backend-key", "backend-value", "top-key"])
def test_a_bad_setting_fails_at_load_with_line_and_column_before_any_work(tmp_path, change, words):
    project = make_project(tmp_path)
    edit_yaml(project / "director.yaml", change)
    proc = director("-p", str(project), "render")
    assert_clean_failure(proc)
    assert words in proc.stderr, proc.stderr
    line = next(x for x in proc.stderr.splitlines() if words.split("'")[0] in x)
    assert line.startswith(str(project / "director.yaml") + ":") and line.split(":")[1].isdigit()
    assert not (project / ".director" / "cache").exists()


def test_bitrates_are_normalised():
    from director.project import EncodeConfig

    assert EncodeConfig(audio_bitrate=192000).audio_bitrate == "192k"
    assert EncodeConfig(audio_bitrate="0.128M").audio_bitrate == "128k"


def test_the_preview_encodes_at_a_constant_quantiser_unless_the_project_chose_a_crf():
    from director.project import EncodeConfig

    assert EncodeConfig().for_profile("preview").rate_args() == ["-qp", "20"]
    assert EncodeConfig().for_profile("final").rate_args() == ["-crf", "20"]
    assert EncodeConfig(crf=18).for_profile("preview").rate_args() == ["-crf", "18"]  # the project's own choice
    assert EncodeConfig(qp=26).for_profile("preview").rate_args() == ["-qp", "26"]
    assert EncodeConfig(qp=26).for_profile("final").rate_args() == ["-qp", "26"]
    # an unset quantiser is not in the settings the cache keys read: a final render's encodes keep their keys
    assert EncodeConfig().model_dump(mode="json") == {"crf": 20, "preset": "veryfast", "audio_bitrate": "192k",
                                                      "join": "segments"}


# ----------------------------------------------------------------- class 7: every problem at once
def test_one_schema_error_does_not_hide_the_reference_checks(tmp_path):
    project = make_project(tmp_path)

    def three(d):
        d["titel"] = "typo"
        d["scenes"][0]["location"] = "stret"
        d["scenes"][0]["beats"][1]["line"]["who"] = "anna"
        d["scenes"][1]["beats"][0]["action"] = 5  # and a type error in another beat
        d["characters"]["bo"]["refs"] = ["refs/missing.png"]
    edit_yaml(project / "screenplay.yaml", three)
    proc = director("-p", str(project), "--json", "validate")
    assert_clean_failure(proc)
    messages = [p["message"] for f in json.loads(proc.stdout)["files"] for p in f["problems"]]
    assert any("unknown key 'titel'" in m for m in messages)
    assert any("'stret' is not a location" in m for m in messages)
    assert any("'anna' is not a character" in m for m in messages)
    assert any("action must be text" in m for m in messages)
    assert any("refs/missing.png" in m for m in messages)


# ----------------------------------------------------------------- class 8: ref and sample contents
def _wav(path: Path, seconds: float = 2.0, rate: int = 22050) -> None:
    from director.media.audio import write_wav

    t = np.arange(int(seconds * rate)) / rate
    write_wav(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def _encode(src: Path, dst: Path) -> None:
    import subprocess

    from director.media.ffmpeg import ffmpeg_exe
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), str(dst)], check=True)


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50), "damaged"),
    (lambda p: p.write_text("I am text"), "not a picture"),
    (lambda p: Image.new("1", (20000, 20000)).save(p), "8192"),
    (lambda p: Image.new("RGB", (4, 4)).save(p), "at least"),
], ids=["zero-byte", "truncated", "text", "huge", "tiny"])
def test_reference_images_are_opened_at_validate(tmp_path, make, words):
    project = make_project(tmp_path)
    (project / "refs").mkdir()
    make(project / "refs" / "ana.png")
    edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(refs=["refs/ana.png"]))
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert "refs/ana.png" in proc.stderr and words in proc.stderr and "screenplay.yaml:" in proc.stderr


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_text("not audio at all"), "cannot be decoded"),
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: _wav(p, 0.1), "at least"),
    (lambda p: _wav(p, 2.0) or p.write_bytes(p.read_bytes()[:60]), None),
], ids=["text-as-wav", "zero-byte", "too-short", "truncated"])
def test_voice_samples_are_decoded_at_validate(tmp_path, make, words):
    project = make_project(tmp_path)
    (project / "refs").mkdir()
    make(project / "refs" / "ana.wav")
    edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(voice={"sample": "refs/ana.wav"}))
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert "refs/ana.wav" in proc.stderr and (words is None or words in proc.stderr)


@pytest.mark.parametrize("ext", [".flac", ".mp3", ".ogg", ".wav"])
def test_flac_mp3_and_ogg_samples_are_read_by_the_same_reader_the_backends_use(tmp_path, ext):
    from director.backends.coqui import read_mono
    from director.media.audio import read_audio

    wav = tmp_path / "src.wav"
    _wav(wav, 2.0, 24000)
    sample = tmp_path / f"s{ext}"
    if ext != ".wav":
        _encode(wav, sample)
    else:
        os.replace(wav, sample)
    data, rate = read_audio(sample)
    assert abs(len(data) / rate - 2.0) < 0.1
    assert abs(len(read_mono(str(sample), 16000)) / 16000 - 2.0) < 0.1
    project = make_project(tmp_path / "p")
    (project / "refs").mkdir()
    os.replace(sample, project / "refs" / f"ana{ext}")
    edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(voice={"sample": f"refs/ana{ext}"}))
    director("-p", str(project), "validate", check=True)


# ----------------------------------------------------------------- hostile scripts and odd files (ninth round)
@pytest.mark.parametrize("body", ["_a " * 60000, "*a " * 60000, "[[ " * 60000, "[[a]]\n" * 30000,
                                  "Mia waits\n" * 60000, "INT. KITCHEN " + " " * 400000 + "x - NIGHT"],
                         ids=["unclosed-underlines", "unclosed-stars", "unclosed-notes", "many-notes", "long-action",
                              "long-heading"])  # a heading's scene number: 160k spaces took a minute, 400k six
def test_a_script_made_to_be_slow_imports_in_bounded_time(tmp_path, body):
    """Emphasis, notes and a long paragraph were read in time growing with the square of the size: 180 KB of
    ``_a `` took minutes, 4 MB some 20 hours. The bound is ~100x what they take now, ~100x less than before."""
    script = tmp_path / "slow.fountain"
    script.write_text("INT. A - DAY\n\n" + body + "\n\nMIA\nHi.\n", encoding="utf-8")
    proc = director("import", str(script), "-o", str(tmp_path / "out.yaml"), timeout=60)
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_a_final_draft_scene_number_cannot_write_into_the_screenplay(tmp_path):
    """The Number attribute went raw into a comment of the imported YAML: a new line in it wrote keys and scenes
    that are not in the script (and validate called the result ok)."""
    number = "1)&#10;    location: a&#10;    beats:&#10;      - action: INJECTED&#10;  - id: zz  #"
    fdx = tmp_path / "inj.fdx"
    fdx.write_text('<?xml version="1.0" encoding="UTF-8"?><FinalDraft><Content>'
                   f'<Paragraph Type="Scene Heading" Number="{number}"><Text>INT. A - DAY</Text></Paragraph>'
                   '<Paragraph Type="Action"><Text>Mia waits.</Text></Paragraph></Content></FinalDraft>')
    out = tmp_path / "out.yaml"
    proc = director("import", str(fdx), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "INJECTED" not in text and "zz" not in text and "is not a scene number" in proc.stderr
    assert [s["id"] for s in __import__("yaml").safe_load(text)["scenes"]] == ["s1"]
    bogus = tmp_path / "bogus.fdx"
    bogus.write_text('<?xml version="1.0" encoding="x-bogus"?><FinalDraft/>')
    proc = director("import", str(bogus), "-o", str(tmp_path / "b.yaml"))
    assert_clean_failure(proc)
    assert "bogus.fdx:1:1" in proc.stderr and "encoding" in proc.stderr


@pytest.mark.parametrize("where", ["director.yaml", "screenplay.yaml", "shots/screenplay.yaml", "refs/ana.png",
                                   "import"])
def test_a_named_pipe_is_refused_by_name_not_read(tmp_path, where):
    """Reading a FIFO blocks until someone writes to it: validate, render and status hung for ever on one
    (tar and git can deliver them)."""
    project = make_project(tmp_path)
    if where == "refs/ana.png":
        edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(refs=["refs/ana.png"]))
    path = tmp_path / "script.fountain" if where == "import" else project / where
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    args = ["import", str(path)] if where == "import" else ["-p", str(project), "status" if "shots" in where
                                                            else "validate"]
    proc = director(*args, timeout=30)
    assert_clean_failure(proc)
    assert "named pipe (FIFO)" in proc.stderr and path.name in proc.stderr, proc.stderr


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(title="Last\n999  EVIL  V  C  00:00:00:00"), "title contains a line break"),
    (lambda d: d["characters"]["ana"].update(name="An\x1ba"), "name contains the control character U+001B"),
    (lambda d: d["scenes"][0]["beats"][1]["line"].update(emotion="x\x01"), "emotion contains the control"),
    (lambda d: d["scenes"][0]["beats"][1]["line"].update(emotion="scaredd\u200b"), "emotion 'scaredd"),
    # free text that validate let through and the planner's prompt (or a record, or the terminal) then met
    (lambda d: d["scenes"][0].update(description="papers\x1b]0;pwn\x07 on the floor"),
     "scene.description contains the control character U+001B"),
    (lambda d: d["style"].update(look="noir\x1b[2J"), "style.look contains the control character U+001B"),
    (lambda d: d["scenes"][0]["beats"][1]["line"].update(parenthetical="quietly\x07"),
     "line.parenthetical contains the control character U+0007"),
    (lambda d: d["scenes"][1]["beats"][1].update(sfx="door\x1b"), "sfx contains the control character U+001B"),
    (lambda d: d["scenes"][0]["beats"][0].update(music={"mood": "tense\x9b"}),
     "music mood contains the control character U+009B"),
], ids=["newline-title", "escape-in-name", "control-in-emotion", "invisible-in-emotion", "scene-description",
        "style-look", "parenthetical", "sfx", "music-mood"])
def test_control_characters_in_names_and_titles_are_refused(tmp_path, change, words):
    """A new line in the title wrote an event of its own into the EDL; an escape in a name reached terminals
    and the FCP exports (which then failed with an XML error naming no field)."""
    project = make_project(tmp_path)
    edit_yaml(project / "screenplay.yaml", change)
    proc = director("-p", str(project), "validate")
    if "scaredd" in words:  # a format character is no control character: the unknown emotion's warning stands
        assert proc.returncode == 0 and words in proc.stderr, proc.stderr
        return
    assert_clean_failure(proc)
    assert words in proc.stderr, proc.stderr


def test_a_huge_reference_file_is_refused_before_it_is_read(tmp_path):
    """A 3 GB PNG (a valid header, then zeros: a sparse file) passed validate and cost every render 16 s."""
    project = make_project(tmp_path)
    (project / "refs").mkdir()
    huge = project / "refs" / "ana.png"
    Image.new("RGB", (64, 64)).save(huge)
    with huge.open("r+b") as f:
        f.truncate(3 * 1024 ** 3)
    edit_yaml(project / "screenplay.yaml", lambda d: d["characters"]["ana"].update(refs=["refs/ana.png"]))
    proc = director("-p", str(project), "validate", timeout=60)
    assert_clean_failure(proc)
    assert "3221 MB" in proc.stderr and "at most 200 MB" in proc.stderr, proc.stderr


def test_an_output_named_as_a_device_or_pipe_is_refused_not_replaced(tmp_path):
    """`import x.fountain -o /dev/null --force` replaced the device with a file (the atomic write's rename)."""
    script = tmp_path / "x.fountain"
    script.write_text("INT. A - DAY\n\nMIA\nHi.\n", encoding="utf-8")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    proc = director("import", str(script), "-o", str(pipe), "--force")
    assert proc.returncode != 0 and "not a file" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert pipe.is_fifo()


WRITERS_SLIPS = [
    # (what the writer typed, replacing what, what validate must say; None: valid)
    ('  ana: &ana {name: Ana, description: "woman with long red hair, green coat"}\n'
     '  ana2: {<<: *ana, name: Ana Two}\n', '  ana: {name: Ana, description: "woman with long red hair, green coat"}\n',
     None),
    ('      - line: {who: ana, text: “Are you following me, Bo?”, emotion: scared}\n',
     '      - line: {who: ana, text: "Are you following me?", emotion: scared}\n', "curly quotes are not YAML's"),
    ("      - line: {who: ana, text: Are you following me, it's late?, emotion: scared}\n",
     '      - line: {who: ana, text: "Are you following me?", emotion: scared}\n', "write the text in double quotes"),
    ('      - action: Bo closes the door: slowly.\n', '      - action: "Bo closes the door."\n',
     'write the text in double quotes'),
]


@pytest.mark.parametrize("typed, replacing, said", WRITERS_SLIPS, ids=["merge-override", "curly", "comma", "colon"])
def test_a_writers_yaml_slips_say_how_to_write_it(tmp_path, typed, replacing, said):
    """The new-user audit: a merge key's override was a 'duplicate key'; curly quotes, a comma or an apostrophe in
    unquoted text, and a colon in an action gave YAML's or the schema's words with no fix."""
    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    text = (tests_data := Path(__file__).parents[1] / "data/short/screenplay.yaml").read_text(encoding="utf-8")
    assert replacing in text, tests_data
    path.write_text(text.replace(replacing, typed, 1), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    if said is None:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 3 and said in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_unquoted_text_cut_by_a_hash_is_a_warning(tmp_path):
    """`- action: Nora freezes in room #4, clipboard in hand.` validated, and the shot read "Nora freezes in room"."""
    project = make_project(tmp_path, size=None)
    path = project / "screenplay.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'action: "Bo closes the door."' in text
    path.write_text(text.replace('action: "Bo closes the door."', "action: Bo closes the door of room #4, slowly.  "
                                 "# a comment as comments are", 1), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = proc.stdout + proc.stderr
    assert "the text stops at '#'" in said and "'Bo closes the door of room'" in said, said
    assert said.count("the text stops at") == 1


def test_emoji_are_shown_never_read_aloud(tmp_path):
    """The new-user audit: a line "😱" validated, and eSpeak said "face screaming in fear" (1.44 s, lip-synced)."""
    from director.media.linebreak import unspoken

    assert unspoken("I'm fine 🙂") == "I'm fine" and unspoken("❤️ 爱你") == "爱你" and unspoken("30°C") == "30°C"
    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    text = path.read_text(encoding="utf-8")
    alone = text.replace("Only since Tuesday.", "😱", 1)
    assert alone != text
    path.write_text(alone, encoding="utf-8")
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 3 and "has no words to speak" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    path.write_text(text.replace("Only since Tuesday.", "Only since Tuesday 🙂", 1), encoding="utf-8")
    director("-p", str(project), "render", "--until", "voice", check=True)
    jobs = json.loads((project / ".director/state/screenplay.json").read_text())["jobs"]
    said = [j["material"]["text"] for j in jobs.values() if "text" in j.get("material", {})]
    assert "Only since Tuesday" in said and not any("🙂" in t for t in said), said


def test_an_alias_of_a_mapping_that_merges_and_overrides_reads_as_it(tmp_path):
    """The review: flattening a merge changes its node in place, so an alias of it built again read the override as
    a duplicate key and took the merged value."""
    from director.yamlpos import load_yaml

    path = tmp_path / "m.yaml"
    path.write_text("base: &b {name: A, role: x}\nnora: &nora {<<: *b, name: Nora}\ncopy: *nora\n", encoding="utf-8")
    data, _, problems = load_yaml(path)
    assert problems == [] and data["copy"] == data["nora"] == {"name": "Nora", "role": "x"}, (data, problems)
