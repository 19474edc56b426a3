"""A render with nothing changed is answered from its stamp, before the engine is imported; a change to anything a
key is made from, or to a file the episode is made of, takes the full path (runtime/uptodate.py, cli/fast.py)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from director.cli.fast import parse
from tests.conftest import director, make_project


def _render(project: Path, *args: str, env: dict | None = None) -> dict:
    return json.loads(director("-p", str(project), "--json", "render", *args, check=True, env=env).stdout)


def _runs(project: Path) -> int:
    return len(list((project / ".director" / "runs").glob("*.json")))


@pytest.fixture
def rendered(tmp_path) -> tuple[Path, dict]:
    project = make_project(tmp_path)
    return project, _render(project)


def test_nothing_changed_is_answered_from_the_stamp_without_the_engine(rendered):
    project, first = rendered
    runs = _runs(project)
    proc = director("-p", str(project), "--json", "render", check=True, env={"PYTHONPROFILEIMPORTTIME": "1"})
    again = json.loads(proc.stdout)
    assert again["up_to_date"] is True and again["ran"] == 0
    assert again["reused"] == first["ran"] + first["reused"]
    assert again["outputs"] == first["outputs"] and again["duration"] == first["duration"]
    assert {k: v["reused"] for k, v in again["stages"].items()} == \
        {k: v["ran"] + v["reused"] for k, v in first["stages"].items()}
    assert _runs(project) == runs  # answered: no render ran
    assert "director.runtime.engine" not in proc.stderr and "typer" not in proc.stderr  # nor was it imported
    text = director("-p", str(project), "render", check=True).stdout
    assert "up to date" in text and "episode.mp4" in text
    # the outputs in the order a render lists them (the video first, not after the ASS)
    said = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  ") and ": /" in line]
    assert said == list(first["outputs"]), (said, first["outputs"])


def test_an_edit_or_new_code_takes_the_full_path_and_stamps_again(rendered, tmp_path):
    """director's own code is an input: an upgrade re-renders what it changed (here: nothing, the keys are equal).
    The code changed is a copy of the package (touching the real one would race the tests running beside)."""
    project, _ = rendered
    script = project / "screenplay.yaml"
    assert "Only since Tuesday." in script.read_text()
    script.write_text(script.read_text().replace("Only since Tuesday.", "Only since Monday."))
    edited = _render(project)
    assert "up_to_date" not in edited and edited["ran"] >= 1
    assert _render(project)["up_to_date"] is True
    code = tmp_path / "code"
    shutil.copytree(Path(sys.modules["director.cli.fast"].__file__).parents[1], code / "director",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def with_copy() -> dict:  # python -m director from there imports the copy
        return json.loads(director("-p", str(project), "--json", "render", cwd=code, check=True).stdout)

    assert "up_to_date" not in with_copy()  # another installation is another input
    assert with_copy()["up_to_date"] is True
    os.utime(code / "director" / "shots.py")
    assert "up_to_date" not in with_copy()


def test_a_damaged_output_or_cache_entry_takes_the_full_path(rendered):
    project, first = rendered
    video = Path(first["outputs"]["video"])
    video.unlink()
    again = _render(project)
    assert "up_to_date" not in again and video.is_file()
    assert _render(project)["up_to_date"] is True
    clip = next((project / ".director" / "cache" / "clips").rglob("clip.json"))
    with open(clip, "ab") as f:  # torn: the stat no longer matches the entry's
        f.write(b"\0")
    repaired = _render(project)
    assert "up_to_date" not in repaired and repaired["ran"] >= 1


def test_partial_renders_leave_no_stamp_and_remove_the_others(rendered):
    project, first = rendered
    assert _render(project)["up_to_date"] is True
    record = json.loads(Path(first["record"]).read_text())
    shot = next(j["shot"] for j in record["jobs"] if j.get("shot"))
    for partial in (["--shots", shot], ["--until", "keyframes"]):
        assert _render(project)["up_to_date"] is True
        assert "up_to_date" not in _render(project, *partial)  # never answered from the stamp
        assert "up_to_date" not in _render(project)  # and it removed the stamp
    assert _render(project)["up_to_date"] is True
    assert "up_to_date" not in _render(project, "--profile", "preview")  # another question: its own stamp
    assert _render(project, "--profile", "preview")["up_to_date"] is True


@pytest.mark.parametrize("argv, plain", [
    (["render"], True),
    (["-q", "-p", "x", "--json", "render", "--episode", "ep1", "--profile", "final"], True),
    (["--project", "x", "render", "-e", "ep1"], True),
    (["render", "--episode", "a,b"], False),
    (["render", "--all"], False),
    (["render", "--shots", "s1"], False),
    (["render", "--profile", "draft"], False),
    (["-v", "render"], False),
    (["status"], False),
    (["render", "--episode"], False),
    ([], False),
])
def test_only_a_plain_render_is_answered_short(argv, plain):
    assert (parse(argv) is not None) is plain


def test_the_digest_sees_nested_out_folders_and_follows_linked_folders(tmp_path):
    """Only the top level's .director/, out/ and .git/ are skipped; a linked folder is its target's files."""
    from director.runtime.uptodate import inputs_digest

    (tmp_path / "art" / "out").mkdir(parents=True)
    (tmp_path / "art" / "out" / "ana.png").write_bytes(b"1")
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    (tmp_path / "v1" / "bo.png").write_bytes(b"one")
    (tmp_path / "v2" / "bo.png").write_bytes(b"two!")
    (tmp_path / "refs").symlink_to("v1", target_is_directory=True)
    (tmp_path / "out").mkdir()
    first = inputs_digest(tmp_path, {})
    (tmp_path / "out" / "episode.mp4").write_bytes(b"published")  # an output is not an input
    assert inputs_digest(tmp_path, {}) == first
    (tmp_path / "art" / "out" / "ana.png").write_bytes(b"22")
    second = inputs_digest(tmp_path, {})
    assert second != first
    (tmp_path / "refs").unlink()
    (tmp_path / "refs").symlink_to("v2", target_is_directory=True)
    assert inputs_digest(tmp_path, {}) != second
    (tmp_path / "v2" / "loop").symlink_to("..", target_is_directory=True)  # a loop ends
    assert inputs_digest(tmp_path, {})


def test_a_link_out_of_the_project_is_named_not_walked(tmp_path):
    """Nothing a render reads may lie outside the project, so a link to / (or /usr) is not walked: it made every
    render, the no-op one included, stat the whole file system (74 s, 337 MB). Where it points still counts."""
    from director.runtime import uptodate

    project, outside, other = tmp_path / "p", tmp_path / "elsewhere", tmp_path / "other"
    for folder in (project, outside, other):
        folder.mkdir()
    (outside / "big.bin").write_bytes(b"x")
    (project / "shared").symlink_to(outside, target_is_directory=True)
    files = uptodate.project_files(project)
    assert files == {"shared/": f"-> {outside}"}
    first = uptodate.inputs_digest(project, {})
    (outside / "big.bin").write_bytes(b"changed")
    assert uptodate.inputs_digest(project, {}) == first
    (project / "shared").unlink()
    (project / "shared").symlink_to(other, target_is_directory=True)
    assert uptodate.inputs_digest(project, {}) != first


def test_what_a_stamp_covers_beyond_the_inputs(rendered):
    """Every published file (panels, the ASS, run.json) and the backends' own modules are in the stamp."""
    project, first = rendered
    stamp = json.loads(next((project / ".director" / "uptodate").glob("*.json")).read_text())
    files = list(stamp["files"])
    assert any(f.endswith(os.path.join("backends", "preview", "panel.py")) for f in files)
    assert any(f.endswith("run.json") for f in files)
    (project / "out" / "screenplay" / "run.json").unlink()
    assert "up_to_date" not in _render(project)
    assert (project / "out" / "screenplay" / "run.json").is_file()


