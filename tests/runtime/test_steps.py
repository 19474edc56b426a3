"""Per-step progress: fractions reach the reporter, scaled into parts, and the bar never goes back."""
from __future__ import annotations

from director.store import steps


def test_parts_scale_fractions_and_nothing_happens_without_a_reporter():
    steps.report(0.5)  # no reporter: a no-op
    seen: list[float] = []
    with steps.reporting(seen.append):
        for i in range(2):
            with steps.part(i, 2):
                steps.report(0.5)
                steps.report(1.0)
        steps.report(7.0)  # clamped
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_rich_reporter_advances_by_job_fraction_and_completes_on_done():
    from types import SimpleNamespace

    from director.cli.output import Output
    from director.cli.progress import RichReporter

    from rich.progress import Progress

    reporter = RichReporter(Output(verbosity=-1))
    reporter.progress = Progress(disable=True)  # the bars, without drawing them
    reporter.stage_started("clips", 2, 2)
    job = SimpleNamespace(id="one-01")
    reporter.job_progress("clips", job, 0.5)
    reporter.job_progress("clips", job, 0.25)  # a retry starts over: the bar stays
    task = reporter.progress.tasks[reporter.tasks["clips"]]
    assert task.completed == 0.5
    reporter.job_done("clips", job, 1.0)
    assert task.completed == 1.0
