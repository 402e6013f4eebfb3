"""Voice activity detection, speech packing and its way back, the hallucination guards."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import nonspeech, realspeech
from vidscribe.models import SAMPLE_RATE, Segment, Span, Word
from vidscribe.speech import VadOptions, VoiceActivityDetector
from vidscribe.speech.guards import drop_hallucinations
from vidscribe.speech.timeline import SpeechLayout, normalize
from vidscribe.speech.vad import WINDOW, SpeechDetector

ENGINES = ["onnx", "lite"]


@pytest.fixture(scope="module", params=ENGINES)
def vad(request) -> VoiceActivityDetector:
    return VoiceActivityDetector(request.param)


@pytest.mark.parametrize("name", ["vad-train", "vad-valid"])
def test_frames_agree_with_hand_labelled_speech(vad, name):
    # Given a real recording whose speech was labelled by hand, window by window
    samples, windows, speech = realspeech.hand_labelled(name)
    # When the raw probabilities are thresholded (no padding: the model itself is judged)
    stream = vad._new_stream()
    n = len(samples) // WINDOW
    probabilities = stream(samples[: n * WINDOW].reshape(n, WINDOW))
    centres = (np.arange(n) + 0.5) * WINDOW / SAMPLE_RATE
    labelled = [any(a <= t < b for a, b in windows) for t in centres]
    truth = np.array([any(a <= t < b for a, b in speech) for t in centres])[labelled]
    found = (probabilities >= vad.options.threshold)[labelled]
    # Then at least 93% of the labelled windows agree (measured: 94-99% for both engines; the labels
    # mark short pauses between words that the model hears as speech), and almost no speech is missed
    assert (found == truth).mean() >= 0.93
    assert (truth & ~found).sum() / truth.sum() <= 0.10  # padding covers the soft edges it misses


@pytest.mark.parametrize("kind", sorted(nonspeech.NON_SPEECH))
def test_non_speech_has_no_regions(vad, kind):
    samples = nonspeech.NON_SPEECH[kind](20.0)
    found = vad.find(samples)
    assert found.regions == [] and found.speech_seconds == 0.0
    assert found.duration == pytest.approx(20.0)


def test_regions_start_within_half_a_second_of_the_speech(vad):
    clip = realspeech.long_pauses_clip()
    regions = vad.regions(clip.samples)
    # One region per spoken part, each opening a little before (padding) its true onset
    assert len(regions) == len(clip.onsets)
    for region, onset in zip(regions, clip.onsets, strict=True):
        assert onset - 0.5 <= region.start <= onset + 0.1
    assert all(0 <= r.start < r.end <= clip.duration for r in regions)
    assert all(a.end < b.start for a, b in zip(regions, regions[1:], strict=False))


def test_feeding_blocks_of_any_size_gives_the_same_regions(vad):
    # Given the same audio fed whole and in ragged blocks (not multiples of the 512-sample window)
    clip = realspeech.long_pauses_clip()
    whole = vad.regions(clip.samples)
    detector = vad.detector()
    streamed: list[Span] = []
    rng = np.random.default_rng(7)
    offset = 0
    while offset < len(clip.samples):
        size = int(rng.integers(100, 40_000))
        streamed += detector.feed(clip.samples[offset : offset + size])
        offset += size
        # regions come out as soon as they are final, not all at the end
        assert all(r.end <= offset / SAMPLE_RATE for r in streamed)
    streamed += detector.finish()
    assert streamed == whole
    assert detector.speech_seconds == pytest.approx(vad.find(clip.samples).speech_seconds)


class ScriptedProbabilities:
    """P(speech) per window from a script: the region rules, without a model."""

    def __init__(self, probabilities: list[float]) -> None:
        self.remaining = list(probabilities)

    def __call__(self, windows):
        taken, self.remaining = self.remaining[: len(windows)], self.remaining[len(windows) :]
        return np.array(taken + [0.0] * (len(windows) - len(taken)), dtype=np.float32)


def regions_of(script: list[float], options: VadOptions) -> list[Span]:
    detector = SpeechDetector(ScriptedProbabilities(script), options)
    out = detector.feed(np.zeros(len(script) * WINDOW, np.float32))
    return out + detector.finish()


W = WINDOW / SAMPLE_RATE  # 32 ms


def test_region_rules_hysteresis_min_speech_padding_and_merging():
    options = VadOptions(min_speech_seconds=0.25, min_silence_seconds=0.25, pad_seconds=0.1, merge_gap_seconds=0.3)
    # 20 windows of speech with a dip to 0.4 (between the thresholds: no end), then silence
    script = [0.0] * 10 + [0.9] * 10 + [0.4] * 5 + [0.9] * 5 + [0.0] * 30
    assert regions_of(script, options) == [Span(pytest.approx(10 * W - 0.1), pytest.approx(30 * W + 0.1))]
    # a 4-window blip (128 ms) is under min_speech: dropped
    assert regions_of([0.0] * 10 + [0.9] * 4 + [0.0] * 30, options) == []
    # two regions 9 windows (288 ms) apart: after padding 88 ms apart, under the merge gap: one region
    merged = regions_of([0.9] * 10 + [0.0] * 9 + [0.9] * 10 + [0.0] * 30, options)
    assert len(merged) == 1 and merged[0].start == 0.0
    # 40 windows apart: two regions
    assert len(regions_of([0.9] * 10 + [0.0] * 40 + [0.9] * 10 + [0.0] * 30, options)) == 2
    # speech up to the very end closes there, padded no further than the audio
    [last] = regions_of([0.0] * 10 + [0.9] * 20, options)
    assert last.end == pytest.approx(30 * W)


def test_packing_and_the_way_back():
    # Given two regions of a 10 s video: 1-2 s and 5-7 s, packed with 0.3 s between them
    samples = np.arange(10 * SAMPLE_RATE, dtype=np.float32)
    layout = SpeechLayout([Span(1.0, 2.0), Span(5.0, 7.0)], join_seconds=0.3)
    packed = layout.pack(samples)
    assert len(packed) == int(3.3 * SAMPLE_RATE) and layout.packed_seconds == pytest.approx(3.3)
    assert packed[0] == SAMPLE_RATE and packed[int(1.3 * SAMPLE_RATE)] == 5 * SAMPLE_RATE
    assert not packed[SAMPLE_RATE : int(1.3 * SAMPLE_RATE)].any()  # the joining silence
    assert layout.packed_spans() == [Span(0.0, 1.0), Span(pytest.approx(1.3), pytest.approx(3.3))]
    # Times map back onto the media; inside the joining silence a start moves on, an end moves back
    assert layout.to_original(0.5, "start") == 1.5
    assert layout.to_original(2.3, "end") == pytest.approx(6.0)
    assert layout.to_original(1.1, "start") == 5.0 and layout.to_original(1.1, "end") == 2.0
    restored = layout.restore(Segment(0.8, 1.5, "a b", words=(Word(0.8, 0.9, "a"), Word(1.3, 1.5, "b"))))
    assert (restored.start, restored.end) == (pytest.approx(1.8), pytest.approx(5.2))
    assert [(w.start, w.end) for w in restored.words] == [
        (pytest.approx(1.8), pytest.approx(1.9)), (pytest.approx(5.0), pytest.approx(5.2))
    ]
    assert layout.in_joining_silence(Segment(1.05, 1.25, "you"))
    assert not layout.in_joining_silence(Segment(0.9, 1.4, "x"))


def test_normalized_times_are_inside_the_media_and_never_go_back():
    segments = [
        Segment(-1.0, 0.5, " a ", words=(Word(0.2, 0.4, "a"),)),
        Segment(3.0, 12.0, "b c", words=(Word(3.1, 3.5, "b"), Word(3.4, 11.5, "c"))),
        Segment(2.0, float("nan"), "d"),
        Segment(4.0, 4.5, "   "),
    ]
    out = normalize(segments, duration=10.0)
    assert [s.text for s in out] == ["a", "b c", "d"]
    assert (out[0].start, out[0].end) == (0.2, 0.4)  # tightened to its words
    assert (out[1].start, out[1].end) == (3.1, 10.0)
    assert [(w.start, w.end) for w in out[1].words] == [(3.1, 3.5), (3.4, 10.0)]
    assert out[2].start == 3.1 and out[2].end == 3.1
    starts = [s.start for s in out]
    assert starts == sorted(starts) and all(0 <= s.start <= s.end <= 10 for s in out)


def test_guards_drop_what_the_model_flags_and_keep_real_speech():
    real = Segment(0, 3, "The birch canoe slid on the smooth planks.", no_speech_prob=0.29, avg_logprob=-0.49,
                   compression_ratio=1.83)  # the worst figures real speech reached here
    silence = Segment(3, 6, "you", no_speech_prob=0.9, avg_logprob=-1.3, compression_ratio=0.5)
    loop = Segment(6, 9, "Thank you. " * 12, no_speech_prob=0.1, avg_logprob=-0.3, compression_ratio=4.1)
    confident_quiet = Segment(9, 10, "yes", no_speech_prob=0.8, avg_logprob=-0.2)  # sure of its words: kept
    verdict = drop_hallucinations([real, silence, loop, confident_quiet, Segment(10, 11, "untagged")])
    assert [s.text for s in verdict.kept] == [real.text, "yes", "untagged"]
    assert [s.text for s, _ in verdict.dropped] == ["you", loop.text]
    assert "no_speech_prob" in verdict.dropped[0][1] and "repetition" in verdict.dropped[1][1]
