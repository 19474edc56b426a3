"""`validate` as a CI gate: it checks the saved shot list as the next render reads it, and "valid" never means
"nothing was checked"."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from tests.conftest import director, make_project


@pytest.fixture
def planned(tmp_path):
    project = make_project(tmp_path)
    director("-p", str(project), "plan", check=True)
    return project


def _edit_shots(project, change) -> None:
    path = project / "shots" / "screenplay.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_a_planned_project_validates_with_its_shot_list(planned):
    proc = director("-p", str(planned), "--json", "validate")
    assert proc.returncode == 0, proc.stderr
    files = json.loads(proc.stdout)["files"]
    assert [os.path.basename(f["file"]) for f in files] == ["screenplay.yaml", "screenplay.yaml"]
    assert files[1]["file"].endswith(os.path.join("shots", "screenplay.yaml")) and files[1]["valid"]


@pytest.mark.parametrize("change, words", [
    (lambda d: d["shots"][0].update(duration=-3), "duration"),
    (lambda d: d["shots"][1].update(id=d["shots"][0]["id"]), "used twice"),
    (lambda d: d["shots"][0].update(beats=["nowhere/9"]), "nowhere/9"),
    (lambda d: d["shots"][0].update(characters=["nobody"]), "nobody"),
    (lambda d: d.update(version=99), "newer director"),
])
def test_a_broken_shot_list_fails_validate_as_it_would_fail_the_render(planned, change, words):
    _edit_shots(planned, change)
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 3, proc.stderr
    assert "shots/screenplay.yaml:" in proc.stderr and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    render = director("-p", str(planned), "render", "--until", "timing")
    assert render.returncode == 3 and words in render.stderr, render.stderr  # what validate said, render says


def test_a_shot_list_the_schema_refuses_is_checked_by_the_rules_too(planned):
    """"Every problem at once": a wrong size hid an unknown character and a beat covered twice until it was fixed."""
    def change(data):
        data["shots"][0]["size"] = "wide"
        data["shots"][1]["characters"] = ["boo"]
        data["shots"][2]["beats"] += data["shots"][1]["beats"][:1]
    _edit_shots(planned, change)
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 3 and "'wide' is not valid" in proc.stderr, proc.stderr
    assert "character 'boo' is not in the screenplay (did you mean 'bo'?)" in proc.stderr, proc.stderr
    assert "is already covered by shot" in proc.stderr and "3 problems found" in proc.stderr, proc.stderr
    # a shot the schema cannot take at all leaves out the coverage check (its beats would read as uncovered)
    _edit_shots(planned, lambda d: d["shots"][1].update(id=None))
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 3 and "not covered" not in proc.stderr, proc.stderr


def test_a_screenplay_file_outside_any_project_validates(tmp_path):
    """What ``import -o ep02.yaml`` writes, with no director.yaml beside it: ``validate ep02.yaml`` (the
    importer's own next step) failed with "not a director project" once the shot list was checked too."""
    project = make_project(tmp_path)
    (project / "director.yaml").unlink()
    (project / "screenplay.yaml").rename(project / "ep02.yaml")
    for args in (("validate", "ep02.yaml"), ("-p", "ep02.yaml", "validate")):
        proc = director(*args, cwd=project)
        assert proc.returncode == 0 and "ep02.yaml: ok" in proc.stdout, (args, proc.stdout, proc.stderr)


def test_nothing_to_validate_is_an_error_not_valid(tmp_path):
    project = make_project(tmp_path)
    (project / "director.yaml").write_text("episodes: ['eps/*.yaml']\n")
    proc = director("-p", str(project), "--json", "validate")
    assert proc.returncode == 3 and "no episode files match" in proc.stderr, proc.stderr


def test_an_episode_file_linked_out_of_the_project_is_named(tmp_path):
    project = make_project(tmp_path)
    outside = tmp_path / "elsewhere.yaml"
    (project / "screenplay.yaml").rename(outside)
    os.symlink(outside, project / "screenplay.yaml")
    for command in ("validate", "render"):
        proc = director("-p", str(project), command)
        assert proc.returncode == 3 and "leads outside the project" in proc.stderr, proc.stderr


def test_a_glob_of_every_yaml_file_leaves_director_yaml_out(tmp_path):
    project = make_project(tmp_path)
    (project / "director.yaml").write_text("episodes: ['*.yaml']\n")
    proc = director("-p", str(project), "--json", "validate")
    assert proc.returncode == 0, proc.stderr
    assert [os.path.basename(f["file"]) for f in json.loads(proc.stdout)["files"]] == ["screenplay.yaml"]


def test_a_yes_or_no_where_a_number_goes_is_not_taken_as_1(planned):
    _edit_shots(planned, lambda d: d["shots"][0].update(duration=True))
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 3 and "true is not a number" in proc.stderr, proc.stderr


@pytest.mark.parametrize("text, words", [("\u200b \u200b", "is empty"), ("Stop\x00 now", "U+0000"),
                                         ("Bell\x07", "U+0007")])
def test_a_line_of_invisible_characters_or_with_a_control_character_is_refused(tmp_path, text, words):
    from tests.hardening.helpers import edit_yaml

    project = make_project(tmp_path)

    def change(data):
        beat = next(b for sc in data["scenes"] for b in sc["beats"] if "line" in b)
        beat["line"]["text"] = text

    edit_yaml(project / "screenplay.yaml", change)
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 3 and words in proc.stderr and "screenplay.yaml:" in proc.stderr, proc.stderr


def test_a_locked_shot_the_changed_screenplay_no_longer_fits_fails_validate_too(planned):
    """A stale shot list is re-planned by the render, keeping its locked shots; one that names a character the
    screenplay renamed fails that re-plan, and validate (and status) now say so before it."""
    from tests.hardening.helpers import edit_yaml

    _edit_shots(planned, lambda d: [shot.update(locked=True) for shot in d["shots"]])
    edit_yaml(planned / "screenplay.yaml", lambda d: d["characters"].update(ann=d["characters"].pop("ana")) or [
        b["line"].update(who="ann") for sc in d["scenes"] for b in sc["beats"] if b.get("line", {}).get("who") == "ana"])
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 3 and "shots/screenplay.yaml:" in proc.stderr and "'ana'" in proc.stderr, proc.stderr
    assert "locked shot" in proc.stderr
    render = director("-p", str(planned), "render", "--until", "timing")
    # the render says it as validate does (exit 3, at the shot in the file), not as the planner's failure (exit 1)
    assert render.returncode == 3 and "'ana'" in render.stderr, render.stderr
    assert "shots/screenplay.yaml:" in render.stderr and "locked shot" in render.stderr
    assert "the planner produced" not in render.stderr


def test_a_shot_list_naming_another_episode_is_a_warning(planned):
    _edit_shots(planned, lambda d: d.update(episode="other"))
    proc = director("-p", str(planned), "validate")
    assert proc.returncode == 0 and "warning: episode 'other' is not this file's episode" in proc.stderr, proc.stderr


def test_two_episodes_with_one_name_are_refused_naming_both(tmp_path):
    """episodes/ep01.yaml and episodes/s2/ep01.yaml shared a name, a shot list and an out/ folder: validate said both
    were ok, and render --all rendered the first twice."""
    import shutil

    project = make_project(tmp_path)
    (project / "episodes" / "s2").mkdir(parents=True)
    shutil.copy(project / "screenplay.yaml", project / "episodes" / "ep01.yaml")
    shutil.copy(project / "screenplay.yaml", project / "episodes" / "s2" / "ep01.yaml")
    (project / "screenplay.yaml").unlink()
    (project / "director.yaml").write_text("episodes: ['episodes/*.yaml', 'episodes/s2/*.yaml']\n")
    for args in (("validate",), ("render", "--all")):
        proc = director("-p", str(project), *args)
        assert proc.returncode == 3 and "both named 'ep01'" in proc.stderr, (args, proc.stderr)
        assert "episodes/s2/ep01.yaml" in proc.stderr and "Traceback" not in proc.stderr
    second = project / "episodes" / "s2" / "ep01.yaml"  # an id of its own names it: no clash
    second.write_text("id: s2-ep01\n" + second.read_text(encoding="utf-8"), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    assert "both named" not in proc.stderr, proc.stderr
    # an id naming another episode's file (ep03b.yaml saying `id: ep02`): its render replaced ep02's shot list
    # and video, and validate said both were ok
    (project / "episodes" / "ep02.yaml").write_text((project / "episodes" / "ep01.yaml").read_text(encoding="utf-8"),
                                                     encoding="utf-8")
    third = project / "episodes" / "ep03b.yaml"
    third.write_text("id: ep02\n" + (project / "episodes" / "ep01.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 3 and "both named 'ep02'" in proc.stderr and "ep03b.yaml" in proc.stderr, proc.stderr
    assert "change the `id:` of episodes/ep03b.yaml" in proc.stderr, proc.stderr  # a new file name would not help
    # the same behind a BOM (a Windows editor's); an `id: ~` names no episode (it validates, named by its file)
    third.write_bytes(b"\xef\xbb\xbf" + third.read_bytes())
    proc = director("-p", str(project), "validate")
    assert proc.returncode == 3 and "both named 'ep02'" in proc.stderr, proc.stderr
    for path in (third, project / "episodes" / "ep02.yaml"):
        path.write_text("id: ~\n" + (project / "episodes" / "ep01.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    assert "both named" not in proc.stderr, proc.stderr


def test_a_mistake_in_the_series_bible_is_said_once_not_once_an_episode(tmp_path):
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    bible = project / "series.yaml"
    bible.write_text(bible.read_text(encoding="utf-8").replace("}", "", 1), encoding="utf-8")
    proc = director("-p", str(project), "validate")
    syntax = [ln for ln in proc.stderr.splitlines() if "YAML syntax error" in ln]
    assert proc.returncode == 3 and len(syntax) == 1, proc.stderr
    # and nothing that follows from it: not each episode's names as unknown, nor the bible as "got NoneType"
    assert "is not a character" not in proc.stderr and "NoneType" not in proc.stderr, proc.stderr
    assert "1 problem found" in proc.stderr, proc.stderr


def test_an_episode_file_of_a_series_is_checked_in_its_project(tmp_path):
    """`validate episodes/ep02.yaml` checked the file on its own: its bible "leaves the project folder" and every
    character was unknown (exit 3), with or without -p."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    for args, cwd in ((["validate", "episodes/ep02.yaml"], project), (["validate", "ep02.yaml"], project / "episodes"),
                      (["-p", str(project), "validate", str(project / "episodes/ep02.yaml")], tmp_path)):
        proc = director(*args, cwd=cwd)
        assert proc.returncode == 0 and "ep02.yaml: ok" in proc.stdout, (args, proc.stdout, proc.stderr)
    # and a mistake in it is still found, at its line
    ep02 = project / "episodes/ep02.yaml"
    ep02.write_text(ep02.read_text(encoding="utf-8").replace("who: zoe", "who: zoey"), encoding="utf-8")
    proc = director("validate", "episodes/ep02.yaml", cwd=project)
    assert proc.returncode == 3 and "'zoey' is not a character" in proc.stderr and "leaves" not in proc.stderr


def test_a_file_named_through_dot_dot_is_checked_in_its_own_folder_and_odd_planners_are_said(tmp_path):
    """From inside a series, `validate ../solo/ep.yaml` was checked in the series' project (the walk up did not
    resolve ".."); a shot list's `planner: [rules]` was an internal error once rules ran on refused lists."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    solo = tmp_path / "solo"
    solo.mkdir()
    shutil.copy(DATA / "short" / "screenplay.yaml", solo / "ep.yaml")
    proc = director("validate", "../solo/ep.yaml", cwd=project)
    assert proc.returncode == 0 and "ep.yaml: ok" in proc.stdout, proc.stderr
    shots = project / "shots" / "ep02.yaml"
    shots.write_text(shots.read_text(encoding="utf-8").replace("planner: rules", "planner: [rules]"), encoding="utf-8")
    for args in (["validate"], ["status", "-e", "ep02"]):
        proc = director("-p", str(project), *args)
        assert proc.returncode == 3 and "planner" in proc.stderr and "internal error" not in proc.stderr, proc.stderr


def test_an_edit_finds_its_episode_in_a_shot_list_laid_out_by_hand(tmp_path):
    """The episode of `shot set ID` was found by a regex on `- id: ID`: an indented list, or an id with a comment
    after it, was "in no episode"."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    shots = project / "shots" / "ep02.yaml"
    text = shots.read_text(encoding="utf-8")
    assert "\n- id: meet-01\n" in text
    body = text.split("\nshots:\n", 1)
    indented = "\n".join("  " + ln if ln.startswith(("- ", "  ")) else ln for ln in body[1].split("\n"))
    shots.write_text(body[0] + "\nshots:\n" + indented.replace("  - id: meet-01\n", "  - id: meet-01  # opening\n"),
                     encoding="utf-8")
    director("-p", str(project), "validate", check=True)
    done = director("-p", str(project), "shot", "set", "meet-01", "move=static", check=True)
    assert done.stdout.startswith("ep02: meet-01: move=static"), done.stdout
    bad = director("-p", str(project), "line", "meet", "--text", "x")
    assert bad.returncode == 2 and "scene-id/N" in bad.stderr, bad.stderr
    # an episode whose id can name no file is its own commands' problem, not every episode's
    (project / "episodes" / "ep03.yaml").write_text("id: ../../evil\n" + (project / "episodes" / "ep01.yaml").read_text(
        encoding="utf-8"), encoding="utf-8")
    done = director("-p", str(project), "shot", "set", "meet-01", "move=pan-left", check=True)
    assert done.stdout.startswith("ep02: meet-01: move=pan-left"), done.stdout
