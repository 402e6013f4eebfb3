"""The pure parts of long videos in parts (issue 22): the plan, when to split, where a boundary is
cut, how a part's samples are taken out of the video's, and how the parts' transcripts are joined."""

from __future__ import annotations

import numpy as np

from vidscribe.models import SAMPLE_RATE, PartRange, Segment, Transcript, Word
from vidscribe.workflow.budget import TimeBudget
from vidscribe.workflow.part_window import PartComplete, PartWindow, quietest_moment
from vidscribe.workflow.parts import assemble, on_video_timeline, part_length, plan_ranges


def budget(per_audio_second: float, timeout: float = 900.0) -> TimeBudget:
    return TimeBudget(lambda: timeout, margin_seconds=30.0, seconds_for=lambda s: s * per_audio_second,
                      timeout_seconds=timeout)  # fmt: skip


def test_the_plan_covers_the_video_in_equal_ranges_of_at_most_part_seconds() -> None:
    ranges = plan_ranges(14_400.0, 1800.0)
    assert len(ranges) == 8 and ranges[0].start == 0.0 and ranges[-1].end == 14_400.0
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    assert {r.end - r.start for r in ranges} == {1800.0}
    assert len(plan_ranges(1800.5, 1800.0)) == 2


def test_a_video_is_split_only_when_it_is_long_or_would_not_fit_and_a_part_would() -> None:
    fast, slow = budget(0.01), budget(0.12)
    assert part_length(1200.0, 1800.0, fast) is None  # short, and it fits: one invocation
    assert part_length(14_400.0, 1800.0, fast) == 1800.0  # longer than PART_SECONDS
    assert part_length(14_400.0, 1800.0, slow) == 1800.0  # 1,728 s of work: parts of 30 min fit
    # Fits no invocation whole, shorter than PART_SECONDS: parts halved until one fits
    assert part_length(1700.0, 1800.0, budget(0.6)) == 900.0
    # Not even a 120 s part fits a 3 s invocation: left whole, for the budget to refuse
    assert part_length(300.0, 1800.0, budget(0.12, timeout=3.0)) is None


def test_the_cut_falls_in_the_quietest_moment_and_in_silence_nearest_the_boundary() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.3, 60 * SAMPLE_RATE).astype(np.float32)
    noise[int(41.0 * SAMPLE_RATE) : int(41.6 * SAMPLE_RATE)] = 0.001  # a pause 11 s after the boundary
    assert 41.0 <= quietest_moment(noise, 30.0) <= 41.6
    assert abs(quietest_moment(np.zeros(60 * SAMPLE_RATE, dtype=np.float32), 30.0) - 30.0) <= 0.05 + 1e-9


class Collect:
    def __init__(self) -> None:
        self.declared: float | None = None
        self.blocks: list[np.ndarray] = []

    def begin(self, declared_seconds: float | None) -> None:
        self.declared = declared_seconds

    def feed(self, samples: np.ndarray) -> None:
        self.blocks.append(samples)

    @property
    def samples(self) -> np.ndarray:
        return np.concatenate(self.blocks)


def feed_from(window: PartWindow, audio: np.ndarray, block: int = 16_000) -> None:
    """What the decoder does: the samples from ``window.start_seconds`` on, block by block."""
    start = round(window.start_seconds * SAMPLE_RATE)
    window.begin(len(audio) / SAMPLE_RATE)
    try:
        for at in range(start, len(audio), block):
            window.feed(audio[at : at + block])
    except PartComplete:
        return
    window.finish()


def test_neighbouring_parts_meet_exactly_at_one_agreed_cut() -> None:
    # Given 10 minutes of noise with a pause 12 s before each nominal boundary, in three parts
    audio = np.random.default_rng(2).normal(0, 0.2, 600 * SAMPLE_RATE).astype(np.float32)
    for boundary in (200, 400):
        audio[(boundary - 12) * SAMPLE_RATE : (boundary - 11) * SAMPLE_RATE] = 0.0
    cuts: dict[int, float] = {}
    sinks = []
    # When each part takes its samples, the store keeping the first cut proposed for each boundary
    for index in (2, 0, 1):  # in any order
        sink = Collect()
        window = PartWindow(sink, PartRange(index, 3, 200.0 * index, 200.0 * (index + 1)),
                            lambda i, at: cuts.setdefault(i, at), 30.0)  # fmt: skip
        feed_from(window, audio)
        sinks.append((index, window, sink))
    sinks.sort(key=lambda s: s[0])
    # Then each boundary was cut in its pause, and the parts put back together are the video, sample for sample
    assert 188.0 <= cuts[1] <= 189.0 and 388.0 <= cuts[2] <= 389.0
    assert [w.cut_start for _, w, _ in sinks] == [0.0, cuts[1], cuts[2]]
    assert np.array_equal(np.concatenate([s.samples for _, _, s in sinks]), audio)
    assert sinks[0][2].declared == 230.0  # the budget sees a part, not the video


def test_assembly_joins_the_parts_in_order_on_the_video_timeline() -> None:
    def part(text: str, seconds: float, language: str) -> Transcript:
        segment = Segment(1.0, seconds - 1.0, text, words=(Word(1.0, 2.0, text),), language=language)
        return Transcript(text, [segment], language, seconds, "b", "m", speech_seconds=seconds - 2.0,
                          model_audio_seconds=seconds, cost_usd=0.5)  # fmt: skip

    parts = [on_video_timeline(part("one", 100.0, "en"), 0.0, 100.0),
             on_video_timeline(part("zwei", 50.0, "de"), 100.0, 50.0),
             on_video_timeline(part("three", 100.0, "en"), 150.0, 100.0)]  # fmt: skip
    whole = assemble(parts)
    assert whole.text == "one zwei three" and whole.duration == 250.0 and whole.language == "en"
    assert [(s.start, s.end) for s in whole.segments] == [(1.0, 99.0), (101.0, 149.0), (151.0, 249.0)]
    assert [w.start for s in whole.segments for w in s.words] == [1.0, 101.0, 151.0]
    assert (whole.speech_seconds, whole.model_audio_seconds, whole.cost_usd) == (244.0, 250.0, 1.5)
