"""``director``: new, validate, plan, render, status, export, clean, studio, shot, take, line.

Commands parse, call the library and print. Imports of anything heavy happen inside the
commands, so ``director --help`` stays instant. Every error is a DirectorError mapped to
its exit code in ``run()``; no traceback reaches a user.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from director.cli.output import Output
from director.errors import (BackendUnavailable, ConfigError, DirectorError, ExitCode, Problem, ScreenplayError,
                             UsageError, system_trouble)

# the stages in order (director.stages.STAGE_ORDER, held equal by tests/cli/test_cli.py; not imported here: the
# command line starts without the stages' modules)
STAGES_HELP = "refs, keyframes, voice, timing, clips, music, sfx, subtitles, segments, mix, assemble"
app = typer.Typer(name="director", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="Turn a screenplay into a finished short-drama episode on your own machines.")

INTERRUPTED = "interrupted: finished artifacts are kept; run the same command again to resume"


class State:
    project: Path | None = None
    out: Output = Output()


state = State()


def _print_version(value: bool) -> None:
    if value:
        from director import __version__

        print(f"director {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    project: Annotated[Optional[Path], typer.Option("--project", "-p", help="project folder (default: here)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable results on stdout")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="more detail on stderr")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only errors on stderr")] = False,
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_print_version,
                                          help="print director's version and exit")] = False,
) -> None:
    state.project = project
    state.out = Output(json_mode=json_out, verbosity=-1 if quiet else verbose)
    state.out.setup_logging()


def _project(where: Path | None = None):
    from director.project import Project

    return Project.find(where or state.project)


# ------------------------------------------------------------------------------ new
@app.command()
def new(
    name: Annotated[Path, typer.Argument(help="folder to create")],
    template: Annotated[Optional[str], typer.Option("--template", "-t", help="project template: vertical-drama "
                                                    "(English) or vertical-drama-zh (Chinese, 中文); with --from, the "
                                                    "script's language picks it")] = None,
    from_script: Annotated[Optional[str], typer.Option(
        "--from", help="start from a Fountain or Final Draft (.fdx) script instead of the template's story; - reads "
                       "it from standard input")] = None,
) -> None:
    """Create a project folder from a template (then: director -p NAME render)."""
    import shlex
    import shutil

    from director.resources import data_dir, templates

    known = templates()
    if template is not None and template not in known:
        from director.vocab import did_you_mean

        raise UsageError(f"unknown template {template!r}{did_you_mean(template, known)}; available: {', '.join(known)}")
    if name.exists() or name.is_symlink():  # a link leading nowhere exists too: the copy would fail on it
        raise UsageError(f"{name} already exists{' (a link)' if name.is_symlink() else ''}; choose a new folder name")
    imported = _import_script(from_script) if from_script is not None else None  # a bad script leaves no folder
    if template is None:  # a Chinese script gets the Chinese template (its voices, subtitles and studio)
        language = str((imported.screenplay_dict.get("language") if imported else None) or "")
        template = "vertical-drama-zh" if language.lower().startswith("zh") else "vertical-drama"
    shutil.copytree(data_dir("templates") / template, name)
    if imported is not None:
        from director.store.files import atomic_write_text
        atomic_write_text(name / "screenplay.yaml", imported.yaml_text)
    source = _script_name(from_script) if from_script is not None else None
    state.out.result({"created": str(name), "template": template, "imported": source},
                     f"created {name}/ from template {template}"
                     + (f" with the story of {source}" if source else "")
                     + f"\nnext: director -p {shlex.quote(str(name))} render")


def _script_name(script: str) -> str:
    from director.importers import STDIN

    return STDIN if script == "-" else script


def _import_script(script: str):
    """A Fountain/FDX script read into a screenplay (``-``: from standard input; ``./-`` is a file of that name);
    its warnings go to stderr as file:line: messages."""
    from director.importers import import_script

    result = import_script(None if script == "-" else Path(script))
    for warning in result.warnings:
        print(str(warning), file=sys.stderr)
    return result


@app.command("import")
def import_(
    script: Annotated[str, typer.Argument(help="a Fountain (.fountain) or Final Draft (.fdx) script; - reads it "
                                               "from standard input")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="screenplay YAML to write "
                                                   "(default or -: print it)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace --output if it exists")] = False,
) -> None:
    """Turn a Fountain or Final Draft script into a director screenplay (scenes, cast, lines, transitions)."""
    import shlex

    if output is not None and str(output) == "-":  # the usual "standard output" (a file named "-" was written)
        output = None
    if output is not None and output.is_dir():
        raise UsageError(f"--output {output} is a folder; give the screenplay's file name, e.g. {output}/screenplay.yaml")
    piped = script == "-"
    if output is not None and output.exists() and not piped and Path(script).exists() and \
            os.path.samefile(output, script):
        raise UsageError(f"--output {output} is the script itself; write the screenplay to another file, e.g. "
                         f"{Path(script).with_suffix('.yaml').name}")
    if output is not None and output.exists() and not force:
        raise UsageError(f"{output} already exists; choose another --output or add --force")
    if output is not None:
        from director.store.files import refuse_special

        refuse_special(output)
    result = _import_script(script)
    data = result.screenplay_dict
    summary = {"script": _script_name(script), "output": str(output) if output else None, "title": data.get("title"),
               "scenes": len(data.get("scenes", [])), "characters": len(data.get("characters", {})),
               "locations": len(data.get("locations", {})), "warnings": [w.as_dict() for w in result.warnings]}
    if output is None:
        if state.out.json_mode:
            state.out.result({**summary, "yaml": result.yaml_text}, None)
        else:
            sys.stdout.write(result.yaml_text)
        return
    from director.store.files import atomic_write_text
    atomic_write_text(output, result.yaml_text)
    def counted(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    state.out.result(summary, f"wrote {output}: {counted(summary['scenes'], 'scene')}, "
                              f"{counted(summary['characters'], 'character')}, "
                              f"{counted(summary['locations'], 'location')} "
                              f"({counted(len(result.warnings), 'warning')})\n"
                              + (f"next: director validate {shlex.quote(str(output))}" if piped else
                                 f"next: director validate, or director new SHOW --from {shlex.quote(script)}"))


# ------------------------------------------------------------------------------ validate
@app.command()
def validate(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="screenplay files or project folders")] = None,
) -> None:
    """Check screenplays and report every problem at once, as file:line:col: message."""
    from director.project import Project
    from director.screenplay import screenplay_problems

    targets: list[tuple[Path, Project]] = []
    whole: set[str] = set()  # projects whose episodes are checked: their shot lists of no episode are said
    for where in paths or [state.project or Path.cwd()]:
        try:
            is_file = where.is_file()
        except OSError as exc:
            raise UsageError(f"cannot open {str(where)[:200]}: {exc.strerror or exc}") from None
        if is_file and where.name != "director.yaml":
            project = Project.find(state.project) if state.project and paths else Project.find(where)
            targets.append((where, project))
            named = project.chosen is not None or (state.project is not None and any(  # -p PROJECT FILE
                p.resolve() == where.resolve() for p in project.episode_paths()))
            if named:  # one of its project's episodes (not a draft checked on its own)
                whole.add(str(project.root))
        else:
            project = Project.find(where)
            targets += [(p, project) for p in project.episode_paths()]
            whole.add(str(project.root))
    if not targets:  # nothing checked is not "valid": a glob that matches nothing, an episode file left out
        raise ConfigError(f"{project.config_path or project.root}: no episode files match "
                          f"{project.config.episodes}: nothing to validate (an episode is a .yaml file inside the "
                          "project; a link that leads out of it is left out)")
    report, errors = [], 0
    said: set[str] = set()  # a series bible's mistake is every episode's: said and counted once
    for path, project in targets:
        loaded, problems = screenplay_problems(path, project.root)
        checked = [(path, problems + (_voice_language(loaded, project) if loaded is not None else []))]
        if loaded is not None:
            checked += _shot_list_problems(loaded, project)
        for file, found in checked:
            new = [p for p in found if str(p) not in said]
            said.update(str(p) for p in found)
            n = sum(1 for p in new if p.severity == "error")
            errors += n
            invalid = any(p.severity == "error" for p in found)
            report.append({"file": str(file), "valid": not invalid, "problems": [p.as_dict() for p in found]})
            for p in new:
                print(p, file=sys.stderr)
    projects = {str(p.root): p for _, p in targets}
    for project in projects.values():  # a shot list of no episode (its file renamed)
        if str(project.root) not in whole:  # a draft file checked alone: the project's shot lists are not its own
            continue
        for orphan in project.orphan_shot_lists():
            problem = Problem(str(orphan), 1, 1, "this shot list belongs to no episode (an episode file renamed?): put "
                              f"`id: {orphan.stem}` at the top of the renamed file to keep it (its locked shots, "
                              "takes and renders), or delete it", severity="warning")
            report.append({"file": str(orphan), "valid": True, "problems": [problem.as_dict()]})
            print(problem, file=sys.stderr)
    ok = not any(not r["valid"] for r in report)
    state.out.result({"valid": ok, "files": report},
                     "\n".join(f"{r['file']}: {'ok' if r['valid'] else 'invalid'}" for r in report))
    if not ok:
        state.out.info(f"{errors} problem{'s' if errors != 1 else ''} found")
        raise typer.Exit(ExitCode.INVALID)


def _shot_list_problems(loaded, project) -> list[tuple[Path, list]]:
    """The episode's saved shot list (``shots/<episode>.yaml``), checked as the next render will read it: against
    the screenplay when it was planned from it, else its locked shots against the re-plan that render will make.
    Without one, nothing (the render plans it)."""
    from director.errors import Problem
    from director.plan import plan_preview, previous_shots

    root = project.root
    try:
        path = project.shots_path(loaded.episode)
        if not path.is_file() and not path.is_symlink():
            return []
        plan_preview(project, loaded)
        saved = previous_shots(project, loaded)
    except ScreenplayError as exc:
        return [(Path(exc.problems[0].file) if exc.problems else root, list(exc.problems))]
    except DirectorError as exc:
        return [(root, [Problem(str(root), 1, 1, str(exc))])]
    if saved is not None and saved.episode != loaded.episode:  # copied from another episode's list?
        from director.yamlpos import load_yaml

        pos = load_yaml(path, str(path))[1]
        return [(path, [pos.problem(("episode",), f"episode {saved.episode!r} is not this file's episode "
                                    f"{loaded.episode!r} (the file name decides: a copy of another episode's "
                                    "shot list?)", severity="warning")])]
    return [(path, [])]


def _voice_language(loaded, project) -> list:
    """validate warns when the project's profile's voice cannot speak the screenplay's language."""
    from director.errors import Problem
    from director.runtime.modelsinfo import voice_language_warning

    warning = voice_language_warning(project, loaded.screenplay.language)
    if warning is None:
        return []
    return [Problem(str(loaded.path), 1, 1, warning, "warning")]


