"""Partial renders (--until, --only, --shots) and `clean`."""
from __future__ import annotations

import json
import shlex

import pytest

from tests.conftest import director


def test_until_keyframes_gives_a_storyboard_and_no_video(small_project):
    out = json.loads(director("-p", str(small_project), "--json", "render", "--until", "keyframes", check=True).stdout)
    assert set(out["stages"]) == {"refs", "keyframes"} and out["stages"]["refs"]["ran"] == 4  # 2 people, 2 places
    assert (small_project / "out/screenplay/storyboard.png").exists()
    assert not (small_project / "out/screenplay/episode.mp4").exists()
    only = json.loads(director("-p", str(small_project), "--json", "render", "--only", "voice", check=True).stdout)
    assert set(only["stages"]) >= {"voice"} and only["stages"]["voice"]["ran"] == 3
    assert only["stages"]["keyframes"]["ran"] == 0


def test_only_a_later_stage_without_its_inputs_says_what_to_run(small_project):
    proc = director("-p", str(small_project), "render", "--only", "clips")
    assert proc.returncode == 1 and "render the earlier stages first" in proc.stderr and "Traceback" not in proc.stderr
    # as the user pastes it: with the -p they gave (an audit: the hint without it said "not a director project")
    assert f"director -p {shlex.quote(str(small_project))} render --until timing" in proc.stderr, proc.stderr
    here = director("render", "--only", "clips", cwd=small_project)
    assert "first: director render --until timing" in here.stderr, here.stderr


