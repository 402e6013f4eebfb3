"""Where speech pauses, and pieces cut there: how captions from a text-only model get their timing.

A text-only model (``gpt-transcribe``) answers one text per request, with no times. So the timing
comes from what is uploaded: a stretch of speech is cut at its pauses into pieces of at most
``PIECE_SECONDS``, each piece is its own request, and its text is one segment that starts where the
piece's speech starts. Measured on 111 s of real speech (``bench/bench_text_only_cues.py``, through
the SDK and a server answering with tiny.en): cue starts 0.13 s from tiny.en's word timings
(median; 90th percentile 0.49 s), where one request per speech region was 0.40 s off (1.13 s) and
that text spread over the region's louder frames 0.33 s (0.86 s); and the WER fell from 0.047 to
0.027 (short requests kept a phrase tiny.en drops from a 30 s paragraph), for 38 requests instead
of 14 and the same audio uploaded.

A pause is a run of 20 ms frames at least ``MIN_PAUSE_SECONDS`` long whose loudness is under a
threshold set from the stretch itself: between its own floor and its speech level (so steady room
tone or music under the speech moves the threshold with it): under pink noise (15 dB SNR) and music
(10 dB SNR) the cue starts stayed within 0.11 s (median; p90 0.40 s) in the same bench. A prototype
that found the pauses with Silero's speech probabilities instead timed the cues the same, clean and
in noise; loudness needs no model, so it runs wherever the OpenAI backend runs. (librosa's
``effects.split`` does the same over a whole signal, but brings numba and scipy, far too large for
the Lambda layer.)

Cuts are made at the longest pause that keeps a piece at most ``PIECE_SECONDS`` long and at least
``MIN_PIECE_SECONDS``; speech with no pause in that span is cut at its quietest 100 ms. Every pause
of ``SPLIT_PAUSE_SECONDS`` or more is always a cut (nothing is gained by uploading it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # 20 ms
FRAME_SECONDS = FRAME / SAMPLE_RATE
#: Pieces uploaded to a text-only model, at most. Measured: 4 s timed cues best (p90 0.42 s) for 16%
#: more requests; 8 s took 21% fewer requests and started cues up to 0.76 s off; the WER was the
#: same within a word. 6 s is between.
PIECE_SECONDS = 6.0
MIN_PIECE_SECONDS = 1.0
#: Shorter dips (a stop consonant, a breath between words) are not pauses.
MIN_PAUSE_SECONDS = 0.12
#: Pauses at least this long always end a piece.
SPLIT_PAUSE_SECONDS = 0.5
#: Each piece is uploaded with up to this much of the pause on either side (soft word edges).
MARGIN_SECONDS = 0.1
#: Below the stretch's speech level (90th percentile of its frames) by this much is quiet...
_QUIET_BELOW_LEVEL_DB = 25.0
#: ...but never less than this above its floor (5th percentile), nor above the middle of the two.
_QUIET_ABOVE_FLOOR_DB = 6.0
_QUIET_WINDOW_FRAMES = 5  # 100 ms, for a cut where speech never pauses


@dataclass(frozen=True)
class Piece:
    """One request's audio, in samples of the stretch: ``start``-``end`` is its speech (where its
    segment is timed), ``upload_start``-``upload_end`` what is sent (with a little of the pauses)."""

    start: int
    end: int
    upload_start: int
    upload_end: int


def loudness_db(samples: np.ndarray) -> np.ndarray:
    """Loudness of each whole 20 ms frame, in dB (RMS; -120 for digital silence)."""
    frames = len(samples) // FRAME
    if frames == 0:
        return np.zeros(0)
    blocks = np.asarray(samples[: frames * FRAME], dtype=np.float64).reshape(frames, FRAME)
    rms = np.sqrt(np.mean(np.square(blocks), axis=1))
    return np.asarray(20.0 * np.log10(rms + 1e-6))


def quiet_frames(db: np.ndarray) -> np.ndarray:
    """Which frames are quiet, against a threshold set from these frames alone."""
    if db.size == 0:
        return np.zeros(0, dtype=bool)
    level, floor = float(np.percentile(db, 90)), float(np.percentile(db, 5))
    threshold = min(max(floor + _QUIET_ABOVE_FLOOR_DB, level - _QUIET_BELOW_LEVEL_DB), (level + floor) / 2)
    return np.asarray(db < threshold)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frame indices of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def cut_at_pauses(samples: np.ndarray, *, piece_seconds: float = PIECE_SECONDS) -> list[Piece]:
    """``samples`` (one stretch of speech, 16 kHz) as pieces of at most ``piece_seconds`` of speech,
    cut at its pauses (module docstring). Quiet edges are left out; a stretch too quiet to tell
    speech from pause is one piece (or cut at its quietest moments if it is long)."""
    db = loudness_db(samples)
    total = len(samples)
    if db.size == 0:
        return [Piece(0, total, 0, total)] if total else []
    quiet = quiet_frames(db)
    min_pause = max(1, round(MIN_PAUSE_SECONDS / FRAME_SECONDS))
    pauses = [(a, b) for a, b in _runs(quiet) if b - a >= min_pause]
    loud = np.flatnonzero(~quiet)
    if loud.size == 0:
        first, last = 0, len(db)
    else:
        first, last = int(loud[0]), int(loud[-1]) + 1
    inner = [(a, b) for a, b in pauses if a > first and b < last]
    stretches: list[tuple[int, int]] = []  # frames between pauses that always cut
    start = first
    for a, b in inner:
        if (b - a) * FRAME_SECONDS >= SPLIT_PAUSE_SECONDS:
            stretches.append((start, a))
            start = b
    stretches.append((start, last))
    bounds: list[tuple[int, int]] = []
    for lo, hi in stretches:
        bounds.extend(_cut_stretch(lo, hi, [p for p in inner if lo < p[0] and p[1] < hi], db, piece_seconds))
    return _with_margins([(lo, hi) for lo, hi in bounds if (hi - lo) * FRAME_SECONDS >= 0.1], total)


def _cut_stretch(
    lo: int, hi: int, pauses: list[tuple[int, int]], db: np.ndarray, piece_seconds: float
) -> list[tuple[int, int]]:
    """Frame spans of the pieces of one stretch: cut at its longest pauses, each at most
    ``piece_seconds`` long and (where the speech allows) at least MIN_PIECE_SECONDS."""
    longest = max(1, int(piece_seconds / FRAME_SECONDS))
    shortest = int(MIN_PIECE_SECONDS / FRAME_SECONDS)
    out: list[tuple[int, int]] = []
    start = lo
    while hi - start > longest:
        candidates = [(a, b) for a, b in pauses if start + shortest <= (a + b) // 2 <= start + longest]
        if candidates:
            a, b = max(candidates, key=lambda p: (p[1] - p[0], p[0]))
            out.append((start, a))
            start = b
        else:
            cut = _quietest(db, start + shortest, start + longest)
            out.append((start, cut))
            start = cut
    out.append((start, hi))
    return out


def _quietest(db: np.ndarray, first: int, last: int) -> int:
    """The frame in the middle of the quietest 100 ms between ``first`` and ``last``."""
    window = db[first:last]
    if window.size <= _QUIET_WINDOW_FRAMES:
        return last
    smooth = np.convolve(window, np.ones(_QUIET_WINDOW_FRAMES) / _QUIET_WINDOW_FRAMES, mode="valid")
    latest = smooth.size - 1 - int(np.argmin(smooth[::-1]))  # of equally quiet moments, the latest
    return first + latest + _QUIET_WINDOW_FRAMES // 2


def _with_margins(bounds: list[tuple[int, int]], total: int) -> list[Piece]:
    """Pieces in samples, each uploaded with up to MARGIN_SECONDS of the quiet on either side: never
    into a neighbour's speech (a cut where the speech did not pause gets no margin)."""
    margin = int(MARGIN_SECONDS * SAMPLE_RATE)
    spans = [(lo * FRAME, total if hi * FRAME >= total - FRAME else hi * FRAME) for lo, hi in bounds]
    pieces = []
    for index, (start, end) in enumerate(spans):
        before = spans[index - 1][1] if index else 0
        after = spans[index + 1][0] if index + 1 < len(spans) else total
        pieces.append(Piece(start, end, max(before, start - margin), min(after, end + margin)))
    return pieces