# ------------------------------------------------------------------------------ plan
@app.command()
def plan(
    episode: Annotated[Optional[str], typer.Option("--episode", "-e", help="episode: its id, or its file name without .yaml")] = None,
    planner: Annotated[Optional[str], typer.Option("--planner", help="rules or llm (default: director.yaml)")] = None,
    show: Annotated[bool, typer.Option("--show", help="print the shot list as a table")] = False,
    model: Annotated[Optional[str], typer.Option("--model", help="LLM model (else DIRECTOR_LLM_MODEL)")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every episode of the project")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="plan every unlocked shot again, edits by hand included "
                                                        "(a copy of them is kept in .director/backups)")] = False,
) -> None:
    """Plan the shot list (shots/<episode>.yaml), keeping shots you locked, shots you edited while the screenplay is
    unchanged, and after a change every field you edited that the new plan would not change."""
    from director.plan import plan_episode

    if planner not in (None, "rules", "llm"):
        raise UsageError(f"--planner {planner!r} is not valid; use rules or llm")
    from director.plan import resolve_planner
    from director.plan.llm import environment

    project = _project()
    if planner == "llm" and resolve_planner(project, planner, environment(), base_url, model)[1] is None:
        # asked for by name: the rules' plan in its place replaced the LLM's shot list and every hand edit
        raise UsageError("--planner llm needs an endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL, or --base-url, "
                         "for a local server such as vLLM, Ollama or llama.cpp), or plan with --planner rules")
    if all_:
        if episode:
            raise UsageError("--all and --episode: give one of them")
        name, settings = resolve_planner(project, planner, environment(), base_url, model)
        done, tables = [], []
        for path in project.episode_paths():
            loaded = project.load_episode(path.stem)
            result = plan_episode(project, loaded, name, settings, fresh=fresh, merge=not fresh)
            for note in result.notes:
                state.out.info(f"{loaded.episode}: {note}")
            total = sum(s.duration for s in result.shot_list.shots)
            done.append({"episode": loaded.episode, "shots": len(result.shot_list.shots), "path": str(result.path),
                         "changed": result.changed, "planned_seconds": round(total, 1), "notes": result.notes})
            tables.append((loaded, result.shot_list.shots))
        state.out.result({"episodes": done}, "\n".join(
            f"{d['path']}: {d['shots']} shots, {d['planned_seconds']:.0f}s as planned"
            + ("" if d["changed"] else " (unchanged)") for d in done))
        if show and not state.out.json_mode:  # each episode's table under its name (--show was dropped here)
            for loaded, shots in tables:
                _show_shots(loaded, shots, title=f"episode {loaded.episode}")
        return
    loaded = project.load_episode(episode)
    name, settings = resolve_planner(project, planner, environment(), base_url, model)
    result = plan_episode(project, loaded, name, settings, fresh=fresh, merge=not fresh)
    for note in result.notes:
        state.out.info(note)
    shots = result.shot_list.shots
    total = sum(s.duration for s in shots)
    from director.plan.craft import craft_score
    craft = craft_score(loaded.screenplay, shots)
    data = {"episode": loaded.episode, "shots": len(shots), "path": str(result.path), "changed": result.changed,
            "planned_seconds": round(total, 1), "planner": result.shot_list.planner, "notes": result.notes,
            "stats": result.stats, "craft": craft}
    text = (f"{result.path}: {len(shots)} shots, {total:.0f}s as planned (the render fits each shot to its lines' "
            "voices)" + ("" if result.changed else " (unchanged)"))
    text += "\ncraft " + f"{craft['total']:.2f}: " + ", ".join(
        f"{k.replace('_', ' ')} {v:.2f}" for k, v in craft.items() if k != "total" and v is not None)
    if result.stats:
        st = result.stats
        text += (f"\nLLM {st['model']} at {st['endpoint']}: {st['calls']} calls ({st['cached_calls']} cached), "
                 f"{st['input_tokens']} tokens in, {st['output_tokens']} out, {st['seconds']:.1f}s in calls, "
                 f"{st['wall_seconds']:.1f}s wall")
        for scene_id, record in (st.get("scenes") or {}).items():  # provenance: who planned what
            if record.get("source") == "llm":
                decided = record.get("director") or []
                text += (f"\n  scene {scene_id}: the LLM ({record.get('asks', 0)} ask(s); from the model: "
                         f"{', '.join(record.get('from_model', []))}" +
                         (f"; director decided {len(decided)}: {'; '.join(decided)}" if decided else "") + ")")
            else:
                text += f"\n  scene {scene_id}: the rules ({record.get('why', '')})"
    state.out.result(data, text)
    if show and not state.out.json_mode:
        _show_shots(loaded, shots)