def test_an_input_edited_during_a_render_is_not_stamped_as_rendered(rendered, monkeypatch):
    from director.project import Project
    from director.runtime import uptodate

    project, first = rendered
    loaded = Project.find(project)
    record = json.loads(Path(first["record"]).read_text())
    for path in (project / ".director" / "uptodate").glob("*.json"):
        path.unlink()
    before = uptodate.inputs_digest(project, {"episode": None, "profile": None})
    (project / "screenplay.yaml").write_text((project / "screenplay.yaml").read_text() + "\n")  # while it rendered
    uptodate.remember(loaded, None, None, before, record, first["outputs"], first["duration"],
                      project / "out" / "screenplay", [])
    assert not list((project / ".director" / "uptodate").glob("*.json"))


def test_a_screenplay_file_names_its_own_episode_and_is_never_answered_short(tmp_path):
    folder = make_project(tmp_path)
    (folder / "director.yaml").unlink()
    second = folder / "other.yaml"
    second.write_text((folder / "screenplay.yaml").read_text().replace("Only since Tuesday.", "Since Monday."))
    one = json.loads(director("-p", str(folder / "screenplay.yaml"), "--json", "render", check=True).stdout)
    other = json.loads(director("-p", str(second), "--json", "render", check=True).stdout)
    assert "up_to_date" not in other and other["episode"] == "other" != one["episode"]
    assert not (folder / ".director" / "uptodate").exists() or \
        not list((folder / ".director" / "uptodate").glob("*.json"))


