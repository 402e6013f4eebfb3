"""The speech stream: audio in blocks, pieces out, memory bounded, every time back on the timeline."""

from __future__ import annotations

import numpy as np
import pytest

from vidscribe.errors import TimeBudgetExceeded, TimeRunningOut
from vidscribe.models import DecodedAudio, Segment, Span, Transcript
from vidscribe.speech.streaming import BLOCK_SECONDS, EverythingIsSpeech, SpeechStream
from vidscribe.speech.vad import SpeechDetector, VadOptions
from vidscribe.workflow.budget import TimeBudget, margin_for

R = 16_000


class EchoBackend:
    """Answers each piece with one segment per speech span it is given (else per 10 s of audio), and
    records what it was sent."""

    name, model = "echo", "echo-1"

    def __init__(self) -> None:
        self.pieces: list[float] = []

    def seconds_for(self, audio_seconds: float) -> float:
        return 0.0

    def transcribe(self, audio: DecodedAudio, speech=None) -> Transcript:
        self.pieces.append(audio.duration)
        spans = speech if speech and len(speech) > 1 else [
            Span(t, min(t + 10, audio.duration)) for t in np.arange(0, audio.duration, 10.0)
        ]
        segments = [Segment(s.start, s.end, f"at {s.start:g}") for s in spans]
        return Transcript(" ".join(s.text for s in segments), segments, "en", audio.duration, self.name, self.model,
                          model_audio_seconds=audio.duration, cost_usd=0.0)