def _show_shots(loaded, shots, title: str | None = None) -> None:
    """The shot list as a table: the command's output, on stdout, where `plan --show > plan.txt` and `| less` find
    it (it went to stderr, with the progress)."""
    from rich.console import Console

    from director.cli.tables import shot_table

    console = Console()
    if title:
        console.print(title, style="bold")
    console.print(shot_table(loaded.screenplay, shots))


# ------------------------------------------------------------------------------ render
@app.command()
def render(
    episode: Annotated[Optional[str], typer.Option("--episode", "-e", help="episode(s) to render: NAME or A,B")
                       ] = None,
    all_: Annotated[bool, typer.Option("--all", help="every episode of the project, in one run")] = False,
    profile: Annotated[Optional[str], typer.Option("--profile", help="preview or final")] = None,
    only: Annotated[Optional[str], typer.Option("--only", help=f"run just this stage: {STAGES_HELP}")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help=f"stop after this stage: {STAGES_HELP}")] = None,
    shots: Annotated[Optional[str], typer.Option("--shots", help="comma-separated shot ids")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="per shot: video model, frames, passes, GPU-seconds; "
                                          "runs nothing")] = False,
    executor: Annotated[Optional[str], typer.Option("--executor", help="where model jobs run: local or ray "
                                                    "(default: executor in director.yaml)")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="stay and render again whenever a project file changes "
                                        "(the screenplay, a shot list, director.yaml, a reference); Ctrl-C stops")
                     ] = False,
) -> None:
    """Render the episode: everything cached is reused, the rest runs."""
    # a plain render (no option but the episode and profile: any other one, present or future, changes what runs)
    # may be answered from the up-to-date stamp
    plain = not any(value for name, value in locals().items() if name not in ("episode", "profile"))
    if dry_run and watch:
        raise UsageError("--dry-run runs nothing, so there is nothing to --watch; use one or the other")
    if dry_run:
        from director.runtime.render import dry_run as plan_video

        rows = plan_video(_project(), episode, profile)
        state.out.result({"shots": rows}, None)
        if not state.out.json_mode:
            for r in rows:
                gpu = (f"{r['gpu_seconds']:.1f} ({r.get('estimate', 'measured')})" if r["gpu_seconds"] is not None
                       else "? (unknown model: no FLOP shape, no measured throughput yet)")
                print(f"{r['shot']:<10} {r['model']}  {r['frames']} frames  native {r['native'][0]}x{r['native'][1]}  "
                      f"passes {r['passes']}  GPU-s {gpu}")
        return
    if plain and not (episode and "," in episode):
        if _up_to_date(episode, profile):
            return
    from director.cli.progress import RichReporter, summary, summary_data
    from director.runtime.engine import Selection
    from director.runtime.render import render as do_render
    from director.stages import STAGE_ORDER

    for flag, value in (("--only", only), ("--until", until)):
        if value is not None and value not in STAGE_ORDER:
            from director.vocab import one_of

            raise UsageError(f"{flag} {one_of(value, STAGE_ORDER)}")
    if profile not in (None, "preview", "final"):
        raise UsageError(f"--profile {profile!r} is not valid; use preview or final")
    from director.plan import resolve_planner
    from director.plan.llm import environment

    if executor not in (None, "local", "ray"):
        raise UsageError(f"--executor {executor!r} is not valid; use local or ray")
    named = {s.strip() for s in shots.split(",") if s.strip()} if shots is not None else None
    if named is not None and not named:  # `--shots ''` (an empty shell variable) rendered every shot
        raise UsageError("--shots names no shot; give shot ids, e.g. --shots arrival-02,handoff-01 "
                         "(`director status` lists them)")
    selection = Selection(only, until, named)
    if named and episode is None and not all_:  # the episode that has the shots, as `shot` and `take` find it
        from director.runtime.edits import episode_holding

        episode = episode_holding(_project(), None, shot=sorted(named)[0])

    def loaded():
        """The project, its planner and its keyframe reviewer, read afresh (``--watch`` reads them every time)."""
        project = _project()
        if executor is not None:
            project.config = project.config.model_copy(
                update={"executor": project.config.executor.model_copy(update={"kind": executor})})
        reviewer = None
        if project.config.llm.review_keyframes:  # the vision reviewer talks to the same endpoint as the planner
            from director.plan.llm import resolve_settings

            reviewer = resolve_settings(project.config.llm, environment())
        return project, resolve_planner(project, None, environment()), reviewer

    def once(held: list[str] | None = None, got: tuple | None = None):
        project, planner, reviewer = got or loaded()
        with RichReporter(state.out, only_work=watch, held=held) as reporter:
            return do_render(project, episode, profile, selection, reporter, planner, reviewer)

    if watch:
        if all_ or (episode and "," in episode):
            raise UsageError("--watch renders one episode: name it with --episode NAME (not --all or a list)")
        raise typer.Exit(_watch(_watch_root(), once))
    got = loaded()
    project, planner, reviewer = got
    names = [p.stem for p in project.episode_paths()] if all_ else (episode.split(",") if episode and "," in episode
                                                                      else None)
    if names is not None:
        from director.runtime.render import render_many

        if not names:
            raise _no_episodes()

        for name in names:
            project.episode_path(name)  # unknown names: a usage error naming the episodes, before any work
        skipped: list = []
        with RichReporter(state.out) as reporter:
            outcomes = render_many(project, names, profile, selection, reporter, planner, reviewer, skipped)
        if state.out.json_mode:
            state.out.result({"episodes": [summary_data(o) for o in outcomes] + [
                {"episode": name, "error": str(exc), "exit_code": int(exc.exit_code)} for name, exc in skipped]})
        else:
            for outcome in outcomes:
                summary(state.out, outcome)
        for name, exc in skipped:  # said last, after the episodes that rendered
            state.out.info(f"episode {name}: not rendered:")
            _print_error(exc)
        if skipped:
            raise typer.Exit(skipped[0][1].exit_code)
        if any(o.result.failed for o in outcomes):
            raise typer.Exit(ExitCode.STAGE_FAILED)
        return
    outcome = once(got=got)
    summary(state.out, outcome)
    if outcome.result.failed:
        raise typer.Exit(ExitCode.STAGE_FAILED)


