"""Planning: screenplay -> editable shot list. The rule-based planner is the offline default."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from director.errors import StageFailed
from director.project import Project
from director.screenplay import LoadedScreenplay
from director.shots import ShotList, load_shot_list, plan_problems, save_shot_list, screenplay_digest


@dataclass
class PlanResult:
    shot_list: ShotList
    path: Path
    notes: list[str] = field(default_factory=list)
    changed: bool = True
    stats: dict = field(default_factory=dict)


def previous_shots(project: Project, loaded: LoadedScreenplay) -> ShotList | None:
    path = project.shots_path(loaded.episode)
    return load_shot_list(path) if path.exists() else None


def plan_episode(project: Project, loaded: LoadedScreenplay, planner_name: str | None = None,
                 llm=None) -> PlanResult:
    """Plan (or re-plan) an episode, keeping locked shots, and save the shot list atomically.

    ``llm`` is the resolved LLMSettings for the llm planner; without it (no key) the rules plan.
    """
    from director.plan.rules import RulePlanner, merge_locked

    sp, episode = loaded.screenplay, loaded.episode
    previous = previous_shots(project, loaded)
    locked = [s for s in previous.shots if s.locked] if previous else []
    name = planner_name or project.config.planner.backend
    notes: list[str] = []
    stats: dict = {}
    if name == "llm" and llm is None:
        notes.append("no OPENAI_API_KEY set: planned with the rule-based planner "
                     "(set OPENAI_API_KEY, and OPENAI_BASE_URL for a local server, to use the LLM)")
        name = "rules"
    if name == "llm":
        from director.plan.llm import plan_with_llm

        shots, llm_notes, stats = plan_with_llm(project, loaded, locked, llm)
        notes += llm_notes
    else:
        shots, rule_notes = merge_locked(sp, episode, RulePlanner(sp, episode), locked)
        notes += rule_notes
    problems = plan_problems(sp, shots)
    if problems:  # never hand the renderer a broken plan
        raise StageFailed("the planner produced an unusable shot list:\n" + "\n".join(m for _, m in problems))
    shot_list = ShotList(episode=episode, screenplay=screenplay_digest(sp), planner=name, shots=shots)
    path = project.shots_path(episode)
    changed = previous is None or previous != shot_list
    if changed:
        save_shot_list(path, shot_list)
    return PlanResult(shot_list, path, notes, changed, stats)


def current_shots(project: Project, loaded: LoadedScreenplay) -> tuple[ShotList, list[str]]:
    """The shot list a render uses: the saved one if it still matches the screenplay, else a fresh plan."""
    previous = previous_shots(project, loaded)
    if previous is not None and previous.screenplay == screenplay_digest(loaded.screenplay):
        shots = load_shot_list(project.shots_path(loaded.episode), loaded.screenplay)
        return shots, []
    result = plan_episode(project, loaded)
    why = "no shot list yet" if previous is None else "the screenplay changed since the last plan"
    return result.shot_list, [f"planned {len(result.shot_list.shots)} shots ({why})"] + result.notes


def plan_preview(project: Project, loaded: LoadedScreenplay) -> tuple[list, list[str]]:
    """The shots a render would use, without writing anything (for ``director status``)."""
    from director.plan.rules import RulePlanner, merge_locked

    previous = previous_shots(project, loaded)
    if previous is not None and previous.screenplay == screenplay_digest(loaded.screenplay):
        return load_shot_list(project.shots_path(loaded.episode), loaded.screenplay).shots, []
    locked = [s for s in previous.shots if s.locked] if previous else []
    sp = loaded.screenplay
    shots, notes = merge_locked(sp, loaded.episode, RulePlanner(sp, loaded.episode), locked)
    return shots, ["the shot list will be re-planned by the next render (screenplay changed)"] + notes
