"""The command line: instant help with no heavy imports, exit codes from one place, templates."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import ROOT, director, make_project

HEAVY = ("torch", "diffusers", "TTS", "langchain", "langchain_core", "langchain_openai", "moviepy", "ray",
         "transformers", "openai")


def test_help_imports_nothing_heavy():
    code = ("import sys; from director.cli.main import run; run(['--help']); "
            "print('MODULES', ' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(out.split("MODULES", 1)[1].split())
    assert not [m for m in modules if m.split(".")[0] in HEAVY], sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert "numpy" not in modules and "pydantic" not in modules  # not even the medium-weight ones


@pytest.mark.parametrize("args", [["--help"], ["render", "--help"], []])
def test_help_through_the_console_entry_imports_no_numpy(args):
    """What ``director --help`` runs (``cli.fast.entry``): it imported numpy for the BLAS setting before the help."""
    code = ("import sys, atexit; atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules)))); "
            f"sys.argv = ['director', *{args!r}]; from director.cli.fast import entry; entry()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    modules = set(out.split("MODULES", 1)[1].split())
    assert "numpy" not in modules, args


def test_help_answers_in_under_half_a_second():
    director("--help", check=True)  # warm the file cache
    best = min(_timed(["--help"]) for _ in range(3))
    assert best < 0.5, f"director --help took {best:.3f}s"


def _timed(args) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "director", *args], capture_output=True, check=True)
    return time.perf_counter() - start


def test_usage_errors_exit_2():
    proc = director("render", "--only", "clip")
    assert proc.returncode == 2 and "did you mean 'clips'" in proc.stderr
    assert director("frobnicate").returncode == 2


def test_final_profile_without_backends_exits_4_naming_each(tmp_path):
    from tests.conftest import make_project

    project = make_project(tmp_path)
    proc = director("-p", str(project), "render", "--profile", "final")
    assert proc.returncode == 4
    for name in ("qwen-image-edit", "wan-i2v", "coqui-tts", "stable-audio"):
        assert name in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("template", ["vertical-drama", "vertical-drama-zh"])
def test_new_project_validates_and_plans(tmp_path, template):
    target = tmp_path / "my-show"
    director("new", str(target), "-t", template, check=True)
    assert director("-p", str(target), "validate").returncode == 0
    out = json.loads(director("-p", str(target), "--json", "plan", check=True).stdout)
    assert out["shots"] > 0 and (target / "shots/screenplay.yaml").exists()
    assert director("new", str(target)).returncode == 2  # never overwrites
    if template == "vertical-drama":  # nor follows a link that leads nowhere (it was an internal error)
        (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
        proc = director("new", str(tmp_path / "dangling"))
        assert proc.returncode == 2 and "already exists (a link)" in proc.stderr and not (tmp_path / "nowhere").exists()


def test_a_chinese_template_is_offered_where_one_is_asked_for(tmp_path):
    proc = director("new", str(tmp_path / "x"), "-t", "zh")
    assert proc.returncode == 2 and "vertical-drama-zh" in proc.stderr, proc.stderr


def test_plan_show_prints_a_table(tmp_path):
    import shutil

    project = tmp_path / "series"  # a copy: plan writes the shot list (it rewrote the repository's fixture)
    shutil.copytree(ROOT / "tests/data/series", project)
    proc = director("-p", str(project), "plan", "--episode", "ep02", "--show", check=True)
    assert "meet-" in proc.stdout and "It never was." in proc.stdout  # the output asked for, where `> file` takes it


def test_a_renamed_episode_file_is_told_where_its_shot_list_is(tmp_path):
    """ep02.yaml renamed to 第2集.yaml was planned anew under its new name (its locked shots, takes and every
    keyframe's seed lost) while shots/ep02.yaml lay there, and validate and the render said nothing."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project, ignore=shutil.ignore_patterns(".director"))
    (project / "episodes" / "ep02.yaml").rename(project / "episodes" / "第2集.yaml")
    checked = director("-p", str(project), "validate", check=True)
    assert "shots/ep02.yaml:1:1: warning: this shot list belongs to no episode" in checked.stderr, checked.stderr
    assert "`id: ep02`" in checked.stderr
    one = director("-p", str(project), "validate", str(project / "episodes" / "第2集.yaml"), check=True)
    assert "shots/ep02.yaml:1:1: warning: this shot list belongs to no episode" in one.stderr, one.stderr
    planned = director("-p", str(project), "plan", "-e", "第2集", check=True)
    assert "shots/ep02.yaml belongs to no episode: if 第2集's file was renamed from ep02.yaml, put `id: ep02`" \
        in planned.stderr, planned.stderr
    text = (project / "episodes" / "第2集.yaml").read_text(encoding="utf-8")
    (project / "episodes" / "第2集.yaml").write_text("id: ep02\n" + text, encoding="utf-8")
    (project / "shots" / "第2集.yaml").unlink()
    again = director("-p", str(project), "validate", check=True)
    assert "belongs to no episode" not in again.stderr, again.stderr
    # a draft beside the episodes, checked on its own, is no episode: the project's shot lists are none of its
    # business (it was told to give itself the id of the project's real episode)
    text = (project / "episodes" / "ep01.yaml").read_text(encoding="utf-8")
    (project / "ep01-draft.yaml").write_text(text.replace("series: ../series.yaml", "series: series.yaml"),
                                             encoding="utf-8")
    draft = director("validate", str(project / "ep01-draft.yaml"), check=True)
    assert "belongs to no episode" not in draft.stderr, draft.stderr


def test_a_shot_list_written_by_an_older_director_is_still_current(tmp_path):
    """The series fixture's ep02 shot list carries the digest of the whole screenplay an older director wrote:
    upgrading must not re-plan it (and replace its hand edits)."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project)
    saved = yaml.safe_load((project / "shots/ep02.yaml").read_text(encoding="utf-8"))["screenplay"]
    assert saved.startswith("p")  # the older digest
    proc = director("-p", str(project), "status", "-e", "ep02", check=True)
    assert "re-planned" not in proc.stderr, proc.stderr
    # a render using it writes the narrower digest in its place (that line only), so that a later voice edit
    # keeps the plan too; the list and its comments are otherwise as they were
    shots = project / "shots/ep02.yaml"  # as a Windows editor leaves it: CRLF, a comment after the digest
    text = shots.read_text(encoding="utf-8").replace(f"screenplay: {saved}\n", f"screenplay: {saved}  # ok\n")
    shots.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    before = shots.read_bytes()
    director("-p", str(project), "render", "-e", "ep02", "--until", "keyframes", check=True)
    after = shots.read_bytes()
    digest = yaml.safe_load(after.decode("utf-8"))["screenplay"]
    assert after.replace(digest.encode(), saved.encode()) == before and after != before
    bible = project / "series.yaml"
    bible.write_text(bible.read_text(encoding="utf-8").replace("female_bright", "female_low"), encoding="utf-8")
    assert "re-planned" not in director("-p", str(project), "status", "-e", "ep02", check=True).stderr


def test_json_output_is_machine_readable():
    out = director("--json", "validate", str(ROOT / "projects/demo/screenplay.yaml"), check=True)
    assert json.loads(out.stdout)["valid"] is True


def test_global_flags_typed_after_the_command_work_as_before_it():
    """`render --watch --json` reads naturally (the README pairs them); the framework wanted --json first."""
    from director.cli.main import hoisted

    out = director("validate", str(ROOT / "projects/demo/screenplay.yaml"), "--json", check=True)
    assert json.loads(out.stdout)["valid"] is True
    assert hoisted(["-p", "x", "render", "--watch", "--json", "-q"]) == ["--json", "-q", "-p", "x", "render",
                                                                          "--watch"]
    assert hoisted(["--json", "render"]) == ["--json", "render"]
    assert hoisted(["line", "a/1", "--", "--json"]) == ["line", "a/1", "--", "--json"]  # after --: an argument
    # the project too, with its folder: `status -p show` was "No such option: -p"
    assert hoisted(["status", "-p", "my show", "--json"]) == ["-p", "my show", "--json", "status"]
    assert hoisted(["line", "a/1", "--project=x", "--text", "-p"]) == ["--project=x", "line", "a/1", "--text", "-p"]
    out = director("status", "-p", str(ROOT / "projects/demo"), "--json", cwd=ROOT.parent, check=True)
    assert "jobs" in json.loads(out.stdout)


def test_version():
    from director import __version__

    for flag in ("--version", "-V"):
        assert director(flag, check=True).stdout == f"director {__version__}\n"


def test_render_help_lists_the_stages_in_order():
    from director.cli.main import STAGES_HELP
    from director.stages import STAGE_ORDER

    assert STAGES_HELP == ", ".join(STAGE_ORDER)
    assert all(f"--{flag}" in director("render", "--help").stdout for flag in ("only", "until"))


def test_line_edits_a_line_in_place_and_warns_as_validate_does(tmp_path):
    from tests.conftest import make_project

    project = make_project(tmp_path)
    path = project / "screenplay.yaml"
    path.write_text("# the writers' room copy\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    done = director("-p", str(project), "--json", "line", "one/3", "--text", "Only since Tuesday, Ana.", check=True)
    assert json.loads(done.stdout)["text"] == "Only since Tuesday, Ana."
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# the writers' room copy\n") and "Only since Tuesday, Ana." in text
    odd = director("-p", str(project), "line", "one/3", "--emotion", "bogus")
    # as validate says it, at its file:line, and only of the edited beat (a second pass: no place, no hints)
    assert odd.returncode == 0 and "screenplay.yaml:40:" in odd.stderr and \
        ": emotion 'bogus' is not valid" in odd.stderr and "(or a Chinese word" in odd.stderr, odd.stderr
    told = director("-p", str(project), "line", "one/2", "--text", "(sighs) Are you following me?")
    assert told.returncode == 0 and "starts with (sighs), a direction" in told.stderr, told.stderr
    assert "'bogus'" not in told.stderr  # another beat's warning is not this edit's
    director("-p", str(project), "line", "one/2", "--text", "Are you following me?", check=True)
    for ref, flags, code in (("one/9", ("--text", "x"), 2), ("one/1", ("--text", "x"), 2), ("one/2", ("--text", " "), 2)):
        bad = director("-p", str(project), "line", ref, *flags)
        assert bad.returncode == code and "Traceback" not in bad.stderr, (ref, bad.stderr)
        if ref != "one/2":  # N counts every beat: the refusal says which numbers are lines
            assert "its lines: one/2 (ana: Are you foll…), one/3 (bo: Only since T…)" in bad.stderr, bad.stderr
    bare = director("-p", str(project), "line", "one", "--text", "x")  # the scene alone: its own example
    assert bare.returncode == 2 and "e.g. director line one/2 --text" in bare.stderr, bare.stderr
    # a narration is spoken and subtitled as a line is, and edited the same way (it was "not a line"); its
    # shorthand stays one for a text, and takes an emotion as a mapping
    told = json.loads(director("-p", str(project), "--json", "line", "two/3", "--text", "She never asked.",
                               check=True).stdout)
    assert (told["who"], told["text"]) == ("narrator", "She never asked.")
    assert '- narration: "She never asked."' in path.read_text(encoding="utf-8") or \
        "- narration: She never asked." in path.read_text(encoding="utf-8")
    director("-p", str(project), "line", "two/3", "--emotion", "sad", check=True)
    from director.screenplay import load_screenplay

    beat = load_screenplay(path).screenplay.scenes[1].beats[2]
    assert (beat.narration.text, beat.narration.emotion, beat.transition) == ("She never asked.", "sad", "fade")


def test_a_line_edit_changes_that_line_of_the_screenplay_and_no_other(tmp_path):
    """The demo indents its lists (``  - id:``); an edit re-indented every scene to ``- id:``."""
    import shutil

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    before = (project / "screenplay.yaml").read_text(encoding="utf-8").splitlines()
    director("-p", str(project), "line", "handoff/2", "--text", "You are late.", check=True)
    after = (project / "screenplay.yaml").read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and changed == [
        ('      - line: {who: ren, text: "You\'re late.", emotion: cold}',
         '      - line: {who: ren, text: "You are late.", emotion: cold}')], changed


def test_an_emotion_edit_rewords_its_shots_prompt_and_a_later_re_plan_sees_no_hand_edit(tmp_path):
    """The edit-commands audit: ``line --emotion`` kept the shot list, whose prompt still said "Ren speaks, cold."
    (the final profile's keyframe contradicted the voice)."""
    import shutil

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    director("-p", str(project), "plan", check=True)
    director("-p", str(project), "line", "handoff/2", "--emotion", "angry", check=True)
    shots = yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"]
    prompt = next(s["prompt"] for s in shots if "handoff/2" in s["beats"])
    assert "Ren speaks, angry." in prompt and "cold" not in prompt
    sp = project / "screenplay.yaml"  # a re-plan for another change: the reworded prompt is no hand edit replaced
    sp.write_text(sp.read_text().replace("Ten seconds to spare.", "Ten seconds to spare!"))
    proc = director("-p", str(project), "plan", check=True)
    assert "edited by hand" not in proc.stdout + proc.stderr


def test_a_seed_set_by_hand_is_a_take_and_a_duration_on_an_unlocked_shot_says_what_it_does(tmp_path):
    """The edit-commands audit: ``shot set seed=42`` left no take of the seed rendered before (``take list`` and
    ``clean`` forgot it); ``duration=4`` on an unlocked shot changed nothing and said nothing; ``locked=true
    size=CU`` together stopped on an internal error (the lock's length shadowed the shot being read)."""
    import shutil

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    director("-p", str(project), "plan", check=True)
    first = yaml.safe_load((project / "shots/screenplay.yaml").read_text())["shots"][3]
    done = director("-p", str(project), "shot", "set", first["id"], "seed=42", "duration=4", check=True)
    assert "only while it is locked" in done.stderr + done.stdout
    listed = json.loads(director("-p", str(project), "--json", "take", "list", first["id"], check=True).stdout)
    assert [(t["seed"], t["current"]) for t in listed["takes"]] == [(first["seed"], False), (42, True)]
    both = director("-p", str(project), "shot", "set", first["id"], "locked=true", "size=CU")
    assert both.returncode == 0 and "Traceback" not in both.stderr, both.stderr


@pytest.mark.parametrize("fix", ["characters=renn", "locked=false"])
def test_a_locked_shot_the_screenplay_no_longer_fits_is_fixed_or_unlocked_from_the_command_line(tmp_path, fix):
    """The edit-commands audit: after a character was renamed, plan said "edit or unlock it", and both ``shot set``
    edits were refused for that very problem: only a text editor could. An edit still may not add a problem."""
    import shutil

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "projects" / "demo", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    director("-p", str(project), "plan", check=True)
    director("-p", str(project), "shot", "set", "handoff-02", "locked=true", check=True)
    sp = project / "screenplay.yaml"
    sp.write_text(re.sub(r"\bren\b", "renn", sp.read_text()))
    assert director("-p", str(project), "plan").returncode == 3
    worse = director("-p", str(project), "shot", "set", "handoff-02", "characters=nobody")
    assert worse.returncode == 3 and "nobody" in worse.stderr
    director("-p", str(project), "shot", "set", "handoff-02", fix, check=True)
    director("-p", str(project), "plan", check=True)


def test_a_line_edit_keeps_a_flow_list_of_beats_as_it_was_written():
    """The docs' series example writes `beats: [{line: {...}}]`: an edit wrote `beats: [line: {...}]` back."""
    from director.runtime.edits import _dump, _yaml

    text = 'scenes:\n  - id: meet\n    beats: [{line: {who: zoe, text: "Hi."}}, {action: Rain.}]\n'
    rt = _yaml(text)
    data = rt.load(text)
    data["scenes"][0]["beats"][0]["line"]["text"] = "Hello."
    assert _dump(rt, data) == text.replace('"Hi."', '"Hello."')


def test_a_shot_edit_leaves_no_space_at_a_lines_end(tmp_path):
    from director.runtime.edits import _tidy

    assert _tidy("a: one two \n  three\nb: |\n  kept \n  text  \nc: x \n") == \
        "a: one two\n  three\nb: |\n  kept \n  text  \nc: x\n"


def test_an_edited_lines_end_comment_stays_two_spaces_after_it_and_no_other_line_moves():
    """The Chinese studio's audit: each `director line` edit moved the importer's `# script.txt:7` comment (ruamel
    keeps its column: 2 spaces became 1, then 3, then 7)."""
    from director.runtime.edits import _tidy

    before = 'a: {x: "short"}  # s.txt:1\nb: 1     # aligned by hand\nc: "kept # not a comment"\n'
    after = 'a: {x: "a longer text"} # s.txt:1\nb: 1     # aligned by hand\nc: "kept # not a comment"\n'
    assert _tidy(after, before) == after.replace('"} # s.txt', '"}  # s.txt')
    assert _tidy('c: "x # y"\n', "c: z\n") == 'c: "x # y"\n'  # a # inside quotes is text
    assert _tidy("d: |\n  text   # kept\n", "") == "d: |\n  text   # kept\n"
    # a long quoted value folded over lines holds " # " as text: never re-spaced (press # then 42 became press  #)
    from ruamel.yaml import YAML

    from director.runtime.edits import _dump, _yaml

    rt = _yaml("a: x\n")
    data = rt.load("a: x\n")
    data["a"] = "Dial the front desk, press # then 42, and ask for the manager on duty, then meet me at the dock"
    rt.width = 50
    out = _dump(rt, data, "a: x\n")
    assert YAML(typ="safe").load(out)["a"] == data["a"], out


def test_new_names_the_next_command_ready_to_paste(tmp_path):
    new = director("new", str(tmp_path / "my show"), check=True)
    assert f"director -p '{tmp_path / 'my show'}' render" in new.stdout


def test_models_hints_repeat_the_profile_asked_about():
    """Typed as printed in a project on the preview profile, the hints answered 'needs no model weights'."""
    out = director("-p", str(ROOT / "projects/demo"), "models", "--profile", "final", check=True).stdout
    assert "MISSING" not in out or "`director models --profile final pull`" in out
    assert "no CUDA GPU here" not in out or "`director models --profile final --vram 24`" in out
    # a Chinese project: the final voice speaks English only, said where the models are listed (only doctor did)
    zh = json.loads(director("-p", str(ROOT / "projects/zh-demo"), "--json", "models", "--profile", "final",
                             check=True).stdout)
    assert [w for w in zh["warnings"] if "speaks en only, and this screenplay is zh-CN" in w], zh["warnings"]
    en = json.loads(director("-p", str(ROOT / "projects/demo"), "--json", "models", "--profile", "final",
                             check=True).stdout)
    assert en["warnings"] == []


def test_clean_all_is_refused_and_names_everything(tmp_path):
    """`--all` means every episode on render, plan, status and export; on clean it removed the whole cache."""
    from tests.conftest import make_project

    project = make_project(tmp_path)
    director("-p", str(project), "render", "--until", "voice", check=True)
    cache = project / ".director" / "cache"
    before = sorted(p.name for p in cache.rglob("manifest.json"))
    proc = director("-p", str(project), "clean", "--all")
    assert proc.returncode == 2 and "clean --everything" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in cache.rglob("manifest.json")) == before and before
    assert director("-p", str(project), "--json", "clean", "--everything", check=True)
    assert not list(cache.rglob("manifest.json"))


def test_status_and_render_all_go_past_an_episode_that_cannot_be_walked(tmp_path):
    """status --all and render --all stopped at the season's first bad episode: the rest were never listed or
    rendered."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    (project / "episodes" / "ep01b.yaml").write_text("", encoding="utf-8")  # between the two good ones
    proc = director("-p", str(project), "status", "--all")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    assert "episode ep01b: cannot be walked" in proc.stderr and "ep01b.yaml:1:1" in proc.stderr, proc.stderr
    assert "episode ep01:" in proc.stdout and "episode ep02:" in proc.stdout, proc.stdout
    listed = json.loads(director("-p", str(project), "--json", "status", "--all").stdout)["episodes"]
    assert [e["episode"] for e in listed] == ["ep01", "ep01b", "ep02"] and listed[1]["exit_code"] == 3
    # and render --all renders the others, then says which one it could not, with that one's exit code
    proc = director("-p", str(project), "--json", "render", "--all")
    assert proc.returncode == 3 and "ep01b.yaml:1:1" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    done = {e["episode"]: e for e in json.loads(proc.stdout)["episodes"]}
    assert done["ep01b"]["exit_code"] == 3 and done["ep01"]["ran"] > 0 and done["ep02"]["ran"] > 0
    assert (project / "out/ep01/episode.mp4").is_file() and (project / "out/ep02/episode.mp4").is_file()
    # every episode bad: each one's trouble is said (only the first was), in JSON too
    (project / "episodes" / "ep02.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    (project / "episodes" / "ep01.yaml").write_text("", encoding="utf-8")
    proc = director("-p", str(project), "--json", "render", "--all")
    assert proc.returncode == 3 and "ep01.yaml:1:1" in proc.stderr and "ep02.yaml:" in proc.stderr, proc.stderr
    assert sorted(e["episode"] for e in json.loads(proc.stdout)["episodes"]) == ["ep01", "ep01b", "ep02"]
    # and none at all: said, not an internal error or a silent success
    (project / "director.yaml").write_text('episodes: ["nothing/*.yaml"]\n', encoding="utf-8")
    for command in ("render", "status"):
        proc = director("-p", str(project), command, "--all")
        assert proc.returncode == 3 and "no episode file matches" in proc.stderr, (command, proc.stderr)


def test_refs_lock_in_a_series_says_whose_sheet_where_episodes_made_different_ones(tmp_path):
    """The edit-commands audit: a place's sheet follows its scenes' time, so ep01 (night) and ep02 (day) made two;
    `refs lock alley` took whichever episode's state file came last, and said nothing."""
    from tests.conftest import DATA, make_project

    project = make_project(tmp_path, DATA / "series", size=None)
    ep02 = project / "episodes" / "ep02.yaml"
    ep02.write_text(ep02.read_text().replace("time: night", "time: day"))
    director("-p", str(project), "render", "--all", "--until", "refs", check=True)
    either = director("-p", str(project), "refs", "lock", "alley")
    assert either.returncode == 2 and "ep01, ep02" in either.stderr and "-e ep01" in either.stderr, either.stderr
    director("-p", str(project), "refs", "lock", "alley", "-e", "ep02", check=True)
    status = director("-p", str(project), "status", "-e", "ep02", check=True)
    assert "location reference changed" not in status.stdout, status.stdout


def test_refs_lock_keeps_a_sheet_and_a_typo_names_the_sheets_there_are(tmp_path):
    """`refs lock bob` said "render first" for a sheet that was there under another spelling; `shot set mvoe=...`
    listed the fields without saying which was meant."""
    from tests.conftest import make_project

    project = make_project(tmp_path)
    before = director("-p", str(project), "refs", "lock", "ana")
    assert before.returncode == 2 and "render first" in before.stderr, before.stderr
    director("-p", str(project), "render", "--until", "refs", check=True)
    typo = director("-p", str(project), "refs", "lock", "anna")
    assert typo.returncode == 2 and "(did you mean 'ana'?); sheets made so far: " in typo.stderr, typo.stderr
    locked = director("-p", str(project), "--json", "refs", "lock", "ana", check=True)
    sheet = json.loads(locked.stdout)["locked"]
    assert sheet.endswith("character-ana.png") and (project / "refs" / "sheets" / "character-ana.png").is_file()
    director("-p", str(project), "refs", "unlock", "ana", check=True)
    assert not (project / "refs" / "sheets" / "character-ana.png").exists()
    (project / "keep-me.png").write_bytes(b"mine")  # a path for an id deleted any .png of the project
    escape = director("-p", str(project), "refs", "unlock", "x/../../../keep-me")
    assert escape.returncode == 2 and "is not a character or location id" in escape.stderr, escape.stderr
    assert (project / "keep-me.png").read_bytes() == b"mine"
    director("-p", str(project), "plan", check=True)
    wrong = director("-p", str(project), "shot", "set", "one-01", "mvoe=static")
    assert wrong.returncode == 2 and "'mvoe' cannot be set (did you mean 'move'?)" in wrong.stderr, wrong.stderr


def test_locking_a_shot_keeps_the_cut_as_it_is(tmp_path):
    """`shot set X locked=true` made the planner's estimate a floor for the shot's length: the shot grew, every later
    shot moved and the music was cut again ("timing X runs: minimum duration changed"). A shot is now locked at
    the length it has in the episode."""
    from tests.conftest import make_project

    project = make_project(tmp_path, size=(72, 128))
    director("-p", str(project), "render", check=True)
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    before = {s["id"]: s["duration"] for s in shots}
    for shot in before:
        director("-p", str(project), "shot", "set", shot, "locked=true", check=True)
    status = json.loads(director("-p", str(project), "--json", "status", check=True).stdout)
    assert status["to_run"] == 0, status
    again = json.loads(director("-p", str(project), "--json", "render", check=True).stdout)
    assert again["ran"] == 0, again
    after = {s["id"]: s for s in yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(
        encoding="utf-8"))["shots"]}
    assert all(s["locked"] for s in after.values())
    assert any(after[k]["duration"] != v for k, v in before.items())  # the estimate gave way to the real length
    # a duration set by hand is the user's floor: locking afterwards keeps it (the lock replaced it)
    director("-p", str(project), "shot", "set", "one-01", "locked=false", check=True)
    director("-p", str(project), "shot", "set", "one-01", "duration=6", check=True)
    director("-p", str(project), "shot", "set", "one-01", "locked=true", check=True)
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert next(s for s in shots if s["id"] == "one-01")["duration"] == 6