def _no_episodes() -> ConfigError:
    """--all over a project whose `episodes:` match no file (it rendered nothing and said nothing)."""
    return ConfigError("director.yaml: no episode file matches `episodes:`; add a screenplay, or fix the pattern "
                       "(e.g. episodes: [\"episodes/*.yaml\"])")


def _watch_root() -> Path:
    """The folder ``render --watch`` looks at: the project's, also when its director.yaml has a mistake (the first
    render reports it, and the watch waits for the fix)."""
    from director.errors import ConfigError, ScreenplayError

    try:
        return _project().root
    except (ScreenplayError, ConfigError):  # a mistake in director.yaml; anything else (not a project) is final
        where = Path(state.project or Path.cwd())
        if where.is_file() or where.is_dir():
            return (where.parent if where.is_file() else where).resolve()
        raise


def _written_in(name: str) -> bool:
    """Whether a project file is one the project is written in (YAML: director.yaml, screenplays and what they
    include, shot lists): its changes are always reported, never taken for another program's output."""
    return name.lower().endswith((".yaml", ".yml"))


def _published(outcome) -> dict[str, list[int] | None]:
    """The stamps of a render's published files: what a watcher of the episode sees change."""
    import os

    from director.store.cache import file_stamp

    stamps = {}
    for name, path in outcome.outputs.items():
        try:
            stamps[name] = file_stamp(os.stat(path))
        except OSError:
            stamps[name] = None
    return stamps


def _watch(root: Path, once) -> int:
    """``render --watch``: render with ``once`` now and after every change to the project's files
    (``runtime/watch.py``). A render that fails, or a file with a mistake in it, is reported and the watch goes on;
    Ctrl-C while waiting stops it (exit 0), Ctrl-C during a render interrupts that render as always (130)."""
    import time

    from director.cli.progress import summary
    from director.errors import ProjectLocked
    from director.runtime.uptodate import changes
    from director.runtime.watch import keep_warm, look, wait_for_change

    out = state.out
    out.compact = True  # --json: one line per render
    keep_warm()
    changed: list[str] | None = None  # what started this render (None: the first)
    # files the project is written in (director.yaml, screenplays, shot lists: YAML) always say what they did; any
    # other file whose change rendered nothing new is quiet: a render it starts again keeps its lines until it shows
    # something new, so that output another program writes into the project (`2>&1 | tee log.txt`) settles, even
    # with a job failing every time
    quiet: set[str] = set()
    last = None  # the last render's published stamps and failures
    locked = rendering = False
    try:
        while True:
            taken = look(root)
            held = [] if changed is not None and set(changed) <= quiet else None
            rendering = True
            try:
                outcome = once(held)
            except ProjectLocked as exc:  # another render or the studio holds the project: try again shortly
                rendering = False
                if not locked:
                    out.info(f"{exc}; waiting for it to finish")
                locked = True
                time.sleep(1.0)
                continue
            except DirectorError as exc:  # a mistake in a file being edited: say where, and wait for the next save
                rendering = False
                for line in held or ():
                    out.info(line)
                _print_error(exc)
                quiet, last = set(), None
                after = look(root)  # a shot list the planner wrote before the mistake was found is no change;
                # anything else saved meanwhile is
                baseline = after if all(n.startswith("shots/") for n in changes(taken, after)) else taken
            else:
                rendering = False
                now = (_published(outcome), sorted((r.stage, r.id) for r in outcome.result.records
                                                   if r.status in ("failed", "skipped")))  # which jobs, not their
                # messages (a temporary folder's name in an error differs every time)
                same = changed is not None and now == last
                if same and not any(_written_in(name) for name in changed):  # a file no render reads (a log):
                    if not set(changed) <= quiet:  # said once
                        out.info(f"{', '.join(changed)} changed: the episode is as it was")
                    quiet |= set(changed)
                elif same and not now[1]:  # a comment in the screenplay: said every time, nothing to show
                    for line in held or ():
                        out.info(line)
                    out.info(f"{', '.join(changed)} changed: the episode is as it was")
                else:  # something new, or a failure (the same job may fail for a new reason): the whole summary
                    for line in held or ():
                        out.info(line)
                    summary(out, outcome)
                    quiet = set()
                last = now
                # None: a file changed as the render read it (the look before it differs, so it renders again)
                baseline = outcome.inputs if outcome.inputs is not None else taken
            locked = False
            if changed is None:
                out.info(f"watching {root} for changes (Ctrl-C stops)")
            _, changed = wait_for_change(root, baseline)
            if not set(changed) <= quiet:
                out.info(f"changed: {', '.join(changed[:5])}" + (f" and {len(changed) - 5} more"
                                                                 if len(changed) > 5 else ""))
    except KeyboardInterrupt:
        if rendering:  # a render interrupted, as a render without --watch is
            raise
        out.info("stopped watching")
        return ExitCode.OK


