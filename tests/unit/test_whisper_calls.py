"""Where long audio is cut into the local model's ~20 s calls."""

from __future__ import annotations

import numpy as np

from vidscribe.adapters.backends.whisper_calls import joining_silences, plan_calls, split_point
from vidscribe.models import Span

R = 16_000


def test_calls_are_cut_in_the_latest_pause_that_fits() -> None:
    # Given 50 s of packed speech: regions joined by 0.3 s silences at 8, 17, 26 and 38 s
    spans = [Span(0, 8), Span(8.3, 17), Span(17.3, 26), Span(26.3, 38), Span(38.3, 50)]
    samples = np.ones(50 * R, dtype=np.float32)
    joins = joining_silences(spans)
    assert len(joins) == 4
    calls = plan_calls(samples, joins, 20.0)
    # Then each call is at most 20 s, cut in the middle of a pause (the latest that fits), and they cover it all
    assert [round(a / R, 2) for a, _ in calls] == [0.0, 17.15, 26.15, 38.15]
    assert calls[-1][1] == len(samples) and all(b - a <= 20 * R for a, b in calls)
    assert all(calls[i][1] == calls[i + 1][0] for i in range(len(calls) - 1))


def test_speech_without_a_pause_is_cut_at_its_quietest_moment() -> None:
    # Given 45 s of loud noise with one quiet 100 ms at 13.0 s and no speech spans known
    rng = np.random.default_rng(1)
    samples = rng.uniform(-0.5, 0.5, 45 * R).astype(np.float32)
    samples[13 * R : 13 * R + 1600] *= 0.01
    calls = plan_calls(samples, joining_silences(None), 20.0)
    assert calls[0] == (0, 13 * R)
    assert all(b - a <= 20 * R for a, b in calls) and calls[-1][1] == len(samples)
    # None: one call for everything (the bare model)
    assert plan_calls(samples, [], None) == [(0, len(samples))]


def test_an_unsure_call_is_split_at_the_pause_nearest_its_middle() -> None:
    joins = joining_silences([Span(0, 4), Span(4.3, 9), Span(9.3, 19)])
    assert split_point(0, 19 * R, joins) == int(9.15 * R)
    assert split_point(0, 4 * R, joins) is None  # no pause inside: it stays whole
