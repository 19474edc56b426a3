"""Class 1: ids and paths from user files can never make director write outside the project."""
from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import director, make_project
from tests.hardening.helpers import assert_clean_failure, edit_yaml, snapshot


@pytest.fixture
def arena(tmp_path):
    """A project inside an arena that also holds a victim's files beside it."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "director.yaml").write_text("episodes: [precious.yaml]\n")
    (tmp_path / "x.jpg").write_bytes(b"keep me")
    project = make_project(tmp_path / "work")
    return tmp_path, project


@pytest.mark.parametrize("episode_id", ["../../victim/director", "/tmp/abs-director-episode", "", "a/b", "..",
                                        "a\\b", "ep\x07", "x" * 65, ".hidden", "con sole"])
def test_an_episode_id_that_is_not_a_plain_name_is_refused_and_nothing_outside_changes(arena, episode_id):
    arena_dir, project = arena
    edit_yaml(project / "screenplay.yaml", lambda d: d.update(id=episode_id))
    before = snapshot(arena_dir, skip=project)
    # every command for the escapes; the other malformed ids are refused by the same load, so validate suffices
    escapes = episode_id in ("../../victim/director", "/tmp/abs-director-episode", "a/b")
    commands = (["validate"], ["plan"], ["render", "--until", "keyframes"], ["status"]) if escapes else (["plan"],)
    for command in commands:
        proc = director("-p", str(project), *command)
        assert_clean_failure(proc)
        assert "screenplay.yaml:" in proc.stderr and "episode id" in proc.stderr
    assert snapshot(arena_dir, skip=project) == before
    assert not (project / "shots").exists() and not (project / "out").exists()


def test_ids_in_any_script_are_valid_and_render(tmp_path):
    project = make_project(tmp_path)

    def chinese(d):
        d["id"] = "第1集"
        d["characters"] = {"安娜": d["characters"]["ana"], "bo": d["characters"]["bo"]}
        for scene in d["scenes"]:
            for beat in scene["beats"]:
                if "line" in beat and beat["line"]["who"] == "ana":
                    beat["line"]["who"] = "安娜"
        d["scenes"][0]["id"] = "开场"
    edit_yaml(project / "screenplay.yaml", chinese)
    director("-p", str(project), "validate", check=True)
    director("-p", str(project), "render", "--until", "keyframes", check=True)
    assert (project / "shots" / "第1集.yaml").exists()


def test_a_hand_edited_shot_id_that_escapes_is_refused_before_anything_is_written(arena):
    arena_dir, project = arena
    director("-p", str(project), "plan", check=True)
    shots = project / "shots" / "screenplay.yaml"
    data = yaml.safe_load(shots.read_text())
    data["shots"][0]["id"] = "../../../../x"
    shots.write_text(yaml.safe_dump(data, sort_keys=False))
    before = snapshot(arena_dir, skip=project)
    proc = director("-p", str(project), "render")
    assert_clean_failure(proc)
    assert "shots/screenplay.yaml:" in proc.stderr and "shot id" in proc.stderr
    assert snapshot(arena_dir, skip=project) == before
    assert not (project / ".director" / "cache").exists()  # refused before the first stage ran


@pytest.mark.parametrize("ident", ["a/b", "..", "", "x" * 100, "tab\there", "con", "LPT1"])  # a Windows device name too
def test_character_location_and_scene_ids_name_the_allowed_characters(tmp_path, ident):
    project = make_project(tmp_path)

    def bad(d):
        d["characters"][ident] = {"description": "someone"}
        d["locations"][ident] = {"description": "somewhere"}
        d["scenes"][1]["id"] = ident
    edit_yaml(project / "screenplay.yaml", bad)
    proc = director("-p", str(project), "validate")
    assert_clean_failure(proc)
    assert proc.stderr.count("screenplay.yaml:") >= 3
    assert "character id" in proc.stderr and "location id" in proc.stderr and "scene id" in proc.stderr


def test_the_project_path_helper_refuses_escapes_and_symlinks_out(tmp_path):
    from director.paths import UnsafePath, inside

    root = tmp_path / "p"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    assert inside(root, root / "a" / "b.txt") == (root / "a" / "b.txt").resolve()
    for bad in (root / ".." / "x", root / "link" / "x", tmp_path / "elsewhere", root / "a\x00b",
                root / ("n" * 300)):
        with pytest.raises(UnsafePath):
            inside(root, bad)


def test_a_director_yaml_anyone_could_have_written_does_not_speak_for_a_file_below_it(tmp_path):
    """A file's project is the nearest director.yaml above it: a stranger's /tmp/director.yaml (naming its own LLM
    endpoint) took over a screenplay below /tmp, and the user's key and script went to that endpoint. The walk
    stops at a folder anyone may write to, and a project is taken only where it lists the file."""
    import os
    import shutil

    from tests.conftest import DATA

    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    os.chmod(shared, 0o777)
    (shared / "director.yaml").write_text("profile: stolen\n", encoding="utf-8")  # it would fail, if it were read
    shutil.copy(DATA / "short" / "screenplay.yaml", shared / "sub" / "ep.yaml")
    proc = director("validate", str(shared / "sub" / "ep.yaml"))
    assert proc.returncode == 0 and "ep.yaml: ok" in proc.stdout, proc.stderr
    mine = tmp_path / "mine"
    (mine / "drafts").mkdir(parents=True)
    (mine / "director.yaml").write_text('episodes: ["episodes/*.yaml"]\nplanner: {backend: llm}\n', encoding="utf-8")
    shutil.copy(DATA / "short" / "screenplay.yaml", mine / "drafts" / "ep.yaml")
    data = json.loads(director("--json", "-p", str(mine / "drafts" / "ep.yaml"), "status", check=True).stdout)
    assert data["episode"] == "ep"  # the file on its own: the project above does not list it


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() != 0,
                    reason="giving files to other users needs root")
def test_a_project_of_the_files_own_owner_speaks_for_it_and_a_third_users_does_not(tmp_path):
    """Root in a container over a volume of the host's user (uid 1000) checked a series' episode on its own; a
    director.yaml of yet another user still never speaks for that user's file."""
    import os
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    for folder, _, files in os.walk(project):
        os.chown(folder, 1000, 1000)
        for name in files:
            os.chown(os.path.join(folder, name), 1000, 1000)
    proc = director("validate", str(project / "episodes" / "ep02.yaml"))
    assert proc.returncode == 0 and "ep02.yaml: ok" in proc.stdout, proc.stderr
    os.chown(project / "director.yaml", 1001, 1001)
    proc = director("validate", str(project / "episodes" / "ep02.yaml"))
    assert proc.returncode == 3 and "leaves the project folder" in proc.stderr, proc.stderr  # on its own, as before
