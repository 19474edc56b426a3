"""Render an episode end to end: plan if needed, lock, run the stages, publish, record."""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from director.backends import REMOTE_MODELS, configure_backends, resolve_backends
from director.errors import BackendUnavailable, DirectorError, ProjectLocked, UsageError
from director.project import Project
from director.runtime import uptodate
from director.runtime.context import RenderContext
from director.runtime.engine import Reporter, RunResult, Selection, StateIndex, execute, run_record
from director.store.cache import ArtifactCache, file_stamp
from director.store.files import read_own, temp_beside, write_json
from director.store.lock import ProjectLock
from director.vocab import did_you_mean

log = logging.getLogger("director.render")
REPLACED_EDITS = "re-planning replaced shot(s)"  # plan._keep_hand_edits's note


@dataclass
class RenderOutcome:
    episode: str
    result: RunResult
    outputs: dict[str, str] = field(default_factory=dict)
    record_path: Path | None = None
    seconds: float = 0.0
    duration: float | None = None
    notes: list[str] = field(default_factory=list)
    # the project's files as the render read them, once planned (``uptodate.project_files``: the planner's own shot
    # list among them); None when one changed while it was reading them. ``render --watch`` renders again when
    # the files differ from these.
    inputs: dict[str, str] | None = None
    together: int = 1  # the episodes of the run ``seconds`` is the time of (``render --all``: one run, one time)


def prepare(project: Project, episode: str | None, profile: str | None, explain: bool,
            check: bool = True, planner: tuple | None = None, reviewer=None) -> tuple[RenderContext, list[str]]:
    """``planner``: (name, LLM settings) from ``plan.resolve_planner``, used if the episode must be re-planned;
    ``reviewer``: LLM settings for the keyframe review (``llm.review_keyframes``), resolved by the CLI."""
    from director.plan import current_shots, plan_preview

    loaded = project.load_episode(episode)
    if explain:
        shots, notes = plan_preview(project, loaded)
    else:
        shot_list, notes = current_shots(project, loaded, *(planner or ()))
        shots = shot_list.shots
    profile = profile or project.config.profile
    if profile == "preview" and project.config.preview_scale != 1.0:
        loaded = scaled(loaded, project.config.preview_scale)
    config = project.config.model_copy(update={"profile": profile, "encode": project.config.encode.for_profile(profile)})
    project = Project(project.root, config, project.config_path)
    overrides = {k: v.model_dump() for k, v in config.backends.items()}
    token = REMOTE_MODELS.set(config.executor.kind == "ray")
    try:
        ack = config.license_ack or loaded.screenplay.license_ack  # director.yaml's, or the screenplay's (a bible's)
        try:
            backends = (resolve_backends(profile, overrides, license_ack=ack, tier=config.tier) if check
                        else configure_backends(profile, overrides, tier=config.tier))
        except BackendUnavailable as exc:
            if not explain:
                raise
            # status, export and the studio only compute keys, which the configuration alone makes: an editor's
            # laptop given a GPU-rendered project (without its ~86 GiB of weights) could not export its cut
            backends = configure_backends(profile, overrides, tier=config.tier)
            from director.backends.models import license_gate
            for backend in backends.values():  # a licence is the project's on any machine: still refused here
                if callable(getattr(backend, "needs", None)):
                    license_gate(backend.needs(), ack)
            notes = [*notes, f"a render on this machine would stop here: {exc}"]
    finally:
        REMOTE_MODELS.reset(token)
    fmt = loaded.screenplay.format
    for backend in backends.values():  # a backend that cannot make this frame says so before any model runs
        said = getattr(backend, "format_problem", None)
        if said is not None and (problem := said(fmt.width, fmt.height)):
            raise BackendUnavailable(f"{backend.kind} ({backend.name}): {problem}")
    if check:  # subtitles and the storyboard draw with it: a missing font stops the render before any model runs
        from director.media.fonts import font_path
        font_path()
    ctx = RenderContext(project, loaded, shots, backends, ArtifactCache(project.cache_dir), explain=explain)
    if config.llm.review_keyframes:
        from director.plan.review import KeyframeReviewer, review_spec

        ctx.review = review_spec(config.llm)
    if ctx.review is not None and not explain:
        if reviewer is None:
            raise UsageError("llm.review_keyframes is on, but no LLM endpoint is configured: set OPENAI_API_KEY (and "
                             "OPENAI_BASE_URL for a local server with a vision model), or turn the review off")
        ctx.reviewer = KeyframeReviewer(reviewer, project.state, ctx.cache, config.llm.review_regenerations)
    return ctx, notes + [str(w) for w in loaded.warnings]