def test_a_partial_renders_hint_names_the_episode_where_the_project_has_several(tmp_path):
    """A review: in a series, the pasted hint asked which episode (`-p …/ep02.yaml` had picked it)."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    proc = director("-p", str(project / "episodes" / "ep02.yaml"), "render", "--only", "timing")
    assert f"first: director -p {shlex.quote(str(project))} render --until voice -e ep02" in proc.stderr, proc.stderr


def test_only_a_stage_needs_its_own_inputs_not_every_earlier_stage(small_project):
    """``--only voice`` on a fresh project failed on the keyframes' missing refs, and ``--only sfx`` on the clips'
    missing timing: stages it does not need, only looked up on the way."""
    for stage in ("voice", "sfx"):
        out = json.loads(director("-p", str(small_project), "--json", "render", "--only", stage, check=True).stdout)
        assert out["stages"][stage]["ran"] >= 1, (stage, out["stages"])
        assert all(v["ran"] == 0 for k, v in out["stages"].items() if k != stage), out["stages"]


def test_shots_renders_only_the_named_shots(small_project):
    director("-p", str(small_project), "plan", check=True)
    out = json.loads(director("-p", str(small_project), "--json", "render", "--shots", "one-02", check=True).stdout)
    assert out["stages"]["keyframes"]["ran"] == 1 and out["stages"]["clips"]["ran"] == 1
    assert "assemble" not in out["stages"]
    [note] = [n for n in out["notes"] if "--shots renders only the named shots" in n]  # one note, not one a stage
    assert "not all rendered yet" in note and "of shot one-0" in note and "assemble" in note, note
    bad = director("-p", str(small_project), "render", "--shots", "one-2")
    assert bad.returncode == 2 and "did you mean 'one-02'" in bad.stderr


def test_shots_remake_the_episode_from_the_named_shots_and_everything_cached(small_project):
    director("-p", str(small_project), "render", check=True)
    episode = small_project / "out" / "screenplay" / "episode.mp4"
    before = episode.read_bytes()
    director("-p", str(small_project), "shot", "set", "one-02", "move=pan-left", check=True)
    out = json.loads(director("-p", str(small_project), "--json", "render", "--shots", "one-02", check=True).stdout)
    assert out["stages"]["clips"]["ran"] == 1 and out["stages"]["keyframes"]["ran"] == 1
    assert out["stages"]["assemble"]["ran"] == 1  # the episode is joined again with the new shot
    assert out["stages"]["voice"]["ran"] == 0 and out["stages"]["mix"]["ran"] == 0  # nothing else is made
    assert episode.read_bytes() != before
    status = json.loads(director("-p", str(small_project), "--json", "status", check=True).stdout)
    assert status["to_run"] == 0, [r for r in status["jobs"] if r["status"] != "cached"]


def test_clean_removes_only_what_no_plan_uses(small_project):
    director("-p", str(small_project), "render", check=True)
    sp = small_project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("She never asked why.", "She never asked."))
    director("-p", str(small_project), "render", check=True)
    dry = json.loads(director("-p", str(small_project), "--json", "clean", "--dry-run", check=True).stdout)
    assert dry["removed"] >= 4  # the old narration voice, its timing, subtitles, mix, assembly
    # and which (a dry run said only how many): the old voice, by its words
    assert len(dry["entries"]) == dry["removed"] and sum(e["bytes"] for e in dry["entries"]) == dry["bytes"]
    assert {"stage": "voice", "for": "She never asked why."}.items() <= next(
        e for e in dry["entries"] if e["stage"] == "voice").items(), dry["entries"]
    text = director("-p", str(small_project), "clean", "--dry-run", check=True).stdout
    assert "  voice: 1 (" in text and "She never asked why." in text, text
    done = json.loads(director("-p", str(small_project), "--json", "clean", check=True).stdout)
    assert done["removed"] == dry["removed"]
    again = json.loads(director("-p", str(small_project), "--json", "render", check=True).stdout)
    assert again["ran"] == 0  # everything the current plan needs was kept


@pytest.mark.parametrize("died", [True, False], ids=["render-killed", "render-finished"])
def test_clean_after_a_killed_render_keeps_what_it_made_before_it_could_record_it(small_project, died):
    """The chaos audit: a render saves what it finished once a second, and `clean` after a kill -9 removed entries
    made in the last second (all of them, before the first save), which the current plan then made again. Here,
    the render's record of them is gone as a kill leaves it, and the lock file names the holder that died."""
    import time

    started = time.time()
    director("-p", str(small_project), "render", check=True)
    for state in (small_project / ".director/state").glob("*.json"):
        if state.name != "takes":
            state.unlink()
    lock = small_project / ".director/lock"
    lock.write_text(json.dumps({"pid": 999999, "started": "", "command": "render", "since": started})
                    if died else "")
    dry = json.loads(director("-p", str(small_project), "--json", "clean", "--dry-run", check=True).stdout)
    done = json.loads(director("-p", str(small_project), "--json", "clean", check=True).stdout)
    assert done["removed"] == dry["removed"]  # the review: a dry run used up the record of the render that died
    again = json.loads(director("-p", str(small_project), "--json", "render", check=True).stdout)
    if died:
        assert done["removed"] == 0 and again["ran"] == 0, (done, again["ran"])
    else:  # what no record names goes, as before (the test can tell the two apart)
        assert done["removed"] > 0 and again["ran"] > 0, (done, again["ran"])


def test_shots_naming_no_shot_is_a_usage_error_not_a_full_render(small_project):
    for value in ("", ",", " , "):
        proc = director("-p", str(small_project), "render", "--shots", value)
        assert proc.returncode == 2 and "--shots names no shot" in proc.stderr, proc.stderr
    assert not (small_project / "out").exists()


