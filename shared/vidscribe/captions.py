"""Caption cues people can read, from any transcript's segments: what SRT and VTT show.

Every cue this module makes, whatever the backend returned:

- lasts at most ``MAX_CUE_SECONDS`` (7 s) and at least 1 ms; cues never overlap, and their starts
  never go backwards;
- holds at most ``MAX_LINES`` (2) lines of at most ``MAX_LINE_CHARS`` (42) characters, broken at
  word boundaries, as evenly as fits (a word longer than a line, such as a URL or unspaced script,
  is the one thing broken inside);
- is cut from a segment at word boundaries:

  - a segment with word timings (the local model, whisper-1) is cut where its words say: words join
    a cue while its text fits two lines, it lasts at most 7 s and no pause between two words is
    over ``MAX_WORD_GAP_SECONDS``; a cue runs from its first word's start to its last word's end;
  - a segment without them (from a text-only model, which the OpenAI backend already times from
    the speech in pieces of at most 6 s, or stored before words were recorded) is split into as few
    pieces as fit two lines and 7 s, each given time in proportion to its characters.

Times are whole milliseconds; unreadable (NaN) times take the previous cue's start, a cue that ends
where it starts gets ``MIN_CUE_SECONDS`` (cut short by the next cue).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from .models import Segment

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_CHARS = MAX_LINE_CHARS * MAX_LINES  # 84
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 0.5
#: A pause between two words longer than this ends a word-timed cue.
MAX_WORD_GAP_SECONDS = 1.0
_MAX_CUE_MS = int(MAX_CUE_SECONDS * 1000)


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    language: str | None = None  # its segment's, where the backend gave one


def build_cues(segments: Iterable[Segment]) -> list[Cue]:
    """Readable, ordered cues from a transcript's segments (module docstring)."""
    raw: list[tuple[int, int | None, str, bool, str | None]] = []  # start, end, text, cut at words, language
    previous_start = 0
    for segment in segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        timed = _word_pieces(segment)
        pieces = [(segment.start, segment.end, text)] if timed is None else timed
        for piece_start_s, piece_end_s, piece_text in pieces:
            start = _to_ms(piece_start_s)
            start = previous_start if start is None else max(start, previous_start)
            raw.append((start, _to_ms(piece_end_s), piece_text, timed is not None, segment.language))
            previous_start = start

    cues: list[Cue] = []
    for position, (start, end, text, at_words, language) in enumerate(raw):
        next_start = raw[position + 1][0] if position + 1 < len(raw) else None
        end = _settled_end(start, end, next_start)
        if at_words and _fits(text):
            cues.append(Cue(start, min(end, start + _MAX_CUE_MS), _balanced_lines(text), language))
        else:
            cues.extend(_shared_by_characters(start, end, text, language))
    return _ordered(cues)


def _settled_end(start: int, end: int | None, next_start: int | None) -> int:
    """The end of a cue starting at ``start``: at least 1 ms after it, never past the next start."""
    if end is None or end <= start:
        end = start + int(MIN_CUE_SECONDS * 1000)
        if next_start is not None and next_start > start:
            end = min(end, next_start)
    elif next_start is not None and start < next_start < end:
        end = next_start  # no overlaps: players would stack the two cues
    return max(end, start + 1)


def _shared_by_characters(start: int, end: int, text: str, language: str | None) -> list[Cue]:
    """``text`` over ``start``-``end`` as cues that each fit two lines and last at most 7 s (where
    a single word does not need longer), their time shared by characters."""
    pieces = _split_text(text, end - start)
    return [
        Cue(start + a, start + b, _balanced_lines(piece), language)
        for piece, (a, b) in zip(pieces, _char_spans(pieces, end - start), strict=True)
    ]


def _char_spans(pieces: list[str], duration_ms: int) -> list[tuple[int, int]]:
    """Each piece's (start, end) in ms from 0, ``duration_ms`` shared by characters (a piece owns
    the space after it), contiguous, each at least 1 ms."""
    total_chars = sum(len(p) for p in pieces) + len(pieces) - 1
    spans = []
    offset = 0
    piece_start = 0
    for number, piece in enumerate(pieces):
        offset += len(piece) + (1 if number < len(pieces) - 1 else 0)
        piece_end = duration_ms if number == len(pieces) - 1 else round(duration_ms * offset / total_chars)
        piece_end = max(piece_end, piece_start + 1)
        spans.append((piece_start, piece_end))
        piece_start = piece_end
    return spans


def _ordered(cues: list[Cue]) -> list[Cue]:
    """The invariants, whatever came before: starts never go back, no overlap, 1 ms to 7 s.
    (Splitting a cue of a few milliseconds into several may push a piece past the next start.)"""
    ordered: list[Cue] = []
    floor = 0
    for index, cue in enumerate(cues):
        start = max(cue.start_ms, floor)
        end = max(cue.end_ms, start + 1)
        next_start = cues[index + 1].start_ms if index + 1 < len(cues) else None
        if next_start is not None and next_start > start:
            end = min(end, next_start)
        ordered.append(Cue(start, min(end, start + _MAX_CUE_MS), cue.lines, cue.language))
        floor = start
    return ordered


def _to_ms(seconds: float) -> int | None:
    if not math.isfinite(seconds):
        return None
    return max(0, int(round(seconds * 1000)))


def _balanced_lines(text: str) -> tuple[str, ...]:
    """One line if it fits, else two lines of at most MAX_LINE_CHARS split at the space that makes
    them most even (ties: after punctuation). Callers give only text that fits two lines."""
    if len(text) <= MAX_LINE_CHARS:
        return (text,)
    best: tuple[tuple[int, int], tuple[str, str]] | None = None
    for index, char in enumerate(text):
        if char != " ":
            continue
        first, second = text[:index], text[index + 1 :]
        if len(first) <= MAX_LINE_CHARS and len(second) <= MAX_LINE_CHARS:
            rank = (max(len(first), len(second)), 0 if first[-1] in ",.;:!?" else 1)
            if best is None or rank < best[0]:
                best = (rank, (first, second))
    if best is not None:
        return best[1]
    return tuple(_wrap(text, MAX_LINE_CHARS))


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [text]


def _fits(text: str) -> bool:
    return len(_wrap(text, MAX_LINE_CHARS)) <= MAX_LINES


def _split_text(text: str, duration_ms: int) -> list[str]:
    """Pieces of ``text`` (in order, at word boundaries) that each fit two lines and, with time
    shared by characters, last at most about MAX_CUE_SECONDS (a single word is never split for
    time's sake; words longer than a line are broken)."""
    words: list[str] = []
    for word in text.split(" "):
        words.extend(_wrap(word, MAX_LINE_CHARS) if len(word) > MAX_LINE_CHARS else [word])
    wanted = max(math.ceil(duration_ms / _MAX_CUE_MS), math.ceil(len(text) / MAX_CUE_CHARS), 1)
    for pieces in range(min(wanted, len(words)), len(words) + 1):
        out = _greedy(words, len(text) / pieces)
        if len(out) == len(words) or all(b - a <= _MAX_CUE_MS for a, b in _char_spans(out, duration_ms)):
            return out
    return words


def _greedy(words: list[str], target: float) -> list[str]:
    """Words joined into pieces of about ``target`` characters, each fitting two lines."""
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