def _up_to_date(episode: str | None, profile: str | None) -> bool:
    """Answer a render with nothing changed from its stamp (``cli/fast.py``; the console script tries first)."""
    from director.cli import fast

    if fast.TRIED:  # the console script asked the stamp a moment ago, for this very command line
        return False
    if profile not in (None, "preview", "final") or (state.project is not None and Path(state.project).is_file()):
        return False  # the normal path says why; a screenplay file names its own episode: never stamped
    done = fast.answer(_project().root, episode, profile)
    if done is not None:
        state.out.result(*done)
    return done is not None


# ------------------------------------------------------------------------------ status
@app.command()
def status(
    episode: Annotated[Optional[str], typer.Option("--episode", "-e", help="episode: its id, or its file name without .yaml")
                       ] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="preview or final (default: director.yaml)")
                       ] = None,
    all_: Annotated[bool, typer.Option("--all", help="every episode of the project")] = False,
) -> None:
    """Per shot and stage: cached, or why it must run."""
    from director.cli.tables import status_table
    from director.runtime.render import explain

    project = _project()
    if all_ and episode:
        raise UsageError("--all and --episode: give one of them")
    names = [p.stem for p in project.episode_paths()]
    if all_ and not names:
        raise _no_episodes()
    answers, failed = [], []
    # without a name, the first episode (the others are listed after it): status only reads
    for name in (names if all_ else [episode or (names[0] if names else None)]):
        try:
            ctx, result, notes = explain(project, name, profile)
        except DirectorError as exc:
            if not all_:
                raise
            # one episode's mistake is said, and the season's other episodes are still walked
            state.out.info(f"episode {name}: cannot be walked:")
            _print_error(exc)
            failed.append(exc)
            answers.append({"episode": name, "error": str(exc), "exit_code": int(exc.exit_code)})
            continue
        for note in notes:
            state.out.info(f"{ctx.loaded.episode}: {note}" if len(names) > 1 else note)
        rows = [r.as_dict() for r in result.records]
        to_run = sum(1 for r in result.records if r.status == "runs")
        waiting = sum(1 for r in result.records if r.status == "waits")
        # the same counts on the terminal and in --json: what will run, and what runs only if what it waits on
        # changes it
        answers.append({"episode": ctx.loaded.episode, "jobs": rows, "to_run": to_run, "waiting": waiting,
                        "cached": len(rows) - to_run - waiting, "notes": list(notes)})
        if not state.out.json_mode:
            from rich.console import Console

            if len(names) > 1:
                print(f"episode {ctx.loaded.episode}:")
            Console().print(status_table(result.records))
            # a job that waits on another runs only if that one's result changes what it reads: "to run" counted
            # every one (25 to run, where a render then ran 9)
            maybe = f", {waiting} more only if what they wait on changes them" if waiting else ""
            print(f"{len(rows) - to_run - waiting} cached, {to_run} to run{maybe}")
    if all_ and len(answers) > 1 and not state.out.json_mode:  # the season at a glance, after its tables (a
        # studio's 4 episodes were 261 lines with no summary)
        print(f"\n{len(answers)} episodes:")
        width = max(len(a["episode"]) for a in answers)
        for a in answers:
            if "error" in a:
                said = f"cannot be walked: {a['error'].splitlines()[0][:100]}"
            elif a["to_run"]:
                said = f"{a['to_run']} to run, {a['cached']} cached" + (f", {a['waiting']} waiting" if a["waiting"]
                                                                        else "")
            else:
                said = f"up to date ({a['cached']} cached)"
            print(f"  {a['episode']:<{width}}  {said}")
    if not all_ and len(names) > 1 and not state.out.json_mode:
        others = [n for n in names if n != answers[0]["episode"]]
        print(f"(other episodes: {', '.join(others[:8])}{' ...' if len(others) > 8 else ''}; status --all for every one)")
    state.out.result(answers[0] if not all_ else {"episodes": answers}, None)
    if failed:
        raise typer.Exit(failed[0].exit_code)


# ------------------------------------------------------------------------------ export
@app.command()
def export(
    format_: Annotated[str, typer.Option("--format", "-f", help="otio, fcp7 (Premiere/Resolve XML), fcpxml "
                                         "(Final Cut Pro), edl (CMX 3600), jianying or capcut (draft folder)")],
    episode: Annotated[Optional[str], typer.Option("--episode", "-e", help="episode(s): NAME or A,B")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every episode of the project")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="folder to write into: the timeline goes in OUT/<episode>/ "
                                                "(default: out/<episode>/); a draft straight into OUT, the app's "
                                                "drafts folder")] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="the profile the episode was rendered with")
                       ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace a draft folder of the same name that another "
                                        "project wrote or that was changed in the app since")] = False,
    wait: Annotated[float, typer.Option("--wait", min=0, help="seconds to wait for a render holding the project "
                                        "(render --watch re-rendering after a save) before giving up")] = 120.0,
) -> None:
    """Hand the rendered episode to an editor: media folder + timeline (never renders)."""
    from director.runtime.export import FORMATS
    from director.runtime.export import export as do_export

    if format_ not in FORMATS:
        raise UsageError(f"--format {format_!r} is not valid; use one of: {', '.join(FORMATS)}")
    project = _project()
    names = ([p.stem for p in project.episode_paths()] if all_ else episode.split(",") if episode else [None])
    for name in names:
        if name is not None:
            project.episode_path(name)  # an unknown name is a usage error naming the episodes, before any work
    if profile not in (None, "preview", "final"):
        raise UsageError(f"--profile {profile!r} is not valid; use preview or final")
    done = [do_export(project, name, format_, out, profile, force, wait, state.out.info) for name in names]
    for d in done:
        for warning in d.get("warnings", []):
            state.out.info(f"warning: {d['episode']}: {warning}")
    state.out.result({"exports": done}, "\n".join(f"{d['episode']}: {d['format']} -> {d['path']} ({d['shots']} shots, "
                                                  f"{len(d['tracks'])} track{'s' if len(d['tracks']) != 1 else ''}, media in {d['media']})" for d in done))