def test_an_earlier_take_survives_clean_and_a_picked_take_survives_a_re_plan(small_project):
    """``clean`` removed earlier takes (unreferenced) and a pick rendered the take again; a re-plan after a line
    edit elsewhere replaced the take picked by hand with the planner's seed."""
    p = ("-p", str(small_project))
    director(*p, "render", check=True)
    first = json.loads(director(*p, "--json", "take", "list", "one-02", check=True).stdout)["takes"][0]["seed"]
    director(*p, "shot", "regen", "one-02", "--seed", "77", check=True)
    director(*p, "render", check=True)
    director(*p, "clean", check=True)
    picked = json.loads(director(*p, "--json", "take", "pick", "one-02", "1", check=True).stdout)
    assert picked["seed"] == first
    again = json.loads(director(*p, "--json", "render", check=True).stdout)
    assert again["stages"]["keyframes"]["ran"] == 0 and again["stages"]["clips"]["ran"] == 0, again["stages"]
    sp = small_project / "screenplay.yaml"  # a beat added: the episode is re-planned
    sp.write_text(sp.read_text(encoding="utf-8").replace('      - sfx: door\n', '      - sfx: door\n'
                                                         '      - action: "Bo sits down."\n'), encoding="utf-8")
    director(*p, "plan", check=True)
    director(*p, "take", "pick", "one-02", "2", check=True)  # take 2 (seed 77), then the screenplay changes
    sp.write_text(sp.read_text(encoding="utf-8").replace('"Bo sits down."', '"Bo sits down slowly."'),
                  encoding="utf-8")
    planned = director(*p, "plan", check=True)
    taken = json.loads(director(*p, "--json", "take", "list", "one-02", check=True).stdout)["takes"]
    assert next(t for t in taken if t["current"])["seed"] == 77, taken
    assert "edited by hand" not in planned.stdout + planned.stderr


def test_plan_and_status_take_every_episode_with_all(tmp_path):
    """A series: plan and status had no --all (render and export did), and status named no episode."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    planned = json.loads(director("-p", str(project), "--json", "plan", "--all", check=True).stdout)
    assert [e["episode"] for e in planned["episodes"]] == ["ep01", "ep02"]
    assert all((project / "shots" / f"{e}.yaml").exists() for e in ("ep01", "ep02"))
    status = json.loads(director("-p", str(project), "--json", "status", "--all", check=True).stdout)
    assert [e["episode"] for e in status["episodes"]] == ["ep01", "ep02"] and all(e["to_run"] for e in status["episodes"])
    one = director("-p", str(project), "status", check=True).stdout
    assert "other episodes: ep02" in one
    both = director("-p", str(project), "plan", "--all", "-e", "ep01")
    assert both.returncode == 2 and "--all and --episode" in both.stderr
    import yaml
    other = yaml.safe_load((project / "shots" / "ep02.yaml").read_text(encoding="utf-8"))["shots"][0]["id"]
    wrong = director("-p", str(project), "shot", "regen", other, "-e", "ep01")
    assert wrong.returncode == 2 and "it is in episode ep02: add -e ep02" in wrong.stderr, wrong.stderr
    # without -e, the first episode stood in for the one meant: an edit goes to the one episode that has the shot
    # or scene, saying which, and is refused where several have it (or none); a render names one or takes --all
    found = director("-p", str(project), "shot", "set", other, "size=CU", check=True)
    assert found.stdout.startswith(f"ep02: {other}: size=CU")
    shots_only = json.loads(director("-p", str(project), "--json", "render", "--shots", other, "--until", "refs",
                                     check=True).stdout)  # as `shot` finds its episode (it asked for -e)
    assert shots_only["episode"] == "ep02", shots_only
    assert yaml.safe_load((project / "shots" / "ep02.yaml").read_text(encoding="utf-8"))["shots"][0]["size"] == "CU"
    (project / "episodes" / "ep03.yaml").write_text((project / "episodes" / "ep02.yaml").read_text(
        encoding="utf-8").replace("\nid:", "\nnot_id:"), encoding="utf-8")
    scene = other.rsplit("-", 1)[0]
    both = director("-p", str(project), "line", f"{scene}/1", "--text", "Hi.")
    assert both.returncode == 2 and f"scene {scene} is in episodes ep02, ep03: name one with --episode NAME" \
        in both.stderr, both.stderr
    for args in (["line", "nowhere/1", "--text", "Hi."], ["render"], ["export", "-f", "edl"]):
        refused = director("-p", str(project), *args)
        assert refused.returncode == 2 and "error: " in refused.stderr and "--episode NAME" in refused.stderr, args


def test_a_bible_change_re_plans_only_the_episodes_that_name_what_changed(tmp_path):
    """Ren's new description re-planned ep01 too (Ren is not in it), and its hand-edited shot was replaced."""
    import shutil

    import yaml

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project)
    director("-p", str(project), "plan", "--all", check=True)
    path = project / "shots" / "ep01.yaml"
    shot = yaml.safe_load(path.read_text(encoding="utf-8"))["shots"][0]["id"]
    director("-p", str(project), "shot", "set", shot, "move=dolly-in", "-e", "ep01", check=True)
    bible = project / "series.yaml"
    bible.write_text(bible.read_text(encoding="utf-8").replace("tall man in a grey suit", "tall man, scarred"),
                     encoding="utf-8")
    other = (project / "shots" / "ep02.yaml").read_text(encoding="utf-8")
    director("-p", str(project), "render", "--all", "--until", "refs", check=True)  # re-plans what is out of date
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["shots"][0]["move"] == "dolly-in"  # kept
    assert (project / "shots" / "ep02.yaml").read_text(encoding="utf-8") != other  # Ren is in ep02: planned again


