"""The closed vocabularies of the screenplay and shot list, in one place."""
from __future__ import annotations

import difflib

SIZES = ("ECU", "CU", "MCU", "MS", "MWS", "WS", "EWS")
ANGLES = ("eye-level", "high", "low", "overhead", "dutch", "ots", "pov")
MOVES = ("static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
         "truck-left", "truck-right", "crane-up", "crane-down", "orbit", "handheld", "zoom-in", "zoom-out")
TRANSITIONS = ("cut", "fade", "dissolve")
TIMES = ("day", "night", "dawn", "dusk", "morning", "noon", "afternoon", "evening", "sunset", "sunrise")
VOICE_PRESETS = ("female", "female_warm", "female_bright", "female_low", "male", "male_deep", "male_bright",
                 "male_young", "child", "elder_female", "elder_male", "narrator")
INTENSITIES = {"low": 0.3, "medium": 0.6, "high": 0.9}
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
AUDIO_EXTS = (".wav", ".flac", ".mp3", ".ogg")
BEAT_KINDS = ("action", "line", "narration", "music", "sfx")
NARRATOR = "narrator"


def did_you_mean(value: object, choices) -> str:
    """' (did you mean 'x'?)' when ``value`` is close to one of ``choices``, else ''."""
    if not isinstance(value, str):
        return ""
    lowered = {str(c).lower(): str(c) for c in choices}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""


def one_of(value: object, choices) -> str:
    """A message fragment naming the bad value, a suggestion and what would be valid."""
    return f"{value!r} is not valid{did_you_mean(value, choices)}; valid: {', '.join(map(str, choices))}"