# ------------------------------------------------------------------------------ clean
@app.command()
def clean(
    everything: Annotated[bool, typer.Option("--everything", help="remove the whole cache")] = False,
    all_: Annotated[bool, typer.Option("--all", hidden=True)] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would be removed")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="re-hash every cached file and drop damaged entries")
                      ] = False,
) -> None:
    """Remove cached artifacts that no current plan or earlier take uses."""
    from director.runtime.clean import clean_cache

    if all_:  # every other command's --all means every episode, which clean always covers: never the whole cache
        raise UsageError("clean covers every episode already; to remove the whole cache (everything is rendered "
                         "again) write clean --everything")
    listed: list[dict] = []
    removed, kept, freed, damaged = clean_cache(_project(), everything=everything, dry_run=dry_run, verify=verify,
                                                listed=listed)
    verb = "would remove" if dry_run else "removed"
    by_stage: dict[str, list[dict]] = {}
    for entry in listed:
        by_stage.setdefault(entry["stage"], []).append(entry)
    # what, not only how much: a dry run said "would remove 31 entries (19.4 MB)" and nothing of which
    detail = "".join(f"\n  {stage}: {len(items)} ({sum(i['bytes'] for i in items) / 1e6:.1f} MB)"
                     + "".join(f"\n    {w}" for w in sorted({i["for"] for i in items if i["for"]})[:8])
                     for stage, items in sorted(by_stage.items())) if dry_run or state.out.verbosity > 0 else ""
    state.out.result({"removed": removed, "kept": kept, "bytes": freed, "dry_run": dry_run, "damaged": damaged,
                      "entries": listed},
                     f"{verb} {removed} entries ({freed / 1e6:.1f} MB), kept {kept}"
                     + (f"; {damaged} damaged entries found and removed" if verify else "") + detail)


# ------------------------------------------------------------------------------ models
models_app = typer.Typer(help="Models the profile needs: license, local or not, size; `pull` fetches them.",
                         invoke_without_command=True, no_args_is_help=False)
app.add_typer(models_app, name="models")


@models_app.callback()
def models(ctx: typer.Context,
           profile: Annotated[Optional[str], typer.Option("--profile", help="preview or final")] = None,
           vram: Annotated[Optional[float], typer.Option("--vram", help="GPU memory in GiB for the memory plan "
                                                          "(default: this machine's GPU)")] = None,
           ram: Annotated[Optional[float], typer.Option("--ram", help="host memory in GiB for pinned (group-offloaded) "
                                                        "weights (default: what this machine has free; with --vram "
                                                        "and no --ram: enough)")] = None) -> None:
    """List every model the project's profile needs, and where each goes on the GPU."""
    if ctx.invoked_subcommand is not None:
        state.profile = profile
        return
    from director.runtime.modelsinfo import device_vram_gb, memory_rows, model_rows, needed_models

    if vram is not None and not 1 <= vram <= 4096:
        raise UsageError(f"--vram {vram:g} is not a GPU memory size; give GiB, e.g. 24, 48 or 80")
    if ram is not None and not 1 <= ram <= 65536:
        raise UsageError(f"--ram {ram:g} is not a memory size; give GiB, e.g. 64 or 128")
    project = _project()
    rows = model_rows(needed_models(project, profile))
    card = vram if vram is not None else device_vram_gb()
    if ram is None and vram is None:
        from director.backends.memory import GIB, host_available
        ram = (host_available() or 0) / GIB or None
    plan = memory_rows(project, profile, card, ram) if card else []
    from director.runtime.doctor import language_warnings

    warnings = language_warnings(project, profile)  # a voice that cannot speak the episodes' language
    state.out.result({"models": rows, "memory_plan": {"vram_gb": card, "models": plan} if card else None,
                      "warnings": warnings}, None)
    for warning in warnings:
        state.out.info(f"warning: {warning}")
    if not state.out.json_mode:
        if not rows:
            print("this profile needs no model weights (built-in backends)")
        for r in rows:
            size = f"{r['bytes'] / 1e9:.2f} GB" if r["bytes"] is not None else "-"
            use = {"yes": "commercial use ok", "no": "NON-COMMERCIAL", "conditional": "commercial: read terms"}
            print(f"{'here   ' if r['local'] else 'MISSING'}  {r['id']}  [{r['role']}, {r['backend']}]  "
                  f"{r['license']} ({use[r['commercial']]})  {size}")
        missing = sum(1 for r in rows if not r["local"])
        if missing:
            pull = f"director models{' --profile ' + profile if profile else ''} pull"
            print(f"{missing} missing: fetch them with `{pull}` on a machine with network")
        if plan:
            words = {"none": "resident", "model": "model offload", "group": "group offload",
                     "sequential": "sequential offload", "unknown": "size unknown"}
            print(f"\nmemory plan for a {card:g} GiB GPU (a stage's models share the card; released after it):")
            for r in plan:
                peak = "not planned" if r["placement"] == "unknown" else f"peak ~{r['peak_gb']:.1f} GiB with the reserve"
                print(f"  {r['stage']:<15} {r['model']}  {r['weights_gb']:.1f} GiB -> {words[r['placement']]}, {peak}")
            pinned = [r for r in plan if r["placement"] == "group"]
            if pinned:  # group offload keeps a pinned copy of the weights in host memory
                most = max(r["weights_gb"] for r in pinned) * 1.5
                have = f"{ram:g} GiB free, as --ram says" if ram else "none was measured"
                print(f"group offload needs ~{most:.0f} GiB of host RAM free for its pinned copy of the weights "
                      f"({have}); with less, the plan takes model or sequential offload: `--ram N` plans for N GiB")
            unknown = [r["model"] for r in plan if r["placement"] == "unknown"]
            if unknown:
                print(f"size unknown, neither planned nor counted on disk: {', '.join(unknown)}")
        elif rows and card is None:
            again = f"director models{' --profile ' + profile if profile else ''} --vram 24"
            print(f"\nno CUDA GPU here: `{again}` shows the memory plan for a 24 GiB card")


