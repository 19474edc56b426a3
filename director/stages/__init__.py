"""The render stages, in the order they run. Voice comes before clips: a shot's length follows its dialogue."""
from __future__ import annotations

STAGE_ORDER = ("refs", "keyframes", "voice", "timing", "clips", "music", "subtitles", "mix", "assemble")


def all_stages():
    from director.stages.assemble import AssembleStage
    from director.stages.clips import ClipsStage
    from director.stages.keyframes import KeyframesStage
    from director.stages.mix import MixStage
    from director.stages.music import MusicStage
    from director.stages.refs import RefsStage
    from director.stages.subtitles import SubtitlesStage
    from director.stages.timing import TimingStage
    from director.stages.voice import VoiceStage

    return [RefsStage(), KeyframesStage(), VoiceStage(), TimingStage(), ClipsStage(), MusicStage(), SubtitlesStage(),
            MixStage(), AssembleStage()]
