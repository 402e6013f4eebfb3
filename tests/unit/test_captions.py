"""Caption cues people can read, whatever the segments: at most 7 s, two lines of 42 characters,
broken at words, in order, never overlapping."""

from __future__ import annotations

import math
import random
from itertools import pairwise

from vidscribe.captions import MAX_CUE_SECONDS, MAX_LINE_CHARS, MAX_LINES, Cue, build_cues
from vidscribe.models import Segment, Word

VOCABULARY = (
    "the", "a", "of", "and", "to", "in", "permission", "is", "hereby", "granted", "free", "charge", "any",
    "person", "obtaining", "copy", "software", "documentation", "files", "restriction", "including",
    "limitation", "rights", "merge", "publish", "distribute", "sublicense", "ComfyUI",
    "supercalifragilisticexpialidocious,", "end.", "yes?", "no!",
)
LONG_WORD = "https://example.com/a/very/long/path/that/is/longer/than/a/line"


def check_readable(cues: list[Cue]) -> None:
    for cue in cues:
        assert 0 < cue.end_ms - cue.start_ms <= MAX_CUE_SECONDS * 1000, cue
        assert 1 <= len(cue.lines) <= MAX_LINES, cue
        assert all(0 < len(line) <= MAX_LINE_CHARS for line in cue.lines), cue
        assert all(line == line.strip() and "  " not in line for line in cue.lines), cue
    for earlier, later in pairwise(cues):
        assert earlier.start_ms <= later.start_ms, (earlier, later)
        assert earlier.end_ms <= later.start_ms or later.start_ms == earlier.start_ms, (earlier, later)


def letters(texts: list[str]) -> str:
    """The characters without spaces: what must survive (a word over a line may be broken)."""
    return "".join("".join(texts).split())


def random_segments(rng: random.Random) -> list[Segment]:
    segments: list[Segment] = []
    clock = rng.uniform(0, 5)
    for _ in range(rng.randint(1, 6)):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 60))]
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), LONG_WORD)
        length = rng.choice([0.0, 0.2, rng.uniform(0.5, 70.0)])
        start, end = clock, clock + length
        if rng.random() < 0.05:
            start = math.nan
        timed: tuple[Word, ...] = ()
        if rng.random() < 0.5:
            step = max(length, 0.01) / len(words)
            gaps = [rng.choice([0.0, 0.0, 1.5]) for _ in words]
            timed = tuple(
                Word(clock + i * step + sum(gaps[:i]), clock + (i + 1) * step + sum(gaps[:i]), w)
                for i, w in enumerate(words)
            )
        segments.append(Segment(start, end, " ".join(words), words=timed))
        clock = end + rng.choice([-1.0, 0.0, 0.3, 2.0])  # overlaps, touching, pauses
    return segments


def test_any_segments_give_readable_cues_with_every_word_in_order():
    rng = random.Random(20)
    for _ in range(500):
        segments = random_segments(rng)
        cues = build_cues(segments)
        check_readable(cues)
        assert letters([" ".join(c.lines) for c in cues]) == letters([s.text for s in segments])


def test_a_text_only_piece_of_speech_becomes_one_cue_broken_evenly_at_a_word():
    # Given a 5-second piece of a text-only model's answer, 70 characters long
    text = "Permission is hereby granted, free of charge, to any person obtaining"
    # When it becomes captions
    cues = build_cues([Segment(12.34, 17.2, text)])
    # Then it is one cue on the piece's time, in two lines that split it as evenly as words allow
    assert cues == [Cue(12340, 17200, ("Permission is hereby granted, free", "of charge, to any person obtaining"))]


def test_a_long_text_only_segment_is_split_into_cues_of_at_most_seven_seconds():
    # Given 40 words spread unevenly by length over 20 s (one piece would be over 7 s by characters)
    text = " ".join(["a"] * 20 + ["supercalifragilistic"] * 4)
    cues = build_cues([Segment(0.0, 20.0, text)])
    check_readable(cues)
    assert cues[0].start_ms == 0 and cues[-1].end_ms == 20000
    assert all(later.start_ms == earlier.end_ms for earlier, later in pairwise(cues)), "contiguous"


def test_a_word_timed_segment_is_cut_at_words_pauses_and_seven_seconds():
    words = [Word(float(i), i + 0.8, f"w{i}") for i in range(10)] + [Word(12.0, 12.5, "after")]
    cues = build_cues([Segment(0.0, 12.5, " ".join(w.text for w in words), words=tuple(words))])
    check_readable(cues)
    # 0-7 s is one cue (w7 would end after 7 s), w7-w9 the next, and the 2 s pause ends it
    assert [(c.start_ms, c.end_ms, " ".join(c.lines)) for c in cues] == [
        (0, 6800, "w0 w1 w2 w3 w4 w5 w6"), (7000, 9800, "w7 w8 w9"), (12000, 12500, "after"),
    ]


def test_a_single_word_held_longer_than_seven_seconds_is_shown_seven_seconds():
    cues = build_cues([Segment(3.0, 20.0, "Hmmm", words=(Word(3.0, 20.0, "Hmmm"),))])
    assert cues == [Cue(3000, 10000, ("Hmmm",))]


def test_a_word_longer_than_a_line_is_the_only_thing_broken():
    cues = build_cues([Segment(0.0, 4.0, f"see {LONG_WORD} now")])
    check_readable(cues)
    assert letters([" ".join(c.lines) for c in cues]) == letters([f"see {LONG_WORD} now"])