def scaled(loaded, scale: float):
    """The episode drawn at ``scale`` of its frame size (even sides, as H.264's 4:2:0 needs): a quicker preview."""
    import dataclasses

    fmt = loaded.screenplay.format
    size = {"width": max(16, round(fmt.width * scale / 2) * 2), "height": max(16, round(fmt.height * scale / 2) * 2)}
    return dataclasses.replace(loaded, screenplay=loaded.screenplay.model_copy(
        update={"format": fmt.model_copy(update=size)}))


def said_now(notes: list[str], episode: str | None = None) -> None:
    """The notes said as they happen, not only in the summary (which leaves them out): a render stopped early must
    not hide that re-planning replaced hand edits."""
    for note in notes:
        if note.startswith(REPLACED_EDITS):
            log.warning("%s%s", f"episode {episode}: " if episode else "", note)


def render(project: Project, episode: str | None = None, profile: str | None = None,
           selection: Selection = Selection(), reporter: Reporter | None = None,
           planner: tuple | None = None, reviewer=None) -> RenderOutcome:
    started = time.perf_counter()
    with ProjectLock(project.state, "render"):
        asked = {"episode": episode, "profile": profile}
        before = uptodate.snapshot(project.root, asked)
        ctx, notes = prepare(project, episode, profile, explain=False, planner=planner, reviewer=reviewer)
        said_now(notes)
        planned = uptodate.snapshot(project.root, asked)
        read = uptodate.settled(before, planned, project.shots_path(ctx.loaded.episode), project.root)
        if read is not None and not read_as_rendered(project, ctx, before, planned):
            read = None
        unknown = sorted((selection.shots or set()) - {s.id for s in ctx.shots})
        if unknown:
            known = [s.id for s in ctx.shots]
            raise UsageError(f"--shots: no shot {unknown[0]!r}{did_you_mean(unknown[0], known)} in this episode "
                             f"(shots: {', '.join(known)})")
        sweep_left(project, [ctx.loaded.episode])
        uptodate.forget(project.root)
        state = StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json"))
        draw_storyboard_early(ctx)
        result = execute(ctx, state, selection, reporter, workers=project.config.workers)
        outcome = finish(project, ctx, result, selection, started, notes, asked=(episode, profile, read))
        if read is not None:
            outcome.inputs = {k[len(uptodate.PROJECT):]: v for k, v in planned.items()
                              if k.startswith(uptodate.PROJECT)}
        return outcome


def read_as_rendered(project: Project, ctx: RenderContext, before: dict[str, str], planned: dict[str, str]) -> bool:
    """Whether the files a render read are those the snapshot taken after planning (``planned``) stamps: director.yaml
    as its stamp was when the CLI read it (before the render's lock and first snapshot), and a shot list that
    changed during planning holding the very shots the render uses (the planner's own write; an edit made meanwhile,
    say a seed, differs)."""
    if project.config_path is not None:  # (named as the snapshot names it: the root is resolved, the path may not be)
        name = uptodate.PROJECT + project.config_path.name
        if planned.get(name) != str(project.config_stamp):
            return False
    shots = project.shots_path(ctx.loaded.episode)
    name = uptodate.PROJECT + os.path.relpath(shots, project.root)
    if before.get(name) == planned.get(name):
        return True
    from director.shots import load_shot_list

    try:
        return load_shot_list(shots, ctx.loaded.screenplay).shots == ctx.all_shots
    except DirectorError:  # changed into something unreadable meanwhile
        return False


def finish(project: Project, ctx: RenderContext, result: RunResult, selection: Selection, started: float,
           notes: list[str], asked: tuple[str | None, str | None, str] | None = None) -> RenderOutcome:
    """Publish an episode's outputs and write its run record (under the render's lock); a whole render asked for
    as ``asked`` (its --episode and --profile, and the inputs' digest when it began) leaves a stamp that answers
    the same question while nothing changes (``runtime/uptodate.py``)."""
    outputs = publish(ctx, result)
    seconds = time.perf_counter() - started
    record = run_record(ctx, result, selection, seconds, outputs)
    # to the millisecond: two renders under --watch can finish in one second, and one record replaced the other
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"{time.time() % 1:.3f}"[1:]
    record_path = project.state_file("runs", f"{stamp}-{ctx.loaded.episode}.json")
    write_json(record_path, record)
    if outputs:
        write_json(project.out_dir(ctx.loaded.episode) / "run.json", record)
    episode = ctx.results.get("assemble", {}).get("episode")
    duration = episode.meta.get("duration") if episode is not None else None
    if asked is not None and outputs and not result.failed and not (selection.only or selection.until or
                                                                      selection.shots):
        code = [getattr(sys.modules.get(type(c).__module__), "__file__", None) for c in ctx.backends.values()]
        uptodate.remember(project, *asked, record, outputs, duration, project.out_dir(ctx.loaded.episode),
                          [c for c in code if c])
    return RenderOutcome(ctx.loaded.episode, result, outputs, record_path, seconds, duration, notes + result.notes)


