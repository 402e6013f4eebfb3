"""Long videos in parts (issue 22): when a video is split, and how one part is transcribed.

- **When**: once the container states the duration, a video longer than PART_SECONDS, or whose work
  would not fit the invocation's time budget at the backend's measured speed, is planned as parts
  (``part_length``); a video whose part could not fit even alone is left whole, for the budget to
  refuse it. Short videos take the one-invocation path unchanged.
- **The plan**: equal nominal ranges; the real boundaries are cut in the quietest moment near each
  (:mod:`.part_window`), agreed once through the store. One message per part on the same queue.
- **One part**: claimed on its own (its own attempts: the one retry is per part), its range fetched
  and transcribed, its result stored; the part that completes the set stores the assembled
  transcript in the same transaction (``PartStore.save_part``): exactly one transcript.
- **Failures**: a part that fails twice (or permanently) writes the video's failure record naming the
  part; the other parts' results stay, and ``retry-failed`` re-queues the video, whose planning finds
  the plan and sends only the parts that are missing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from ..models import AudioSink, Segment, Span, Transcript, Word
from .budget import TimeBudget

#: How far from a nominal boundary the cut may move (a pause is found within it).
WINDOW_SECONDS = 30.0
#: No part is shorter than this (below it the per-part overhead dominates).
MIN_PART_SECONDS = 120.0


class SplitInstead(Exception):
    """Raised when the duration is known and the video is to be transcribed in parts."""

    def __init__(self, duration: float, part_seconds: float) -> None:
        super().__init__(f"{duration:.0f} s of audio: in parts of at most {part_seconds:.0f} s")
        self.duration = duration
        self.part_seconds = part_seconds


def part_length(duration: float, part_seconds: float, budget: TimeBudget) -> float | None:
    """How long the parts of a video of ``duration`` should be; None: it goes whole."""
    timeout = budget.timeout_seconds or math.inf

    def fits(seconds: float, available: float) -> bool:
        return budget.needed_for(seconds) + budget.margin_seconds <= available

    if duration <= part_seconds and fits(duration, budget.remaining_seconds()):
        return None
    length = part_seconds
    while not fits(length + 2 * WINDOW_SECONDS, timeout) and length / 2 >= MIN_PART_SECONDS:
        length /= 2
    if not fits(length + 2 * WINDOW_SECONDS, timeout) or duration <= length:
        return None  # not even one part fits a fresh invocation: the budget refuses it, naming the fix
    return length


def plan_ranges(duration: float, part_seconds: float) -> list[Span]:
    """Equal nominal ranges of at most ``part_seconds`` covering ``[0, duration]``."""
    count = max(2, math.ceil(duration / part_seconds))
    step = duration / count
    return [Span(round(i * step, 3), round(duration if i == count - 1 else (i + 1) * step, 3)) for i in range(count)]


class SplitCheck:
    """The whole-video sink's guard: when the container states the duration, raise SplitInstead if
    the video is to go in parts, else pass everything on to ``inner``."""

    def __init__(self, inner: AudioSink, part_seconds: float, budget: TimeBudget) -> None:
        self.inner = inner
        self.part_seconds = part_seconds
        self.budget = budget

    def begin(self, declared_seconds: float | None) -> None:
        if declared_seconds:
            length = part_length(declared_seconds, self.part_seconds, self.budget)
            if length is not None:
                raise SplitInstead(declared_seconds, length)
        self.inner.begin(declared_seconds)

    def feed(self, samples: np.ndarray) -> None:
        self.inner.feed(samples)


def on_video_timeline(result: Transcript, cut_start: float, seconds: float) -> Transcript:
    """A part's transcript moved from its own timeline (0 = its start cut) onto the video's."""

    def moved(s: Segment) -> Segment:
        words = tuple(Word(w.start + cut_start, w.end + cut_start, w.text) for w in s.words)
        return replace(s, start=s.start + cut_start, end=s.end + cut_start, words=words)

    return replace(result, segments=[moved(s) for s in result.segments], duration=round(seconds, 3))


def assemble(parts: Sequence[Transcript]) -> Transcript:
    """The video's transcript from its parts' (each on the video's timeline, in order, meeting at
    their cuts): segments and words in order, the figures summed, the language of most speech."""
    segments = [s for p in parts for s in p.segments]
    text = " ".join(s.text for s in segments)
    spoken: defaultdict[str, float] = defaultdict(float)
    for p in parts:
        for s in p.segments:
            language = s.language or p.language
            if language:
                spoken[language] += max(0.0, s.end - s.start)
    languages = [p.language for p in parts if p.language]
    language = max(spoken, key=spoken.__getitem__) if spoken else (languages[0] if languages else None)
    probabilities = [p.language_probability for p in parts if p.language == language and p.language_probability]
    first = parts[0]
    return Transcript(
        text=text,
        segments=segments,
        language=language,
        duration=round(sum(p.duration for p in parts), 3),
        backend=first.backend,
        model=first.model,
        speech_seconds=_total(p.speech_seconds for p in parts),
        no_speech=not text,
        model_audio_seconds=_total(p.model_audio_seconds for p in parts),
        cost_usd=_total(p.cost_usd for p in parts),
        language_probability=max(probabilities) if probabilities else None,
    )


def _total(values: Iterable[float | None]) -> float | None:
    figures = list(values)
    if any(v is None for v in figures):
        return None
    return round(sum(v for v in figures if v is not None), 6)
