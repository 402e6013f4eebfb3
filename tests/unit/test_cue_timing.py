"""The cue-start error the text-only path is measured by (tests/support/cue_timing.py)."""

from __future__ import annotations

import pytest

from tests.support.cue_timing import cue_start_errors
from vidscribe.captions import Cue
from vidscribe.models import Word

SAID = [Word(t, t + 0.3, w) for t, w in [(0.0, "The"), (0.5, "birch"), (1.0, "canoe"), (1.5, "slid."),
                                          (5.0, "Permission"), (5.5, "is"), (6.0, "hereby"), (6.5, "granted.")]]


def cue(start: float, text: str) -> Cue:
    return Cue(int(start * 1000), int(start * 1000) + 1000, (text,))


def test_each_cue_is_measured_from_when_its_first_word_is_said():
    errors = cue_start_errors([cue(0.2, "The birch"), cue(0.9, "canoe slid."), cue(4.5, "Permission is hereby")], SAID)
    assert errors == pytest.approx([0.2, 0.1, 0.5])


def test_a_first_word_heard_differently_takes_the_time_of_the_word_said_there():
    assert cue_start_errors([cue(0.4, "A bird canoe slid.")], SAID) == pytest.approx([0.4])  # "The birch" misheard


def test_a_word_only_the_cue_has_takes_the_time_of_the_next_word():
    # "So" was never said; the speech before (the canoe) is not in the cue: no stepping back to it
    assert cue_start_errors([cue(4.9, "So permission is hereby")], SAID) == pytest.approx([0.1])


def test_a_lone_common_word_does_not_pair_with_one_far_away_and_unmatched_cues_are_left_out():
    assert cue_start_errors([cue(9.0, "the end"), cue(5.0, "Permission is")], SAID) == pytest.approx([0.0])
