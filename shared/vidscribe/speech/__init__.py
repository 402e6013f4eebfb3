"""Speech first: find the speech (``vad``), send only that to the model (``timeline``), keep only
what the model did not invent (``guards``), and put every time back on the media's timeline
(``transcription`` ties them together for every backend)."""

from .transcription import SpeechFinder, SpeechTranscriber, build_vad, no_speech_transcript
from .vad import SpeechDetector, SpeechFound, VadOptions, VoiceActivityDetector

__all__ = [
    "SpeechDetector",
    "SpeechFinder",
    "SpeechFound",
    "SpeechTranscriber",
    "VadOptions",
    "VoiceActivityDetector",
    "build_vad",
    "no_speech_transcript",
]