@models_app.command("pull")
def models_pull() -> None:
    """Download the profile's missing models into the local cache."""
    from director.runtime.modelsinfo import needed_models, pull_models

    project = _project()
    profile = getattr(state, "profile", None)
    needs = needed_models(project, profile)
    fetched = pull_models(needs, project.config.license_ack)
    said = f"fetched {len(fetched)} model(s)" if fetched else "all models are here"
    if not needs and (profile or project.config.profile) == "preview":  # the preview profile needs none
        said = "the preview profile needs no models; the final profile's: `director models --profile final pull`"
    state.out.result({"fetched": fetched}, said)


# ------------------------------------------------------------------------------ doctor
@app.command()
def doctor(profile: Annotated[Optional[str], typer.Option("--profile", help="preview or final")] = None) -> None:
    """Can this machine run the profile? Packages, CUDA, GPU memory, disk, espeak-ng, logins, models."""
    from director.runtime.doctor import doctor as run_doctor

    if profile not in (None, "preview", "final"):
        raise UsageError(f"--profile {profile!r} is not valid; use preview or final")
    project = _project()
    checks = run_doctor(project, profile)
    blocked = [c for c in checks if not c.ok and c.blocking]
    state.out.result({"profile": profile or project.config.profile, "ok": not blocked,
                      "checks": [c.as_dict() for c in checks]}, None)
    if not state.out.json_mode:
        for c in checks:
            mark = "ok     " if c.ok else ("MISSING" if c.blocking else "warn   ")
            print(f"{mark} {c.name:<20} {c.detail}" + (f"\n        fix: {c.fix}" if c.fix and not c.ok else ""))
        print("ready" if not blocked else f"not ready: {len(blocked)} problem(s) above")
    if blocked:
        raise typer.Exit(ExitCode.UNAVAILABLE)


# ------------------------------------------------------------------------------ refs
refs_app = typer.Typer(help="Reference sheets generated for characters and places without refs.",
                       no_args_is_help=True)
app.add_typer(refs_app, name="refs")


@refs_app.command("lock")
def refs_lock(ident: Annotated[str, typer.Argument(help="character or location id")],
              episode: Annotated[Optional[str], typer.Option("--episode", "-e", help="the episode whose sheet to "
                                                             "keep, where episodes made different ones")] = None
              ) -> None:
    """Keep the generated sheet: copy it to refs/sheets/ where it wins over regeneration (in every episode)."""
    from director.runtime.modelsinfo import lock_sheet

    path = lock_sheet(_project(), ident, episode)
    state.out.result({"locked": str(path)}, f"locked {ident}: {path}")


@refs_app.command("unlock")
def refs_unlock(ident: Annotated[str, typer.Argument(help="character or location id")]) -> None:
    """Stop using a locked sheet (removes it from refs/sheets/)."""
    from director.runtime.modelsinfo import unlock_sheet

    removed = unlock_sheet(_project(), ident)
    state.out.result({"unlocked": [str(p) for p in removed]}, f"unlocked {ident}")


# ------------------------------------------------------------------------------ shots and takes (the studio's actions)
shot_app = typer.Typer(help="Edit one shot of the shot list, as the studio does.", no_args_is_help=True)
app.add_typer(shot_app, name="shot")
take_app = typer.Typer(help="A shot's takes (one per seed tried); earlier takes stay cached.", no_args_is_help=True)
app.add_typer(take_app, name="take")
EpisodeOpt = Annotated[Optional[str], typer.Option("--episode", "-e", help="the episode (default: the only one, "
                                                   "or the one episode that has the shot or scene)")]


@shot_app.command("set")
def shot_set(shot: Annotated[str, typer.Argument(help="shot id")],
             values: Annotated[list[str], typer.Argument(help="key=value ..., e.g. move=dolly-in duration=2.5")],
             episode: EpisodeOpt = None) -> None:
    """Set fields of a shot (size, angle, move, duration, prompt, characters, transition, seed, locked, talking)."""
    from director.runtime.edits import set_shot

    changes = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{item!r}: write key=value, e.g. move=dolly-in")
        changes[key.strip()] = value
    project, named = _edited(episode, shot=shot)
    saved = set_shot(project, named, shot, changes)
    state.out.result({"shot": saved}, f"{_in(episode, named)}{shot}: " + ", ".join(f"{k}={saved[k]}" for k in changes))
    if "duration" in changes and not saved["locked"]:  # it changed nothing a user could see, and said nothing
        state.out.info(f"note: a shot's duration is the floor of its length only while it is locked (unlocked, "
                       f"its lines time it); lock it to hold it: director shot set {shot} locked=true")


@shot_app.command("regen")
def shot_regen(shot: Annotated[str, typer.Argument(help="shot id")],
               seed: Annotated[Optional[int], typer.Option("--seed", help="the new take's seed (default: random)")
                               ] = None,
               episode: EpisodeOpt = None) -> None:
    """A new take of the shot: a new seed (the next render makes it; the earlier takes stay cached)."""
    from director.runtime.edits import regenerate

    project, named = _edited(episode, shot=shot)
    done = regenerate(project, named, shot, seed)
    state.out.result(done, f"{_in(episode, named)}{shot}: take {done['take']} (seed {done['seed']}); render to make it")


@take_app.command("list")
def take_list(shot: Annotated[str, typer.Argument(help="shot id")], episode: EpisodeOpt = None) -> None:
    """The shot's takes: number, seed, which one is current."""
    from director.runtime.edits import takes

    rows = takes(*_edited(episode, shot=shot), shot)
    state.out.result({"shot": shot, "takes": rows},
                     "\n".join(f"{'*' if r['current'] else ' '} take {r['take']}: seed {r['seed']}" for r in rows))


@take_app.command("pick")
def take_pick(shot: Annotated[str, typer.Argument(help="shot id")],
              number: Annotated[int, typer.Argument(help="take number (from `take list`)")],
              episode: EpisodeOpt = None) -> None:
    """Make a take the shot's current one (its artifacts are cached: instant, unless the shot changed since)."""
    from director.runtime.edits import pick

    project, named = _edited(episode, shot=shot)
    done = pick(project, named, shot, number)
    state.out.result(done, f"{_in(episode, named)}{shot}: take {number} (seed {done['seed']}) is current")


