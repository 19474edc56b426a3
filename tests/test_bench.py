"""The benchmark helpers make valid episodes and honest summaries (the benchmarks run with `make bench`)."""
from __future__ import annotations

from bench.common import summary, table
from bench.episodes import write_episode
from director.plan.rules import RulePlanner, merge_locked
from director.screenplay import load_screenplay


def test_synthetic_episodes_validate_and_have_the_asked_size(tmp_path):
    for language, lines in (("en", 36), ("zh-CN", 22)):
        folder = write_episode(tmp_path / language, lines=lines, language=language)
        sp = load_screenplay(folder / "screenplay.yaml").screenplay
        shots, _ = merge_locked(sp, "ep", RulePlanner(sp, "ep"), [])
        assert sum(1 for _, _, b in sp.beats() if b.line) == lines
        assert len(shots) == lines + 4


def test_summary_and_table():
    s = summary([3.0, 1.0, 2.0, 4.0, 5.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (3.0, 1.0, 5.0, 5)
    assert table(["a", "b"], [[1, 2.5]]).splitlines()[2] == "| 1 | 2.500 |"


def test_a_measured_render_times_the_whole_process_and_takes_the_console_scripts_path(tmp_path):
    """``measured_director`` (every speed benchmark's clock): the wall is the whole process, more than the command
    line's own time inside it; a render with nothing changed is answered as the console script answers it."""
    import pytest

    pytest.importorskip("psutil")
    from bench.common import measured_director
    from tests.conftest import make_project

    project = make_project(tmp_path)
    full = measured_director("-q", "-p", str(project), "--json", "render")
    again = measured_director("-q", "-p", str(project), "--json", "render")
    assert full["code"] == again["code"] == 0 and full["result"]["ran"] > 0
    assert again["result"]["up_to_date"] is True and again["result"]["ran"] == 0
    assert full["wall"] > full["inside"] > again["inside"] and again["wall"] > again["inside"]
    assert full["peak_mb"] > 50
