"""Model prompts derived from the shot (never stored): size, angle, look, place, time, people, action."""
from __future__ import annotations

from director.backends.types import FrameRequest, SheetRequest

SIZE_WORDS = {"EWS": "extreme wide shot", "WS": "wide shot", "MWS": "medium wide shot, full figure",
              "MS": "medium shot, waist up", "MCU": "medium close-up, chest up", "CU": "close-up on the face",
              "ECU": "extreme close-up"}
ANGLE_WORDS = {"eye-level": "eye-level camera", "high": "high angle looking down", "low": "low angle looking up",
               "overhead": "overhead top-down view", "dutch": "dutch angle, tilted horizon",
               "ots": "over-the-shoulder shot", "pov": "point-of-view shot"}


def frame_prompt(req: FrameRequest, named: dict[str, str] | None = None) -> str:
    """One frame's prompt. ``named`` maps a figure id to how the prompt refers to its reference."""
    people = []
    for fig in req.figures:
        who = fig.name
        if named and fig.id in named:
            who = f"{fig.name} (the person in {named[fig.id]}; keep face, hair and clothes identical)"
        people.append(f"{who}: {fig.description}" if fig.description else who)
    parts = [f"{SIZE_WORDS.get(req.size, req.size)}, {ANGLE_WORDS.get(req.angle, req.angle)}", req.prompt]
    if req.caption and req.caption.lower() not in req.prompt.lower():
        parts.append(req.caption)
    parts.append(f"at {req.location}, {req.time}")
    if named and "location" in named:
        parts.append(f"the place looks like {named['location']}")
    parts.extend(people)
    parts.append("vertical 9:16 cinematic frame" if req.height > req.width else "cinematic frame")
    if req.look:
        parts.append(req.look)
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


def sheet_prompt(req: SheetRequest) -> str:
    if req.kind == "character":
        body = (f"character reference sheet of {req.name}: {req.description}. Two full-body views side by side, "
                f"front view and three-quarter view, neutral even studio light, plain light grey background, "
                f"same person, same clothes in both views")
    else:
        body = (f"empty establishing shot of {req.description}, {req.time}, no people, wide view, "
                f"clear layout of the place")
    return f"{body}. {req.look}" if req.look else body


def negative_prompt(negative: str, extra: str = "") -> str:
    return ", ".join(p for p in (negative, extra) if p)