def test_a_bible_edit_says_what_changed_in_each_episode(tmp_path):
    """A character's new description in the series bible re-planned every episode, each saying only "screenplay
    changed"."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project, ignore=shutil.ignore_patterns(".director"))
    shown = director("-p", str(project), "plan", "--all", "--show", check=True)
    # each episode's table under its name (an audit: --all dropped --show without a word)
    assert "episode ep01" in shown.stdout and "episode ep02" in shown.stdout and "pickup-01" in shown.stdout, shown.stdout
    bible = project / "series.yaml"
    bible.write_text(bible.read_text(encoding="utf-8").replace("yellow raincoat", "red raincoat"), encoding="utf-8")
    status = director("-p", str(project), "status", "-e", "ep01", check=True)
    assert "(screenplay changed: the description of mia)" in status.stderr + status.stdout, status.stderr
    rendered = director("-p", str(project), "render", "-e", "ep01", "--until", "keyframes", check=True)
    assert "the screenplay changed since the last plan: the description of mia" in rendered.stderr, rendered.stderr
    # a character the episode never shows is not named as the cause (ep01 re-planned for a line was told of ren)
    bible.write_text(bible.read_text(encoding="utf-8").replace("tall man in a grey suit", "short man"),
                     encoding="utf-8")
    ep01 = project / "episodes" / "ep01.yaml"
    ep01.write_text(ep01.read_text(encoding="utf-8").replace("another parcel.", "one more parcel."), encoding="utf-8")
    status = director("-p", str(project), "status", "-e", "ep01", check=True)
    assert "(screenplay changed)" in status.stderr and "description of ren" not in status.stderr, status.stderr


def test_episodes_are_in_their_numbers_order(tmp_path):
    """ep1, ep10, ep2: episodes sorted as text put the tenth second in every listing and `--all` render."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project, ignore=shutil.ignore_patterns(".director", "shots"))
    episodes = project / "episodes"
    text = (episodes / "ep01.yaml").read_text(encoding="utf-8")
    for path in episodes.glob("*.yaml"):
        path.unlink()
    for n in (1, 2, 10, 11, 3):
        (episodes / f"ep{n}.yaml").write_text(text, encoding="utf-8")
    from director.project import Project

    assert [p.stem for p in Project.find(project).episode_paths()] == ["ep1", "ep2", "ep3", "ep10", "ep11"]


