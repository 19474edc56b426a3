"""Deterministic repair of a planner's answer for one scene: the bookkeeping a small model gets wrong.

A local 1-8B model drops a dialogue line, covers a beat twice, lists beats out of order, leaves the
speaker out of frame or names a character who is not in the scene's cast. None of that needs judgment,
so none of it is sent back to the model (re-asking a small model mostly returns the same answer): it is
fixed here, by rules a storyboard artist would apply, and each fix is named for the plan record. What
remains after the repair -- an empty answer, a shot with no beats left -- goes back to the model.
"""
from __future__ import annotations

from director.screenplay import Scene, Screenplay
from director.vocab import NOT_ON_SCREEN


def repair_scene(sp: Screenplay, scene: Scene, planned: list, free: list[str], min_s: float, max_s: float
                 ) -> tuple[list, list[str]]:
    """(repaired shots, what was repaired). ``planned``: the answer's shots (pydantic models with ``beats``,
    ``characters``, ``duration``); ``free``: the scene's beat refs not held by locked shots, in order."""
    order = {ref: i for i, ref in enumerate(free)}
    fixes: list[str] = []
    shots = [p.model_copy(deep=True) for p in planned]
    seen: set[str] = set()
    emptied: list[int] = []
    for n, shot in enumerate(shots, start=1):
        kept = []
        for ref in shot.beats:
            if ref not in order:
                fixes.append(f"shot {n}: dropped {ref} (not a free beat of scene {scene.id})")
            elif ref in seen:
                fixes.append(f"shot {n}: dropped {ref} (already covered by an earlier shot)")
            else:
                seen.add(ref)
                kept.append(ref)
        if kept != sorted(kept, key=order.__getitem__):
            fixes.append(f"shot {n}: beats put in screenplay order")
        if shot.beats and not kept:
            emptied.append(n)
        shot.beats = sorted(kept, key=order.__getitem__)
    if emptied:  # a shot that came with no beats (an establishing plate) is kept
        fixes.append(f"shot(s) {', '.join(map(str, emptied))} dropped: no beats left")
    shots = [s for n, s in enumerate(shots, start=1) if n not in emptied]
    if not any(s.beats for s in shots):
        return [], fixes

    def key(i: int) -> float:  # a plate sorts just before the next shot that covers beats
        following = next((order[s.beats[0]] for s in shots[i:] if s.beats), len(order))
        return order[shots[i].beats[0]] if shots[i].beats else following - 0.5
    keys = [key(i) for i in range(len(shots))]
    if keys != sorted(keys):
        fixes.append("shots put in the order of their first beat")
        shots = [s for _, s in sorted(zip(keys, shots), key=lambda t: t[0])]
    covering = [s for s in shots if s.beats]
    for ref in free:  # a beat nobody covered joins the shot that covers the beat before it (or the first shot)
        if ref in seen:
            continue
        target = max((s for s in covering if order[s.beats[0]] < order[ref]), key=lambda s: order[s.beats[0]],
                     default=covering[0])
        target.beats = sorted(target.beats + [ref], key=order.__getitem__)
        seen.add(ref)
        fixes.append(f"{ref} was not covered: joined the shot with {target.beats[0]}")
    beats = {sp.beat_ref(scene, i): b for i, b in enumerate(scene.beats)}
    for n, shot in enumerate(shots, start=1):
        strangers = [c for c in shot.characters if c not in sp.characters]
        if strangers:
            shot.characters = [c for c in shot.characters if c in sp.characters]
            fixes.append(f"shot {n}: removed {', '.join(strangers)} (not in the cast)")
        for ref in shot.beats:
            line = beats[ref].line
            if line is not None and line.heard_as not in NOT_ON_SCREEN and line.who not in shot.characters:
                shot.characters = [line.who, *shot.characters]
                fixes.append(f"shot {n}: {line.who} framed (speaks {ref} on screen)")
        speakers = [beats[r].line.who for r in shot.beats if beats[r].line is not None
                    and beats[r].line.heard_as not in NOT_ON_SCREEN]
        if shot.angle == "ots" and speakers and len(shot.characters) >= 2 and shot.characters[0] != speakers[0]:
            # over the shoulder, the one who speaks faces the camera (listed first), so the next speaker's shot
            # is the reverse and the 180-degree line holds
            shot.characters = [speakers[0], *[c for c in shot.characters if c != speakers[0]]]
            fixes.append(f"shot {n}: {speakers[0]} faces the camera over the other's shoulder (speaks "
                         f"{next(r for r in shot.beats if beats[r].line and beats[r].line.who == speakers[0])})")
        if not min_s <= shot.duration <= max_s:
            clamped = min(max_s, max(min_s, shot.duration))
            fixes.append(f"shot {n}: duration {shot.duration:g}s -> {clamped:g}s")
            shot.duration = clamped
    return shots, fixes