def test_a_shot_list_or_config_saved_while_the_render_read_them_is_not_stamped(rendered, monkeypatch):
    """The planner's own write of the shot list is no change; a seed saved into it while the render planned, or a
    director.yaml saved after the command line read it, is: no stamp (a plain render then renders), and
    ``render --watch`` renders again (``RenderOutcome.inputs`` is None)."""
    import director.plan as plan
    import yaml

    from director.project import Project
    from director.runtime.render import render
    from director.runtime.watch import look

    project, _ = rendered
    stamps = project / ".director" / "uptodate"
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since June."))  # re-planned: the planner writes
    outcome = render(Project.find(project))
    assert outcome.inputs == look(project) and list(stamps.glob("*.json"))  # its own write, stamped

    planned = plan.current_shots

    def and_a_seed_saved(*args, **kwargs):
        got = planned(*args, **kwargs)
        shots = project / "shots" / "screenplay.yaml"
        data = yaml.safe_load(shots.read_text())
        data["shots"][0]["seed"] += 1
        shots.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return got

    sp.write_text(sp.read_text().replace("Only since June.", "Only since July."))
    monkeypatch.setattr(plan, "current_shots", and_a_seed_saved)
    outcome = render(Project.find(project))
    assert outcome.inputs is None and not list(stamps.glob("*.json"))
    monkeypatch.undo()
    assert _render(project)["ran"] > 0  # the seed is rendered

    opened = Project.find(project)
    config = project / "director.yaml"
    config.write_text(config.read_text() + "# saved after the command line read it\n")
    outcome = render(opened)
    assert outcome.inputs is None and not list(stamps.glob("*.json"))


def test_a_project_opened_through_a_linked_folder_is_stamped(rendered, tmp_path):
    """``-p "$PWD"`` under a linked folder (macOS's /tmp is one): the config's name in the snapshot is the resolved
    root's; a render through the link is answered from its stamp the second time."""
    project, _ = rendered
    link = tmp_path / "link"
    link.symlink_to(project)
    sp = project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("Only since Tuesday.", "Only since August."))
    assert "up_to_date" not in _render(link)
    assert _render(link)["up_to_date"] is True


def test_a_process_stamps_the_code_it_started_with(monkeypatch):
    """``render --watch`` runs the code it imported: its stamps name that code, not a newer copy on disk."""
    from director.runtime import uptodate

    walked = []
    tree = uptodate._tree
    monkeypatch.setattr(uptodate, "_tree", lambda out, root, prefix, skip: (walked.append(prefix),
                                                                             tree(out, root, prefix, skip)))
    uptodate._code_files.cache_clear()
    first = uptodate.snapshot(Path("."), {})
    second = uptodate.snapshot(Path("."), {})
    assert walked.count("code:") == 1 and walked.count("project:") == 2
    assert {k: v for k, v in first.items() if k.startswith("code:")} == \
        {k: v for k, v in second.items() if k.startswith("code:")}


def test_status_after_a_line_edit_says_the_music_cue_waits_as_one_not_changed_per_shot(rendered):
    """The edit-commands audit: with timing to run, status retried the music stage shot by shot, and one shot's
    share of a cue is a cue of another length: "music one/1 runs: cue length changed" (and one row per shot),
    where the render then reused the cue."""
    project, _ = rendered
    director("-p", str(project), "line", "one/3", "--text", "Only since Sunday, Ana. Really.", check=True)
    said = json.loads(director("-p", str(project), "--json", "status", check=True).stdout)
    music = [j for j in said["jobs"] if j["stage"] == "music"]
    assert [j["status"] for j in music] == ["waits"], music
    again = _render(project)
    assert again["stages"]["music"]["ran"] == 0 and again["stages"]["music"]["reused"] == 1, again["stages"]["music"]