def render_many(project: Project, episodes: list[str], profile: str | None = None,
                selection: Selection = Selection(), reporter: Reporter | None = None,
                planner: tuple | None = None, reviewer=None,
                skipped: list | None = None) -> list[RenderOutcome]:
    """Render several episodes (``render --all``) in one run: one scheduler, each model loaded once. With a
    ``skipped`` list, an episode that cannot be prepared (a mistake in it, a locked shot it no longer fits) is put
    there as (episode, error) and the others render: one bad episode held up the whole season."""
    import dataclasses

    from director.runtime.engine import execute_many

    if selection.only or selection.shots:
        raise UsageError("--all and several --episode names render whole episodes; drop --only/--shots")
    started = time.perf_counter()
    with ProjectLock(project.state, "render"):
        runs, notes = [], []
        for episode in episodes:
            try:
                ctx, more = prepare(project, episode, profile, explain=False, planner=planner, reviewer=reviewer)
            except (UsageError, ProjectLocked):
                raise
            except DirectorError as exc:  # this episode's own trouble (a mistake, a stale locked shot, a backend)
                if skipped is None:
                    raise
                skipped.append((episode, exc))
                continue
            said_now(more, ctx.loaded.episode)  # `render --all` replaced hand edits without a word
            if runs:  # one set of built backends (and models) for every episode of the run
                first = runs[0][0]
                ctx = dataclasses.replace(ctx, backends=first.backends, _built=first._built, _lock=first._lock,
                                          _loading=first._loading, model_events=first.model_events)  # one
                # load lock per model too: two episodes' jobs must not build the same model at once
            uptodate.forget(project.root)
            draw_storyboard_early(ctx)
            runs.append((ctx, StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json"))))
            notes.append(more)
        if not runs:  # none could be prepared: the caller says each one's trouble
            return []
        sweep_left(project, [ctx.loaded.episode for ctx, _ in runs])
        results = execute_many(runs, selection, reporter, workers=project.config.workers)
        return [dataclasses.replace(finish(project, ctx, result, selection, started, more), together=len(runs))
                for (ctx, _), result, more in zip(runs, results, notes)]


def explain(project: Project, episode: str | None = None, profile: str | None = None,
            selection: Selection = Selection()) -> tuple[RenderContext, RunResult, list[str]]:
    """What a render would do now, without running anything (``director status``)."""
    ctx, notes = prepare(project, episode, profile, explain=True)
    state = StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json"))
    state.save = lambda: None  # explaining never writes
    return ctx, execute(ctx, state, selection), notes


def _publish_file(src: Path, dst: Path, key: str = "", published: dict | None = None) -> None:
    """Copy a cache file to out/ (atomically); skipped when ``dst`` is still exactly what this key published (by the
    cache's file stamp: a rewrite in place shows in its change time and inode, even with its size and mtime put
    back)."""
    if published is not None and key:
        try:
            stamp = [key, *file_stamp(dst.stat())]
        except OSError:
            stamp = None
        if stamp is not None and published.get(dst.name) == stamp:
            return
    tmp = temp_beside(dst)
    try:
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
    except BaseException as exc:  # a full disk or Ctrl-C mid-copy: no partial copy is left beside the episode
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:  # the copy's filename names the source: the
            exc.filename = str(dst)  # disk that is full is out/'s
        raise
    if published is not None and key:
        published[dst.name] = [key, *file_stamp(dst.stat())]


def sweep_left(project: Project, episodes: list[str]) -> None:
    """What writers killed mid-write left (under the project's lock): the cache's unfinished entries, and the temp
    files beside the episodes' outputs, the shot lists and the screenplays (a kill while publishing left a 2 MB part
    of the episode in out/ for ever)."""
    from director.store.files import sweep_temp_beside

    ArtifactCache(project.cache_dir).sweep_temporaries()
    for folder in {project.root, project.shots_path(episodes[0]).parent,
                   *(project.out_dir(e) for e in episodes), *(p.parent for p in project.episode_paths())}:
        sweep_temp_beside(folder)


STORYBOARD_FROM = ("refs", "keyframes", "timing", "clips")  # what the storyboard shows (storyboard_signature)


def _published(out: Path) -> dict:
    """What out/ holds from which artifacts (``.published.json``)."""
    try:
        published = json.loads(read_own(out / ".published.json"))
    except (OSError, ValueError):
        published = {}
    return published if isinstance(published, dict) else {}


def _storyboard(ctx: RenderContext, out: Path, published: dict) -> tuple[dict[str, str], str]:
    """The storyboard's outputs and signature: drawn unless out/ holds it from the same inputs."""
    from director.runtime.storyboard import storyboard_signature, write_storyboard

    sheet, page = out / "storyboard.png", out / "storyboard.html"

    def stamps():  # a sheet cut short or rewritten by hand is drawn again (its size, times or inode changed)
        try:
            return [file_stamp(path.stat()) for path in (sheet, page)]
        except OSError:
            return None

    signature = storyboard_signature(ctx)
    held = published.get("storyboard")
    if isinstance(held, list) and held == [signature, stamps()] and (out / "panels").is_dir():
        return {"storyboard": str(sheet), "storyboard_html": str(page)}, held
    drawn = write_storyboard(ctx, out)
    return drawn, [signature, stamps()]


def draw_storyboard_early(ctx: RenderContext) -> None:
    """Have the scheduler draw the storyboard as soon as the panels, timings, clips and reference sheets are made,
    beside the segments and the mix, not after the last job (a seed change waited 0.2 s on it at the end).
    ``publish`` takes what it drew, or draws it itself if that failed or never ran."""
    def draw() -> None:
        try:
            if ctx.results.get("keyframes"):
                out = ctx.project.out_dir(ctx.loaded.episode)
                ctx.drawn_storyboard = _storyboard(ctx, out, _published(out))
        except Exception:  # noqa: BLE001 - publish draws it again and reports what is wrong
            ctx.drawn_storyboard = None

    ctx.early.append((STORYBOARD_FROM, draw))


def publish(ctx: RenderContext, result: RunResult) -> dict[str, str]:
    """Copy finished artifacts to out/<episode>/ and draw the storyboard contact sheet. What out/ already holds
    from the same artifacts (same key, untouched since: the cache's file stamp) is not copied or drawn again, so a render
    with nothing to do stays well under a second (``.published.json`` remembers what was written)."""
    out = ctx.project.out_dir(ctx.loaded.episode)
    index = out / ".published.json"
    published = _published(out)
    outputs: dict[str, str] = {}
    done = ctx.results
    if "episode" in done.get("assemble", {}):
        entry = done["assemble"]["episode"]
        _publish_file(entry.role("video"), out / "episode.mp4", entry.key, published)
        outputs["video"] = str(out / "episode.mp4")
    if "episode" in done.get("subtitles", {}) and ("video" in outputs or not result.failed):
        # beside the episode they belong to: where its render failed, the last episode keeps its own subtitles
        entry = done["subtitles"]["episode"]
        for role, name in (("srt", "episode.srt"), ("ass", "episode.ass"), ("cards_srt", "episode.cards.srt")):
            if entry.has(role):
                _publish_file(entry.role(role), out / name, entry.key, published)
            elif published.pop(name, None) is not None:  # the cards are gone from the screenplay: so is their file
                (out / name).unlink(missing_ok=True)
        if entry.has("cards_srt"):
            outputs["cards"] = str(out / "episode.cards.srt")
        outputs["subtitles"] = str(out / "episode.srt")
        outputs["ass"] = str(out / "episode.ass")  # the styled subtitles, as burned (the README names it)
    if done.get("keyframes"):
        drawn, signature = ctx.drawn_storyboard or _storyboard(ctx, out, published)
        outputs.update(drawn)
        published["storyboard"] = signature
    if published:
        out.mkdir(parents=True, exist_ok=True)
        write_json(index, published)
    return outputs


def dry_run(project: Project, episode: str | None = None, profile: str | None = None) -> list[dict]:
    """Per shot: the video model, frames, passes and estimated GPU-seconds; nothing runs or loads."""
    from director.backends.diffusion.video import VideoConfig, estimate, throughput_history

    ctx, _ = prepare(project, episode, profile, explain=True, check=False)
    state = StateIndex(project.state_file("state", f"{ctx.loaded.episode}.json"))
    execute(ctx, state, Selection(until="timing"))  # explaining: fills in the timing that is already rendered
    video = ctx.backends["video"]
    fmt = ctx.sp.format
    rows = []
    history = throughput_history(project.cache_dir, video) if isinstance(video, VideoConfig) else []
    for shot in ctx.shots:
        timing = ctx.results.get("timing", {}).get(shot.id)
        frames = ctx.frames(shot) if timing else max(1, round(shot.duration * fmt.fps))
        if isinstance(video, VideoConfig):
            row = estimate(video, fmt.width, fmt.height, fmt.fps, frames, history)
        else:
            row = {"model": f"{video.name} (CPU, no model)", "native": [fmt.width, fmt.height], "passes": [frames],
                   "seams": [], "frames": frames, "gpu_seconds": 0.0}
        rows.append({"shot": shot.id, "backend": video.name, **row})
    return rows
