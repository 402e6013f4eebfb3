"""Hallucination guards beyond VAD: drop the segments the model itself marks as unreliable.

Whisper reports, per segment, the probability that its window held no speech (``no_speech_prob``),
the mean log-probability of its tokens (``avg_logprob``) and how well its text compresses
(``compression_ratio``: a repetition loop such as "Thank you. Thank you. Thank you." compresses
far better than speech). The thresholds are Whisper's own (openai/whisper ``transcribe``'s
``no_speech_threshold=0.6``, ``logprob_threshold=-1.0``, ``compression_ratio_threshold=2.4``),
applied here as filters, after the model's own fallbacks, on both backends.

Measured on the real recordings (tiny.en, beam 1; ``bench/bench_speech.py``): real speech segments
reach at most ``no_speech_prob`` 0.29, at least ``avg_logprob`` -0.56 and at most
``compression_ratio`` 1.83, well inside the thresholds, so no real speech is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..models import Segment

NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0
REPETITION_COMPRESSION_RATIO = 2.4


@dataclass(frozen=True)
class GuardVerdict:
    kept: list[Segment]
    dropped: list[tuple[Segment, str]]


def hallucination_reason(segment: Segment) -> str | None:
    """Why ``segment`` is not to be trusted, or None. Segments without the figures pass."""
    nsp, logprob, ratio = segment.no_speech_prob, segment.avg_logprob, segment.compression_ratio
    if nsp is not None and logprob is not None and nsp > NO_SPEECH_PROB and logprob < LOW_AVG_LOGPROB:
        return f"no_speech_prob {nsp:.2f} > {NO_SPEECH_PROB} with avg_logprob {logprob:.2f} < {LOW_AVG_LOGPROB}"
    if ratio is not None and ratio > REPETITION_COMPRESSION_RATIO:
        return f"compression_ratio {ratio:.2f} > {REPETITION_COMPRESSION_RATIO} (a repetition loop)"
    return None


def drop_hallucinations(segments: Iterable[Segment]) -> GuardVerdict:
    kept: list[Segment] = []
    dropped: list[tuple[Segment, str]] = []
    for segment in segments:
        reason = hallucination_reason(segment)
        if reason is None:
            kept.append(segment)
        else:
            dropped.append((segment, reason))
    return GuardVerdict(kept, dropped)
