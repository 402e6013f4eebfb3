"""Render a transcript as plain text, JSON, SubRip (.srt) or WebVTT (.vtt).

Input: a :class:`~vidscribe.models.Transcript`, as a backend produced it or as the store returned it
(whose times may be NaN where a stored value was unreadable).

Subtitle cues are made well-formed whatever the backend returned, with the smallest changes that
work, all in whole milliseconds:

- empty or whitespace-only segments are dropped; whitespace inside a segment is collapsed;
- negative or non-finite times are clamped to 0 or to the previous cue's start, so cue starts
  never go backwards;
- a cue that ends where it starts (or before) is given ``MIN_CUE_SECONDS`` (cut short by the next
  cue when that starts earlier, but always at least 1 ms);
- a cue that overlaps the next one is ended where the next begins;
- a segment with word timings is cut at word boundaries into cues of at most two lines of
  ``MAX_LINE_CHARS`` and ``MAX_CUE_SECONDS``, also at any pause over ``MAX_WORD_GAP_SECONDS``;
  each cue starts with its first word and ends with its last;
- a segment without them (stored before words were recorded, or from a text-only model) longer
  than ``MAX_CUE_SECONDS`` or ``MAX_CUE_CHARS`` characters is split at word boundaries into cues of
  at most two lines of ``MAX_LINE_CHARS``, each given time in proportion to its share of the
  characters (words longer than a line are broken, which also handles unspaced scripts).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .models import Segment, Transcript

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_CHARS = MAX_LINE_CHARS * MAX_LINES  # 84
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 0.5
#: A pause between two words longer than this ends a word-timed cue.
MAX_WORD_GAP_SECONDS = 1.0

FORMATS = ("txt", "json", "srt", "vtt")
#: A language as a VTT header or span may carry it (a BCP 47-like code such as "en" or "zh-Hant"):
#: a stored value is never written into the file otherwise.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    language: str | None = None  # its segment's, where the backend gave one


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


# --- cues ----------------------------------------------------------------------------------------
def _to_ms(seconds: float) -> int | None:
    if not math.isfinite(seconds):
        return None
    return max(0, int(round(seconds * 1000)))


def _balanced_lines(text: str) -> tuple[str, ...]:
    """One line if it fits, else two lines of at most MAX_LINE_CHARS split as evenly as possible
    (falls back to greedy wrapping, which may give more lines, if no even split fits)."""
    if len(text) <= MAX_LINE_CHARS:
        return (text,)
    best: tuple[str, str] | None = None
    for index, char in enumerate(text):
        if char != " ":
            continue
        first, second = text[:index], text[index + 1 :]
        fits = len(first) <= MAX_LINE_CHARS and len(second) <= MAX_LINE_CHARS
        if fits and (best is None or max(len(first), len(second)) < max(map(len, best))):
            best = (first, second)
    if best is not None:
        return best
    return tuple(_wrap(text, MAX_LINE_CHARS))


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [text]


def _fits(text: str) -> bool:
    return len(_wrap(text, MAX_LINE_CHARS)) <= MAX_LINES


def _split_text(text: str, duration_ms: int) -> list[str]:
    """Pieces of ``text`` (in order, at word boundaries) that each fit two lines and, with time
    shared by characters, last at most about MAX_CUE_SECONDS (a single word is never split for
    time's sake; words longer than a line are broken)."""
    wanted_by_time = math.ceil(duration_ms / (MAX_CUE_SECONDS * 1000))
    if wanted_by_time <= 1 and _fits(text):
        return [text]
    words: list[str] = []
    for word in text.split(" "):
        words.extend(_wrap(word, MAX_LINE_CHARS) if len(word) > MAX_LINE_CHARS else [word])
    pieces = max(1, min(len(words), max(wanted_by_time, math.ceil(len(text) / MAX_CUE_CHARS))))
    target = len(text) / pieces
    out: list[str] = []
    current: list[str] = []
    length = 0
    for word in words:
        grown = length + (1 if current else 0) + len(word)
        # Close the piece when the word would not fit two lines, or would take it further past
        # the target length than it now falls short of it.
        if current and (grown + length > 2 * target or not _fits(" ".join([*current, word]))):
            out.append(" ".join(current))
            current, length = [word], len(word)
        else:
            current.append(word)
            length = grown
    if current:
        out.append(" ".join(current))
    return out


def _word_pieces(segment: Segment) -> list[tuple[float, float, str]] | None:
    """A word-timed segment cut into cue pieces at word boundaries: words join a piece while its
    text fits two lines, it lasts at most MAX_CUE_SECONDS and no pause inside it is longer than
    MAX_WORD_GAP_SECONDS (so a caption does not stay up through a pause). Each piece runs from its
    first word's start to its last word's end. None when the words are unusable (old transcripts
    have none): the caller then shares the segment's time by characters."""
    words = [(w.start, w.end, " ".join(w.text.split())) for w in segment.words]
    words = [w for w in words if w[2]]
    if not words or not all(math.isfinite(a) and math.isfinite(b) for a, b, _ in words):
        return None
    pieces: list[tuple[float, float, str]] = []
    start, end, text = words[0]
    for word_start, word_end, word in words[1:]:
        joined = f"{text} {word}"
        if (
            not _fits(joined)
            or word_end - start > MAX_CUE_SECONDS
            or word_start - end > MAX_WORD_GAP_SECONDS
        ):
            pieces.append((start, end, text))
            start, end, text = word_start, word_end, word
        else:
            end, text = max(end, word_end), joined
    pieces.append((start, end, text))
    return pieces


def build_cues(segments: Iterable[Segment]) -> list[Cue]:
    """Well-formed, ordered cues from raw segments (see the module docstring for the rules)."""
    raw: list[tuple[int, int | None, str, bool, str | None]] = []  # start, end, text, cut at words, language
    previous_start = 0
    for segment in segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        timed = _word_pieces(segment)
        for piece_start_s, piece_end_s, piece_text in [(segment.start, segment.end, text)] if timed is None else timed:
            start = _to_ms(piece_start_s)
            start = previous_start if start is None else max(start, previous_start)
            raw.append((start, _to_ms(piece_end_s), piece_text, timed is not None, segment.language))
            previous_start = start

    cues: list[Cue] = []
    for position, (start, end, text, at_words, language) in enumerate(raw):
        next_start = raw[position + 1][0] if position + 1 < len(raw) else None
        if end is None or end <= start:
            end = start + int(MIN_CUE_SECONDS * 1000)
            if next_start is not None and next_start > start:
                end = min(end, next_start)
        elif next_start is not None and start < next_start < end:
            end = next_start  # no overlaps: players would stack the two cues
        end = max(end, start + 1)
        if at_words:
            cues.append(Cue(start, end, _balanced_lines(text), language))
            continue

        pieces = _split_text(text, end - start)
        total_chars = sum(len(p) for p in pieces) + len(pieces) - 1
        offset = 0
        piece_start = start
        for number, piece in enumerate(pieces):
            offset += len(piece) + (1 if number < len(pieces) - 1 else 0)
            piece_end = end if number == len(pieces) - 1 else start + round((end - start) * offset / total_chars)
            piece_end = max(piece_end, piece_start + 1)
            cues.append(Cue(piece_start, piece_end, _balanced_lines(piece), language))
            piece_start = piece_end
    # Splitting a cue of a few milliseconds into several may push a piece past the next cue's
    # start: a last pass restores the two invariants (starts never go back, end > start).
    ordered: list[Cue] = []
    floor = 0
    for cue in cues:
        start = max(cue.start_ms, floor)
        ordered.append(Cue(start, max(cue.end_ms, start + 1), cue.lines, cue.language))
        floor = start
    return ordered


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
