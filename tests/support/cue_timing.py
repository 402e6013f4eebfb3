"""How far caption cues start from the words they show: the cue-start error of a transcript's
SRT/VTT cues, against word timings taken as the truth (the local model's, on the same audio).

Each cue's words are matched to the reference words in order (difflib over the normalised words;
only runs of two or more words count, so a lone "the" cannot pair with one far away). A cue's error
is the distance from its start to the reference start of its first word; when that word is not
matched, the first matched word among its first four gives the time, stepped back over as many
reference words as the cue has before it where those are unmatched too and said within a second
before it (a word heard differently), else not (a word only the cue has, or speech it left out).
A cue none of whose first four words match is left out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tests.support import nonspeech, realspeech
from vidscribe.captions import Cue
from vidscribe.models import Word

_LOOKAHEAD = 4


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9']+", "", word.lower())


def cue_start_errors(cues: Sequence[Cue], reference: Sequence[Word]) -> list[float]:
    """Seconds between each cue's start and when its first word is said (module docstring)."""
    hypothesis: list[tuple[int, str]] = [
        (number, _norm(w)) for number, cue in enumerate(cues) for w in " ".join(cue.lines).split() if _norm(w)
    ]
    truth = [(w.start, _norm(w.text)) for w in reference if _norm(w.text)]
    matcher = difflib.SequenceMatcher(a=[h for _, h in hypothesis], b=[t for _, t in truth], autojunk=False)
    matched = {a + i: b + i for a, b, size in matcher.get_matching_blocks() if size >= 2 for i in range(size)}
    truth_matched = set(matched.values())
    first_word: dict[int, int] = {}
    for index, (number, _) in enumerate(hypothesis):
        first_word.setdefault(number, index)
    errors = []
    for number, index in first_word.items():
        for step in range(_LOOKAHEAD):
            at = index + step
            if at >= len(hypothesis) or hypothesis[at][0] != number:
                break
            if at in matched:
                said = matched[at]
                while step and said > 0 and said - 1 not in truth_matched and truth[said][0] - truth[said - 1][0] < 1.0:
                    said, step = said - 1, step - 1  # a word heard differently, just before: step back
                errors.append(abs(cues[number].start_ms / 1000 - truth[said][0]))
                break
    return errors


@dataclass(frozen=True)
class Summary:
    median: float
    p90: float
    count: int

    @classmethod
    def of(cls, errors: Sequence[float]) -> Summary:
        return cls(float(np.median(errors)), float(np.percentile(errors, 90)), len(errors))


def _silence(seconds: float) -> np.ndarray:
    return nonspeech.silence(seconds)


def talk(parts: Sequence[realspeech.Recording], gaps: Sequence[float]) -> realspeech.Clip:
    """People speaking on with short gaps (under VAD's half-second): one long speech region."""
    built: list[np.ndarray | realspeech.Recording] = [_silence(0.5)]
    for part, gap in zip(parts, gaps, strict=True):
        built += [part, _silence(gap)]
    return realspeech.build(built)


def clips() -> dict[str, realspeech.Clip]:
    """The real recordings the text-only path is measured on: a dense 30 s paragraph, speakers with
    long pauses, speech after music, and speech with short gaps (long VAD regions)."""
    birch, frosty, opening = realspeech.BIRCH, realspeech.FROSTY, realspeech.LICENCE_OPENING
    return {
        "licence paragraph": realspeech.build([realspeech.LICENCE]),
        "long pauses": realspeech.long_pauses_clip(),
        "music intro": realspeech.music_intro_clip(),
        "monologue": talk([birch, frosty, opening, birch, frosty], [0.15, 0.2, 0.25, 0.1, 1.0]),
        "chatter": talk([frosty, birch, realspeech.LICENCE, frosty], [0.35, 0.4, 0.45, 1.0]),
    }
