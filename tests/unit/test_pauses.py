"""Cutting a stretch of speech at its pauses into pieces a text-only model can time."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from vidscribe.speech.pauses import MARGIN_SECONDS, PIECE_SECONDS, Piece, cut_at_pauses

R = 16_000


def bursts(spans: list[tuple[float, float]], total: float, *, noise: float = 0.0) -> np.ndarray:
    """Voice-like bursts (a 220 Hz buzz with harmonics) at ``spans``, over optional steady noise."""
    rng = np.random.default_rng(5)
    samples = noise * rng.standard_normal(int(total * R)).astype(np.float32)
    for start, end in spans:
        t = np.arange(int((end - start) * R)) / R
        buzz = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6))
        samples[int(start * R) : int(start * R) + t.size] += 0.2 * buzz.astype(np.float32)
    return samples


def seconds(piece: Piece) -> tuple[float, float]:
    return piece.start / R, piece.end / R


def test_words_with_short_pauses_are_cut_only_inside_pauses_into_pieces_of_at_most_six_seconds():
    # Given 15 one-second "words" separated by 0.2 s pauses, after 0.5 s of quiet
    words = [(0.5 + i * 1.2, 1.5 + i * 1.2) for i in range(15)]
    pieces = cut_at_pauses(bursts(words, 19.0))
    # Then every piece lasts at most 6 s, starts where a word starts and ends where one ends
    assert len(pieces) == 3  # five words (5.8 s) each
    starts = {round(a, 2) for a, _ in words}
    ends = {round(b, 2) for _, b in words}
    for piece in pieces:
        start, end = seconds(piece)
        assert end - start <= PIECE_SECONDS
        assert min(abs(start - s) for s in starts) <= 0.02 and min(abs(end - e) for e in ends) <= 0.02
    # and no word is split: each lies inside one piece
    assert all(any(p.start <= a * R and b * R <= p.end + 0.02 * R for p in pieces) for a, b in words)
    # Each upload takes 0.1 s of the quiet on either side, never reaching the next word
    for earlier, later in pairwise(pieces):
        assert earlier.upload_end - earlier.end == later.start - later.upload_start == int(MARGIN_SECONDS * R)
        assert earlier.upload_end <= later.start and later.upload_start >= earlier.end


def test_a_pause_of_half_a_second_always_ends_a_piece():
    pieces = cut_at_pauses(bursts([(0.2, 1.2), (1.8, 2.8)], 3.0))
    assert [seconds(p) for p in pieces] == [pytest.approx((0.2, 1.2), abs=0.021), pytest.approx((1.8, 2.8), abs=0.021)]


def test_pauses_are_found_under_steady_noise():
    words = [(0.5 + i * 1.2, 1.5 + i * 1.2) for i in range(8)]
    quiet = cut_at_pauses(bursts(words, 10.5))
    noisy = cut_at_pauses(bursts(words, 10.5, noise=0.02))  # ~20 dB under the "voice"
    assert [seconds(p) for p in noisy] == [pytest.approx(seconds(p), abs=0.041) for p in quiet]


def test_speech_that_never_pauses_is_cut_at_most_every_six_seconds_without_margins_across_the_cut():
    pieces = cut_at_pauses(bursts([(0.0, 15.0)], 15.0))
    assert [p.end - p.start <= PIECE_SECONDS * R for p in pieces] == [True] * len(pieces) and len(pieces) == 3
    assert pieces[0].start == 0 and pieces[-1].end == 15 * R
    for earlier, later in pairwise(pieces):
        assert earlier.end == later.start  # contiguous: nothing lost
        assert earlier.upload_end == earlier.end and later.upload_start == later.start  # nothing twice


def test_nothing_gives_no_pieces():
    assert cut_at_pauses(np.zeros(0, np.float32)) == []
