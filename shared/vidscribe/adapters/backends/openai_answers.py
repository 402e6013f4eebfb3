"""What the transcription API answers, read into the pipeline's values, timed on one upload.

Two shapes, by what the request asked for:

- ``verbose_json`` (whisper-1, OpenAI-compatible Whisper servers, and /v1/audio/translations):
  ``language`` (a lower-case English name), ``duration``, ``text``, ``segments`` (with Whisper's own
  confidence figures for the hallucination guards) and, when asked, ``words``, listed apart from the
  segments: each is attached to the segment it falls in.
- ``json`` (the ``gpt-*`` models): ``text`` only, plus for ``gpt-transcribe`` ``languages: [{code}]``
  (empty when it is unsure) and ``usage`` (``{"type": "duration", "seconds": ...}``: what is billed).

The SDK parses known fields into its models; fields a compatible server adds arrive in
``model_extra``, and a plain dict works too.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import NoSpeechDecoded
from ...models import Segment, Word
from .languages import normalize_language


@dataclass
class Answer:
    """One upload's answer, times on the media's side already shifted by the upload's offset."""

    text: str
    segments: list[Segment] = field(default_factory=list)
    language: str | None = None  # as a code ("en"); None when the model did not say
    billed_seconds: float | None = None  # usage.seconds, when the API reports duration usage


def read_text_answer(response: Any) -> Answer:
    """A ``json`` (or ``text``) answer: its text, detected language and billed seconds."""
    text = field_of(response, "text")
    if text is None and isinstance(response, str):
        text = response
    answer = Answer(text=" ".join(str(text or "").split()))
    detected = field_of(response, "languages") or []
    if detected:
        answer.language = normalize_language(field_of(detected[0], "code"))
    usage = field_of(response, "usage")
    if usage is not None and field_of(usage, "type") == "duration":
        answer.billed_seconds = _optional_float(field_of(usage, "seconds"))
    return answer


def read_timed_answer(response: Any, *, offset: float, end: float, uploaded: float) -> Answer:
    """A ``verbose_json`` answer, its segment and word times shifted by ``offset`` (seconds) and
    kept within ``[offset, end]``. ``uploaded``: the seconds sent, to tell an empty decode."""
    answer = read_text_answer(response)
    answer.language = normalize_language(field_of(response, "language"))
    reported = field_of(response, "duration")
    if reported is not None and _float(reported) <= 0 and uploaded >= 0.1:
        raise NoSpeechDecoded(f"the API decoded no audio from an upload of {uploaded:.1f} s")

    def shifted(value: Any) -> float:
        return min(max(_float(value), 0.0) + offset, end)

    words = [
        Word(round(shifted(field_of(w, "start")), 3), round(shifted(field_of(w, "end")), 3),
             str(field_of(w, "word") or "").strip())
        for w in field_of(response, "words") or []
    ]
    words = [w for w in words if w.text]
    for raw in field_of(response, "segments") or []:
        text = " ".join(str(field_of(raw, "text") or "").split())
        if not text:
            continue
        start = shifted(field_of(raw, "start"))
        answer.segments.append(
            Segment(
                round(start, 3), round(max(shifted(field_of(raw, "end")), start), 3), text,
                no_speech_prob=_optional_float(field_of(raw, "no_speech_prob")),
                avg_logprob=_optional_float(field_of(raw, "avg_logprob")),
                compression_ratio=_optional_float(field_of(raw, "compression_ratio")),
            )
        )
    if answer.text and not answer.segments:
        # A compatible server that ignored verbose_json: keep the text, timed by the upload.
        answer.segments = [Segment(round(offset, 3), round(end, 3), answer.text)]
    if words:
        answer.segments = _attach_words(answer.segments, words)
    return answer


def field_of(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)  # fields a compatible server added
        if isinstance(extra, dict):
            value = extra.get(name)
    return value


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _optional_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _attach_words(segments: list[Segment], words: list[Word]) -> list[Segment]:
    """whisper-1 lists words apart from segments: give each word to the segment its middle falls
    in (else the nearer of its two neighbours), in order."""
    if not segments:
        return segments
    starts = [seg.start for seg in segments]
    owned: list[list[Word]] = [[] for _ in segments]
    for word in words:
        middle = (word.start + word.end) / 2
        index = max(0, bisect.bisect_right(starts, middle) - 1)
        if middle > segments[index].end and index + 1 < len(segments):
            after = segments[index + 1].start - middle
            if after < middle - segments[index].end:
                index += 1
        owned[index].append(word)
    return [replace(seg, words=tuple(mine)) for seg, mine in zip(segments, owned, strict=True)]