def test_the_progress_lines_say_each_stages_total_from_its_first_job(tmp_path):
    """Totals grew as the job graph offered each shot's work ("timing [1/2]" ... "[3/3]" ... "[6/6]"): every line
    read as the stage done, then more of it."""
    import re

    from tests.conftest import make_project

    project = make_project(tmp_path, ROOT / "projects/demo", size=(72, 128))
    proc = director("-p", str(project), "render", check=True)
    totals: dict[str, set[int]] = {}
    counts: dict[str, list[int]] = {}
    for stage, n, total in re.findall(r"^([a-z]+) \[(\d+)/(\d+)\]", proc.stderr, re.M):
        totals.setdefault(stage, set()).add(int(total))
        counts.setdefault(stage, []).append(int(n))
    assert {"timing", "keyframes", "clips", "segments"} <= set(totals), proc.stderr
    for stage in ("timing", "keyframes", "clips", "segments"):
        assert len(totals[stage]) == 1 and counts[stage][-1] == next(iter(totals[stage])), (stage, proc.stderr)


def test_render_all_gives_each_episode_its_own_stage_times(tmp_path):
    """`render --all` said every episode's stages took the whole run's times (the same figures four times)."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project, ignore=shutil.ignore_patterns(".director"))
    done = json.loads(director("-p", str(project), "--json", "render", "--all", check=True).stdout)["episodes"]
    times = [{k: v["seconds"] for k, v in e["stages"].items()} for e in done]
    assert len(times) == 2 and times[0] != times[1], times
    total = json.loads(director("-p", str(project), "--json", "render", "-e", "ep01", check=True).stdout)
    assert all(v["seconds"] < 0.5 for v in total["stages"].values())  # all reused: nothing ran
    # and the season's status ends with one line an episode (four episodes were 261 lines of tables)
    ep01 = project / "episodes" / "ep01.yaml"
    ep01.write_text(ep01.read_text(encoding="utf-8").replace("another parcel.", "another parcel again."),
                    encoding="utf-8")
    status = director("-p", str(project), "status", "--all", check=True).stdout
    summary = status.split("2 episodes:\n", 1)[1].splitlines()
    assert summary[0].split()[0] == "ep01" and "to run" in summary[0], status[-500:]
    assert summary[1].split()[0] == "ep02" and "up to date" in summary[1], status[-500:]


def test_a_line_edit_leaves_an_untouched_long_line_on_one_line(tmp_path):
    """`line office/3 --emotion angry` folded another, untouched line of 120 characters in two: a diff of a line
    nobody changed."""
    from tests.conftest import make_project

    project = make_project(tmp_path, size=None)
    sp = project / "screenplay.yaml"
    long = "Only since Tuesday, and every day before it, and every night since the parcel first came to my door."
    text = sp.read_text(encoding="utf-8").replace('text: "Only since Tuesday."', f'text: "{long}"')
    sp.write_text(text, encoding="utf-8")
    line = next(ln for ln in text.splitlines() if long in ln)
    assert len(line) > 110
    director("-p", str(project), "line", "one/2", "--emotion", "angry", check=True)
    after = sp.read_text(encoding="utf-8")
    assert line in after.splitlines() and "emotion: angry" in after


@pytest.mark.parametrize("config", [True, False], ids=["director.yaml", "screenplay-only"])
def test_a_command_run_inside_a_projects_folder_finds_the_project(tmp_path, config):
    """The new-user audit: from shots/ the shot list (shots/screenplay.yaml) was read as a screenplay (seven bogus
    problems, exit 3), and from out/ "is not a director project". Folders inside a project find it, as git does."""
    project = make_project(tmp_path)
    if not config:
        (project / "director.yaml").unlink()
    director("-p", str(project), "plan", check=True)
    (project / "out/screenplay").mkdir(parents=True)
    for where in (project / "shots", project / "out/screenplay"):
        proc = director("--json", "validate", cwd=where)
        assert proc.returncode == 0, (where, proc.stdout + proc.stderr)
        assert str(project / "screenplay.yaml") in proc.stdout + proc.stderr, proc.stdout


def test_naming_an_episodes_file_with_p_picks_that_episode(tmp_path):
    """The new-user audit: `director -p episodes/ep02.yaml plan` said "this project has 2 episodes: name one with
    --episode", though the file named one."""
    import shutil

    project = tmp_path / "series"
    shutil.copytree(ROOT / "tests/data/series", project)
    proc = director("-p", str(project / "episodes/ep02.yaml"), "--json", "plan", check=True)
    assert json.loads(proc.stdout)["episode"] == "ep02", proc.stdout
    proc = director("-p", "ep01.yaml", "--json", "plan", cwd=project / "episodes", check=True)
    assert json.loads(proc.stdout)["episode"] == "ep01", proc.stdout
    both = director("-p", str(project), "plan")  # the folder names no one episode: still asked
    assert both.returncode == 2 and "--episode" in both.stderr, both.stderr