class ConstantSpeech:
    """A stand-in for the Silero model: every window is speech (p=0.9), or none (p=0.0)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        return np.full(len(windows), self.p, dtype=np.float32)


def feed(stream: SpeechStream, seconds: float, block_seconds: float = 7.3) -> int:
    """Feed ``seconds`` of a ramp (so each sample says where it came from); returns the peak of
    samples the stream held."""
    stream.begin(seconds)
    peak, step = 0, int(block_seconds * R)
    for start in range(0, int(seconds * R), step):
        stream.feed(np.arange(start, min(start + step, int(seconds * R)), dtype=np.float32) / R)
        peak = max(peak, stream._recent.size + stream._incoming_size)
    return peak


def test_long_speech_goes_in_bounded_pieces_and_times_come_back_unchanged():
    # Given 700 s that never pause (VAD off), pieces of at most 300 s
    backend = EchoBackend()
    stream = SpeechStream(backend, EverythingIsSpeech(), piece_seconds=300)
    peak = feed(stream, 700)
    result = stream.finish()
    # Then three pieces, none over 300 s, covering the 700 s once, with no silence added between the
    # contiguous parts: the segments sit exactly where the pieces' audio was
    assert len(backend.pieces) == 3 and max(backend.pieces) <= 300 and sum(backend.pieces) == pytest.approx(700)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert result.duration == pytest.approx(700) and result.model_audio_seconds == pytest.approx(700)
    # And the stream never held much more than a piece and a block
    assert peak <= (300 + 2 * BLOCK_SECONDS) * R


def test_a_speaker_who_never_pauses_is_cut_into_contiguous_regions():
    # Given the real region rules on audio that is speech throughout (700 s)
    detector = SpeechDetector(ConstantSpeech(0.9), VadOptions())
    backend = EchoBackend()
    stream = SpeechStream(backend, detector, lookback_seconds=0.3, piece_seconds=300)
    peak = feed(stream, 700)
    result = stream.finish()
    # Then the regions were cut to bound memory, tile the audio without gaps, and all of it was sent
    assert result.regions >= 3
    assert sum(backend.pieces) == pytest.approx(700, abs=0.05)
    assert result.speech_seconds == pytest.approx(700, abs=0.05)
    assert peak <= (300 + 2 * BLOCK_SECONDS) * R
    assert max(backend.pieces) <= 300


def test_cut_regions_meet_exactly():
    detector = SpeechDetector(ConstantSpeech(0.9), VadOptions())
    detector.feed(np.zeros(60 * R, dtype=np.float32))
    first = detector.cut(40.0)
    detector.feed(np.zeros(20 * R, dtype=np.float32))
    rest = detector.finish()
    assert [(r.start, r.end) for r in first] == [(0.0, 40.0)]
    assert rest[0].start == 40.0 and rest[-1].end == pytest.approx(80.0)


def test_silence_sends_nothing():
    backend = EchoBackend()
    stream = SpeechStream(backend, SpeechDetector(ConstantSpeech(0.0), VadOptions()), lookback_seconds=0.3)
    peak = feed(stream, 400)
    result = stream.finish()
    assert backend.pieces == [] and result.regions == 0 and result.segments == []
    assert peak <= 3 * BLOCK_SECONDS * R  # nothing is kept when there is no speech


class Clock:
    def __init__(self, *left: float) -> None:
        self.left = list(left)

    def __call__(self) -> float:
        return self.left.pop(0) if len(self.left) > 1 else self.left[0]


def test_a_video_that_cannot_finish_in_time_is_refused_with_the_fix():
    budget = TimeBudget(lambda: 100.0, margin_seconds=10, seconds_for=lambda s: s * 0.1, timeout_seconds=900)
    budget.start(600)  # 60 s of work + 12 s of overhead + 10 s margin < 100 s: fine
    with pytest.raises(TimeBudgetExceeded, match="TRANSCRIBER_TIMEOUT_SECONDS") as err:
        budget.start(3600)
    assert not err.value.retryable
    assert "MAX_DURATION_SECONDS" in str(err.value) and "900 s" in str(err.value)


def test_time_running_short_stops_the_stream_for_a_retry():
    # Given a budget whose time drops under its margin while the audio streams in
    budget = TimeBudget(Clock(100, 100, 100, 5), margin_seconds=10, seconds_for=lambda s: 0.0)
    backend = EchoBackend()
    stream = SpeechStream(backend, EverythingIsSpeech(), budget=budget)
    # Then feeding stops with a retryable error, and the stream can be closed cleanly
    with pytest.raises(TimeRunningOut) as err:
        feed(stream, 400, block_seconds=30)
    assert err.value.retryable
    stream.close()


def test_a_piece_must_hold_more_than_two_blocks():
    with pytest.raises(ValueError, match="piece_seconds"):
        SpeechStream(EchoBackend(), EverythingIsSpeech(), piece_seconds=40)


def test_the_margin_is_at_most_a_tenth_of_the_timeout():
    assert margin_for(900, 30) == 30 and margin_for(5, 30) == 0.5


def test_a_whole_array_and_its_stream_give_the_same_transcript():
    from vidscribe.speech import SpeechTranscriber

    audio = DecodedAudio(np.zeros(200 * R, dtype=np.float32))
    transcript = SpeechTranscriber(EchoBackend(), None, piece_seconds=90).transcribe(audio)
    starts = [s.start for s in transcript.segments]
    assert transcript.duration == 200.0 and starts == sorted(starts) and starts[0] == 0.0
    assert transcript.model_audio_seconds == pytest.approx(200) and not transcript.no_speech


def test_regions_land_where_they_were():
    # Given speech at 5-10 s and 50-60 s only, the rest silence (a hand-fed detector)
    class TwoRegions(EverythingIsSpeech):
        def finish(self):
            return [Span(5.0, 10.0), Span(50.0, 60.0)]

        def open_since(self):
            return 0.0  # everything may still be needed: held until the end

    backend = EchoBackend()
    stream = SpeechStream(backend, TwoRegions())
    feed(stream, 70)
    result = stream.finish()
    # Then one piece of 15.3 s (a 0.3 s join), and its segments back at 5 s and at 50 s
    assert backend.pieces == [pytest.approx(15.3)]
    assert [s.start for s in result.segments] == [5.0, 50.0]
