"""Render a transcript as plain text, JSON, SubRip (.srt) or WebVTT (.vtt).

Input: a :class:`~vidscribe.models.Transcript`, as a backend produced it or as the store returned it
(whose times may be NaN where a stored value was unreadable). SRT and VTT show the cues of
:mod:`vidscribe.captions`: at most 7 s and two lines of 42 characters each, broken at words.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from .captions import MAX_CUE_SECONDS, MAX_LINE_CHARS, Cue, build_cues
from .models import Segment, Transcript

FORMATS = ("txt", "json", "srt", "vtt")
#: A language as a VTT header or span may carry it (a BCP 47-like code such as "en" or "zh-Hant"):
#: a stored value is never written into the file otherwise.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
__all__ = ["FORMATS", "MAX_CUE_SECONDS", "MAX_LINE_CHARS", "render", "to_json", "to_srt", "to_txt", "to_vtt"]


def _text_of(transcript: Transcript) -> str:
    text = transcript.text
    if not text.strip() and transcript.segments:
        text = " ".join(s.text.strip() for s in transcript.segments)
    return " ".join(text.split())


def _json_seconds(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None  # NaN is not JSON
    return round(value, 3)


# --- txt and json --------------------------------------------------------------------------------
def to_txt(transcript: Transcript) -> str:
    """Plain text, one line per segment as Whisper's own ``.txt`` writer does (whitespace collapsed);
    the whole text on one line when there are no segments; empty string when there is no text."""
    lines = [" ".join(s.text.split()) for s in transcript.segments]
    lines = [line for line in lines if line] or [_text_of(transcript)]
    return "".join(f"{line}\n" for line in lines if line)


def _json_optional(value: float | None) -> float | None:
    return None if value is None else _json_seconds(value)


def _json_segment(segment: Segment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": _json_seconds(segment.start), "end": _json_seconds(segment.end), "text": segment.text.strip()
    }
    if segment.language:  # where a video changes language, each segment says its own
        data["language"] = segment.language
    if segment.words:  # transcripts stored before word timings have none
        data["words"] = [
            {"start": _json_seconds(w.start), "end": _json_seconds(w.end), "word": w.text.strip()}
            for w in segment.words
        ]
    return data


def to_json(transcript: Transcript) -> str:
    """A JSON document: video_id (when known), text, language, language_probability, duration,
    backend, model, no_speech, speech_seconds, model_audio_seconds, cost_usd (null where not
    recorded) and segments (seconds, 3 decimals), each with its ``language`` and timed ``words``
    when the backend gave them."""
    document: dict[str, Any] = {} if transcript.video_id is None else {"video_id": transcript.video_id}
    document |= {
        "text": _text_of(transcript),
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "duration": _json_seconds(transcript.duration),
        "backend": transcript.backend,
        "model": transcript.model,
        "no_speech": transcript.no_speech,
        "speech_seconds": _json_optional(transcript.speech_seconds),
        "model_audio_seconds": _json_optional(transcript.model_audio_seconds),
        "cost_usd": None if transcript.cost_usd is None else round(transcript.cost_usd, 6),
        "segments": [_json_segment(s) for s in transcript.segments],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _timestamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def to_srt(segments: Sequence[Segment]) -> str:
    """SubRip: numbered cues from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each.
    No segments gives an empty string. SubRip has no place for a language (no header, no markup
    players agree on): name the file for it (``video.de.srt``), or use VTT or JSON."""
    blocks = [
        f"{index}\n{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}\n" + "\n".join(cue.lines) + "\n"
        for index, cue in enumerate(build_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_text(cue: Cue, language: str | None) -> str:
    """The cue's lines, escaped; wrapped in a ``<lang>`` span when its language is not the file's."""
    text = "\n".join(_vtt_escape(line) for line in cue.lines)
    if cue.language and cue.language != language and _LANGUAGE_TAG.fullmatch(cue.language):
        return f"<lang {cue.language}>{text}</lang>"
    return text


def to_vtt(segments: Sequence[Segment], language: str | None = None) -> str:
    """WebVTT: a ``WEBVTT`` header (with ``Language: xx`` when the language is known), then
    ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues separated by blank lines (cue text escaped, so ``-->``,
    ``<`` and ``&`` in speech cannot break the file). A cue in another language than the file's is
    marked with WebVTT's ``<lang xx>`` span."""
    blocks = [
        f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}\n{_vtt_text(cue, language)}\n"
        for cue in build_cues(segments)
    ]
    header = "WEBVTT\n" + (f"Language: {language}\n" if language and _LANGUAGE_TAG.fullmatch(language) else "")
    return header + "".join("\n" + block for block in blocks)


def render(transcript: Transcript, fmt: str) -> str:
    """Render in one of ``txt``, ``json``, ``srt``, ``vtt`` (case-insensitive)."""
    kind = (fmt or "").lower().lstrip(".")
    if kind == "txt":
        return to_txt(transcript)
    if kind == "json":
        return to_json(transcript)
    if kind == "srt":
        return to_srt(transcript.segments)
    if kind == "vtt":
        return to_vtt(transcript.segments, transcript.language)
    raise ValueError(f"unknown transcript format {fmt!r}; expected one of {', '.join(FORMATS)}")