@app.command()
def line(ref: Annotated[str, typer.Argument(help="the line's beat, scene-id/N")],
         text: Annotated[Optional[str], typer.Option("--text", help="new text")] = None,
         emotion: Annotated[Optional[str], typer.Option("--emotion", help="new emotion ('' removes it)")] = None,
         episode: EpisodeOpt = None) -> None:
    """Edit a line's (or a narration's) text or emotion in the screenplay (validated; comments and layout kept)."""
    from director.runtime.edits import set_line

    if "/" not in ref:
        example = ref if ref and ref.replace("-", "").replace("_", "").isalnum() else "pickup"  # its own scene's
        raise UsageError(f"{ref!r} is not a line's reference; they look like scene-id/N (N counts the scene's beats "
                         f"from 1), e.g. director line {example}/2 --text ...")
    project, named = _edited(episode, scene=ref.rpartition("/")[0])
    done = set_line(project, named, ref, text, emotion)
    for warning in done["warnings"]:
        state.out.info(f"warning: {warning}")
    state.out.result(done, f"{_in(episode, named)}{ref} ({done['who']}): {done['text']}" +
                     (f" [{done['emotion']}]" if done["emotion"] else ""))


def _edited(episode: str | None, shot: str | None = None, scene: str | None = None):
    """(project, episode) of an edit: the one named, else the one that has the shot or scene (``episode_holding``)."""
    from director.runtime.edits import episode_holding

    project = _project()
    return project, episode_holding(project, episode, shot=shot, scene=scene)


def _in(asked: str | None, found: str | None) -> str:
    """'ep02: ' where the episode of an edit was found by its shot or scene (not named, and not the only one)."""
    return f"{found}: " if asked is None and found is not None else ""


@app.command()
def studio(port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to serve on")] = 8765,
           host: Annotated[str, typer.Option("--host", help="address to bind; anything but 127.0.0.1/localhost "
                                             "requires the printed token on every request")] = "127.0.0.1",
           token: Annotated[bool, typer.Option("--token", help="require the printed token on 127.0.0.1 too (a "
                                               "machine other people have accounts on)")] = False) -> None:
    """Review, lock and regenerate shots in the browser (a local web app over this project)."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"the studio needs its extra ({exc.name or exc} is not installed): "
                                 "pip install 'director[studio]'") from None
    from director.studio.app import serve

    serve(_project(), host, port, state.out, token)


# ------------------------------------------------------------------------------ entry point
def run(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 1 2 3 4 130, as the README lists them)."""
    try:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # typer versions that still use click itself
        from click.exceptions import ClickException, NoArgsIsHelpError

    try:
        result = app(args=hoisted(sys.argv[1:] if argv is None else argv), prog_name="director",
                     standalone_mode=False)
        if result == ExitCode.INTERRUPTED:  # click returns Exit(130), made of Ctrl-C, as a plain code
            print(INTERRUPTED, file=sys.stderr)
        return result if isinstance(result, int) else ExitCode.OK
    except DirectorError as exc:
        _print_error(exc)
        from director.errors import ScreenplayError

        return _json_error(str(exc) if not isinstance(exc, ScreenplayError) else
                           f"{sum(1 for p in exc.problems if p.severity == 'error')} problem(s) found", exc.exit_code,
                           [p.as_dict() for p in exc.problems] if isinstance(exc, ScreenplayError) else None)
    except typer.Exit as exc:
        if exc.exit_code == ExitCode.INTERRUPTED:  # click turns Ctrl-C into Abort, typer into Exit(130)
            print(INTERRUPTED, file=sys.stderr)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print(INTERRUPTED, file=sys.stderr)
        return ExitCode.INTERRUPTED
    except NoArgsIsHelpError as exc:
        exc.show()
        return ExitCode.USAGE
    except ClickException as exc:
        exc.show()
        return _json_error(exc.format_message(), ExitCode.USAGE)
    except OSError as exc:
        message = system_trouble(exc)
        if message is None:
            return _internal_error(exc)
        from director.secrets import shown

        print(shown(f"error: {message}"), file=sys.stderr)
        return _json_error(message, ExitCode.STAGE_FAILED)
    except Exception as exc:  # a bug, not a user error: one line, and the traceback only with -v
        return _internal_error(exc)


GLOBAL_FLAGS = ("--json", "-q", "--quiet", "-v", "-vv", "-vvv", "--verbose")


def hoisted(argv: list[str]) -> list[str]:
    """The command line with the global flags typed after the command (``render --watch --json``) put before it,
    where the command line's framework reads them; ``--`` ends the search."""
    end = argv.index("--") if "--" in argv else len(argv)
    i = 0
    while i < end and argv[i].startswith("-"):  # the global options before the command
        i += 2 if argv[i] in ("-p", "--project") else 1
    if i >= end:
        return argv
    late, rest, j = [], [], i + 1
    while j < end:  # a flag, or the project with its folder (``render -p show``: "No such option: -p")
        if argv[j] in GLOBAL_FLAGS or argv[j].startswith("--project="):
            late.append(argv[j])
        elif argv[j] in ("-p", "--project") and j + 1 < end:
            late += argv[j:j + 2]
            j += 1
        else:
            rest.append(argv[j])
        j += 1
    if not late:
        return argv
    return [*late, *argv[:i + 1], *rest, *argv[end:]]


def _internal_error(exc: BaseException) -> int:
    """A bug, not a user error: one line, and the traceback only with -v."""
    import traceback

    from director.secrets import shown

    if state.out.verbosity > 0:
        print(shown(traceback.format_exc()), file=sys.stderr)
    print(shown(f"internal error: {type(exc).__name__}: {exc} (run with -v for details; please report it)"),
          file=sys.stderr)
    return _json_error(f"internal error: {type(exc).__name__}: {exc}", ExitCode.STAGE_FAILED)


def _json_error(message: str, code: int, problems: list[dict] | None = None) -> int:
    """With --json, an error is one JSON document on stdout (error, exit_code, problems) where the command printed
    none: a script reading stdout got nothing at all. Said on stderr as before. Returns ``code``."""
    if state.out.json_mode and not state.out.emitted:
        from director.secrets import redact_data

        state.out.result(redact_data({"error": message, "exit_code": int(code),
                                      **({"problems": problems} if problems is not None else {})}))
    return code


def _print_error(exc: DirectorError) -> None:
    from director.errors import ScreenplayError
    from director.secrets import shown

    if isinstance(exc, ScreenplayError):
        for problem in exc.problems:
            print(shown(str(problem)), file=sys.stderr)
        errors = sum(1 for p in exc.problems if p.severity == "error")
        print(f"{errors} problem{'s' if errors != 1 else ''} found", file=sys.stderr)
    else:
        print(shown(f"error: {exc}"), file=sys.stderr)


def entry() -> None:
    """The console script of installs made before ``cli/fast.py`` (a reinstall points it there)."""
    from director.cli.fast import entry as first_the_short_path

    first_the_short_path()
