"""Progress bars per stage on stderr, and the end-of-render summary."""
from __future__ import annotations

import os

from director.cli.output import Output


class RichReporter:
    """Bars on a terminal; on a pipe or a log file (CI, ``2> log``) one plain line per finished job."""

    def __init__(self, out: Output, only_work: bool = False, held: list[str] | None = None):
        self.out = out
        self.only_work = only_work  # plain lines for stages with work to do only (``render --watch``'s renders)
        self.held = held  # plain lines kept here, not printed (``render --watch`` prints them if the render shows
        # something new)
        self.progress = None
        self.plain = False
        self.tasks: dict[str, int] = {}
        self.fractions: dict[tuple[str, str], float] = {}
        self.counts: dict[str, list[int]] = {}
        self.pending: dict[str, int] = {}  # stage -> shots whose jobs are not known yet (one each, most likely)
        self.shown: dict[str, int] = {}  # stage -> the pending shots its bar's total holds

    def __enter__(self) -> "RichReporter":
        if self.out.verbosity >= 0 and not self.out.console().is_terminal:
            self.plain = True
        elif self.out.verbosity >= 0:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                     console=self.out.console(), transient=self.only_work)  # --watch: the summary stays
            self.progress.__enter__()
        return self

    def _say(self, line: str) -> None:
        if self.held is not None:
            self.held.append(line)
        else:
            self.out.info(line)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def stage_pending(self, stage: str, shots: int) -> None:
        """How many of the stage's shots have not offered their work yet: counted in its total as a job each."""
        self.pending[stage] = shots
        if self.progress is not None and stage in self.tasks:
            task = self.tasks[stage]
            known = self.progress.tasks[task].total - self.shown.get(stage, 0)
            self.progress.update(task, total=known + shots)
            self.shown[stage] = shots

    def stage_started(self, stage: str, total: int, to_run: int) -> None:
        if self.plain:  # said when the stage is done: the job graph offers its work shot by shot, and a count
            # made now ("timing: 1 to run") was the first shot's
            self.counts[stage] = [total - to_run, total, total - to_run]  # [done or reused, known, reused]
        if self.progress is not None:
            label = stage if to_run else f"{stage} ✓"
            shots = self.pending.get(stage, 0)
            self.tasks[stage] = self.progress.add_task(label, total=max(1, total + shots), completed=total - to_run)
            self.shown[stage] = shots

    def stage_grow(self, stage: str, total: int, to_run: int) -> None:
        """More of a stage's work became known (the job graph offers it shot by shot)."""
        if self.plain:
            count = self.counts.setdefault(stage, [0, 0, 0])
            count[0] += total - to_run
            count[1] += total
            count[2] += total - to_run
        if self.progress is not None and stage in self.tasks:
            task = self.tasks[stage]
            current = self.progress.tasks[task]
            self.progress.update(task, total=current.total + total, advance=total - to_run,
                                 description=stage if to_run or current.description == stage else current.description)

    def job_progress(self, stage: str, job, fraction: float) -> None:
        """A job's own progress (denoising steps) moves its stage's bar smoothly; never backwards."""
        if self.progress is not None:
            done = self.fractions.get((stage, job.id), 0.0)
            if fraction > done:
                self.fractions[(stage, job.id)] = fraction
                self.progress.advance(self.tasks[stage], fraction - done)

    def job_started(self, stage: str, job, where: dict) -> None:
        """Only when asked (the studio's render worker reads these to show which shots are running)."""
        if self.plain and os.environ.get("DIRECTOR_JOB_STARTS") == "1":
            self._say(f"{stage} > {job.id} started")

    def job_done(self, stage: str, job, seconds: float) -> None:
        if self.plain:
            count = self.counts.setdefault(stage, [0, 0, 0])
            count[0] += 1
            total = count[1] + self.pending.get(stage, 0)
            self._say(f"{stage} [{count[0]}/{total}] {job.label or job.id} done in {seconds:.1f}s")
        if self.progress is not None:
            self.progress.advance(self.tasks[stage], 1.0 - self.fractions.pop((stage, job.id), 0.0))

    def stage_done(self, stage: str) -> None:
        if self.plain and stage in self.counts:
            done, total, reused = self.counts.pop(stage)
            if reused < total:
                self._say(f"{stage}: {done - reused} ran, {reused} reused" + (f", {total - done} not run"
                                                                               if done < total else ""))
            elif not self.only_work and total:  # a stage with nothing to make (no music cue) says nothing
                self._say(f"{stage}: all {total} reused")
        if self.progress is not None:
            task = self.tasks[stage]
            self.progress.update(task, completed=self.progress.tasks[task].total)


def summary_data(outcome) -> dict:
    result = outcome.result
    return {"episode": outcome.episode, "outputs": outcome.outputs, "duration": outcome.duration,
            "seconds": round(outcome.seconds, 2), "ran": result.count("ran"), "reused": result.count("cached"),
            "stages": {k: {"seconds": v, "ran": result.count("ran", k), "reused": result.count("cached", k)}
                       for k, v in result.stage_seconds.items()},
            "failed": result.failed, "notes": outcome.notes, "record": str(outcome.record_path),
            **({"episodes_in_run": outcome.together} if getattr(outcome, "together", 1) > 1 else {})}


def summary(out: Output, outcome) -> None:
    result = outcome.result
    ran, cached = result.count("ran"), result.count("cached")
    data = summary_data(outcome)
    if out.json_mode:
        out.result(data)
        return
    from director.runtime.render import REPLACED_EDITS

    for note in dict.fromkeys(outcome.notes):
        if not note.startswith(REPLACED_EDITS):  # said as a warning when it happened, before the jobs
            out.info(f"note: {note}")
    for failure in result.failed:
        out.info(f"failed: {failure}")
    together = getattr(outcome, "together", 1)  # `render --all`: the episodes' jobs ran side by side, one time
    took = f"in {outcome.seconds:.1f}s" if together == 1 else f"(a run of {together} episodes, {outcome.seconds:.1f}s)"
    lines = [f"episode {outcome.episode}: rendered {ran}, reused {cached} {took}"]
    if outcome.duration:
        lines.append(f"  length {outcome.duration:.2f}s")
    lines.append("  " + "  ".join(f"{k} {v['seconds']:.1f}s ({v['ran']} new)" for k, v in data["stages"].items()))
    for name, path in outcome.outputs.items():
        lines.append(f"  {name}: {path}")
    out.result(data, "\n".join(lines))