def test_a_render_removes_what_writers_killed_mid_write_left_beside_its_files(small_project):
    """The chaos audit: a kill while publishing left out/screenplay/.episode.mp4.<random>.tmp (2 MB), a kill while
    planning shots/.screenplay.yaml.<random>.tmp, and no later render or clean removed them."""
    import os

    director("-p", str(small_project), "render", check=True)
    from director.store.files import temp_beside

    old = [temp_beside(small_project / "out/screenplay/episode.mp4"),
           temp_beside(small_project / "out/screenplay/storyboard.png", ".tmp.png"),
           temp_beside(small_project / "shots/screenplay.yaml"), temp_beside(small_project / "screenplay.yaml")]
    young = temp_beside(small_project / "shots/screenplay.yaml")  # a studio edit may be writing it now
    mine = [small_project / "out/screenplay/.my-notes.tmp",  # no writer of director's names a file so
            small_project / ".notes.20250101.tmp"]
    for path in [*old, young, *mine]:
        path.write_bytes(b"x" * 100)
    for path in [*old, *mine]:
        os.utime(path, (1e9, 1e9))
    sp = small_project / "screenplay.yaml"
    sp.write_text(sp.read_text().replace("She never asked why.", "She never asked."))
    director("-p", str(small_project), "render", check=True)
    assert [p for p in old if p.exists()] == []
    assert young.exists() and all(path.exists() for path in mine)


def test_a_job_stopped_by_a_full_disk_says_where_and_what_to_do(small_project, monkeypatch, capsys):
    """The chaos audit: "failed: segments handoff-04: [Errno 28] No space left on device", no path, no fix."""
    import errno

    from director.cli.main import run
    from director.stages import subtitles

    def full(req, out):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "episode.ass"))

    monkeypatch.setattr(subtitles, "make_subtitles", full)
    code = run(["-p", str(small_project), "render"])
    err = capsys.readouterr().err
    assert code != 0
    assert "no space left on the disk" in err and "episode.ass" in err and "free some space" in err, err


def test_renaming_a_character_an_episode_never_says_leaves_its_subtitles_alone(tmp_path):
    """The edit-commands audit: every character's name keyed the subtitles (names are kept whole where a line
    breaks), so Mia renamed in the bible re-made ep02's subtitles, where nobody says "Mia"."""
    import shutil

    from tests.conftest import DATA

    project = tmp_path / "series"
    shutil.copytree(DATA / "series", project, ignore=shutil.ignore_patterns(".director", "out", "shots"))
    both = director("-p", str(project), "render", "--all", "--until", "subtitles", check=True)
    # one run's time, said as such (each episode's line gave the whole run's: it read as three times the work)
    assert both.stdout.count("(a run of 2 episodes,") == 2 and " in " not in both.stdout.split("episode ep01:")[1].split(
        "\n")[0], both.stdout
    bible = project / "series.yaml"
    bible.write_text(bible.read_text(encoding="utf-8").replace("name: Mia,", "name: Mira,"), encoding="utf-8")
    again = json.loads(director("-p", str(project), "--json", "render", "-e", "ep02", "--until", "subtitles",
                                check=True).stdout)
    assert again["stages"]["subtitles"]["ran"] == 0, again["stages"]