def test_a_folder_anyone_may_write_to_is_never_taken_for_a_project_above_a_command(tmp_path):
    """The review: the upward search took a screenplay.yaml in a world-writable folder (/tmp/shared/out/x)."""
    from director.errors import UsageError
    from director.project import Project

    shared = tmp_path / "shared"
    (shared / "out/x").mkdir(parents=True)
    (shared / "screenplay.yaml").write_text((ROOT / "projects/demo/screenplay.yaml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    assert Project.find(shared / "out/x").root == shared.resolve()  # the user's own folder: found
    shared.chmod(0o1777)
    with pytest.raises(UsageError):
        Project.find(shared / "out/x")


def test_import_never_writes_over_its_own_script(tmp_path):
    """The importer audit: `import a.fountain -o a.fountain --force` replaced the script with its screenplay."""
    script = tmp_path / "a.fountain"
    script.write_text("INT. CAFE - NIGHT\n\nMIA\nHello.\n")
    same = director("import", str(script), "-o", str(script), "--force", cwd=tmp_path)
    assert same.returncode == 2 and "is the script itself" in same.stderr, same.stderr
    assert script.read_text() == "INT. CAFE - NIGHT\n\nMIA\nHello.\n"


def test_with_json_an_error_is_one_json_document_on_stdout(tmp_path):
    """The edit-commands audit: `--json shot set X size=BAD`, `--json line nosuch/1` and `--json render -e nosuch`
    printed nothing on stdout (the error went to stderr as text only): a script reading stdout got no document."""
    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    for args, code in ((("shot", "set", "one-01", "size=BAD"), 3), (("line", "nosuch/1", "--text", "x"), 2),
                       (("render", "-e", "nosuch"), 2)):
        proc = director("-p", str(project), "--json", *args)
        answer = json.loads(proc.stdout)
        assert proc.returncode == code == answer["exit_code"] and answer["error"], (args, proc.stdout)
        assert ("problems" in answer) == (code == 3) and proc.stderr.strip(), proc.stderr  # and said on stderr
    usage = director("-p", str(project), "--json", "status", "--nope")  # the command line's own refusal too
    assert usage.returncode == 2 and json.loads(usage.stdout)["exit_code"] == 2 and "--nope" in usage.stdout


def test_new_help_names_every_template():
    """The edit-commands audit: the templates were named only in the error for an unknown one."""
    from director.resources import templates

    shown = director("new", "--help", check=True).stdout
    assert all(t in shown for t in templates()), shown
