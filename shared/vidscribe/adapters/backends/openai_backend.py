"""The ``openai`` backend: OpenAI's transcription API (or any server speaking it) through the SDK.

What happens to one video's audio:

0. What arrives is normally only the speech, packed by :mod:`vidscribe.speech` (the regions joined
   by short silences), with each region's place in it: the pipeline pays only for speech, and
   never uploads anything for a video without speech.
1. The 16 kHz samples are cut into chunks (:func:`.audio_encode.plan_chunks`): at most
   ``OPENAI_CHUNK_SECONDS`` long (and at most what the model accepts), at most ~24 MiB once encoded,
   cut at a quiet moment near each chunk's end (in packed speech: a joining silence).
2. Each chunk is encoded in memory as Opus in Ogg (~150-165 KiB per minute; MP3 where the FFmpeg
   build lacks libopus) and uploaded; ``OPENAI_PARALLEL_CHUNKS`` chunks are encoded and uploaded at a
   time. The SDK retries rate limits, timeouts and 5xx ``OPENAI_MAX_RETRIES`` times by itself.
3. The answers are stitched in order: texts joined, segment and word times shifted by the chunk's
   start. The transcript records the seconds uploaded and their estimated price (:mod:`.pricing`).

Response formats, by model:

- ``whisper-1`` (and any model not named ``gpt-*``, which covers OpenAI-compatible Whisper servers)
  is asked for ``verbose_json`` with ``timestamp_granularities=["word", "segment"]``: timed
  segments (with ``no_speech_prob``, ``avg_logprob``, ``compression_ratio`` for the hallucination
  guards) and timed words, which are attached to the segment they fall in.
- ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe`` and any other ``gpt-*`` model only answer
  ``json`` (text, no timing). Each speech region is then uploaded on its own (cut further only if
  it is over the chunk bound), and its text becomes **one segment spanning that region**, so
  subtitles still appear when someone speaks. Without regions, one segment per chunk.

Errors become the pipeline's vocabulary (:mod:`.openai_errors`), with the API key scrubbed out.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Settings
from ...errors import ConfigurationError, NoSpeechDecoded
from ...models import SAMPLE_RATE, DecodedAudio, Segment, Span, Transcript, Word
from .audio_encode import (
    DEFAULT_MAX_UPLOAD_BYTES,
    OPENAI_MAX_UPLOAD_BYTES,
    encode_within_limit,
    plan_chunks,
    resolve_format,
)
from .fan_out import map_failing_fast
from .languages import normalize_language
from .openai_errors import classify_error
from .pricing import estimated_cost_usd
from .speed import MeasuredSpeed

#: A first guess of wall seconds per second of audio for encoding and the API's answer (whisper-1
#: answers a 10-minute upload in well under a minute); the backend's own measurements replace it.
OPENAI_SECONDS_PER_AUDIO_SECOND = 0.1

#: OpenAI refuses audio shorter than this ("Minimum audio length is 0.1 seconds").
MIN_AUDIO_SECONDS = 0.1

#: The longest audio each model accepts per request, where OpenAI documents or enforces one:
#: gpt-4o(-mini)-transcribe answer 400 above 1500 s, gpt-4o-transcribe-diarize above 1400 s.
#: A margin below the limit absorbs encoder padding. whisper-1 is bounded by the 25 MiB only.
_MODEL_MAX_SECONDS: tuple[tuple[str, float], ...] = (
    ("gpt-4o-transcribe-diarize", 1390.0),
    ("gpt-", 1490.0),
)


def uses_verbose_json(model: str) -> bool:
    """Whether ``model`` is asked for ``verbose_json`` (timed segments) rather than ``json``."""
    return not model.lower().startswith("gpt-")


def model_max_seconds(model: str) -> float | None:
    name = model.lower()
    for prefix, seconds in _MODEL_MAX_SECONDS:
        if name.startswith(prefix):
            return seconds
    return None


# --- the backend ---------------------------------------------------------------------------------
@dataclass
class _ChunkResult:
    index: int
    start: int  # samples
    end: int
    text: str
    segments: list[Segment] = field(default_factory=list)
    language: str | None = None
    upload_bytes: int = 0


@dataclass(frozen=True)
class UploadStats:
    """What one ``transcribe`` call sent: for the metrics and the benchmark."""

    upload_bytes: int
    chunks: int
    audio_seconds: float  # uploaded


class OpenAIBackend:
    """Transcribe through the OpenAI audio API. One instance may serve several threads at once."""

    name = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        api_key: str | None = None,
        client: Any | None = None,
        upload_format: str = "ogg",
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        self.settings = settings
        self.model = settings.openai_model
        # Encoding and the API's answer, per second of uploaded audio; measured as it goes.
        self.speed = MeasuredSpeed(OPENAI_SECONDS_PER_AUDIO_SECOND, window_seconds=None)
        self.upload_format = resolve_format(upload_format)
        if max_upload_bytes > OPENAI_MAX_UPLOAD_BYTES:
            raise ConfigurationError(f"max_upload_bytes {max_upload_bytes} is over OpenAI's 25 MiB limit")
        self.max_upload_bytes = max_upload_bytes
        key = api_key
        if not key and settings.openai_api_key is not None:
            key = settings.openai_api_key.get_secret_value()
        key = (key or "").strip() or None
        self._secrets: tuple[str, ...] = (key,) if key else ()
        if client is None:
            if key is None:
                raise ConfigurationError(
                    "the openai transcriber needs an API key: set OPENAI_API_KEY "
                    "(in AWS, OPENAI_API_KEY_SECRET_ARN names the Secrets Manager secret holding it)"
                )
            from openai import OpenAI

            client = OpenAI(
                api_key=key,
                base_url=settings.openai_base_url,
                max_retries=settings.openai_max_retries,
                timeout=settings.openai_timeout_seconds,
            )
        self._client = client
        self._last = threading.local()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.settings.openai_base_url!r})"

    # The figures of the latest transcribe() call made by *this thread* (a backend shared by
    # several worker threads keeps each thread's own last figures).
    @property
    def last_stats(self) -> UploadStats | None:
        return getattr(self._last, "stats", None)

    @property
    def verbose(self) -> bool:
        return uses_verbose_json(self.model)

    def chunk_seconds(self) -> float:
        seconds = float(self.settings.openai_chunk_seconds)
        cap = model_max_seconds(self.model)
        return min(seconds, cap) if cap else seconds

    def plan(self, samples: np.ndarray, speech: Sequence[Span] | None = None) -> list[tuple[int, int]]:
        """The (start, end) sample spans this backend would upload: chunks of the whole audio, or,
        for a text-only model given speech regions, each region (cut into chunks if too long)."""
        if speech is None or self.verbose:
            return self._chunks(samples, 0, int(np.asarray(samples).shape[0]))
        spans: list[tuple[int, int]] = []
        for region in speech:
            first = max(0, int(round(region.start * SAMPLE_RATE)))
            last = min(int(np.asarray(samples).shape[0]), int(round(region.end * SAMPLE_RATE)))
            if last - first >= MIN_AUDIO_SECONDS * SAMPLE_RATE:
                spans.extend(self._chunks(samples, first, last))
        return spans

    def _chunks(self, samples: np.ndarray, first: int, last: int) -> list[tuple[int, int]]:
        pieces = plan_chunks(
            samples[first:last],
            max_chunk_seconds=self.chunk_seconds(),
            max_bytes=self.max_upload_bytes,
            fmt=self.upload_format.name,
        )
        return [(first + a, first + b) for a, b in pieces]

    def seconds_for(self, audio_seconds: float) -> float:
        """The wall time ``audio_seconds`` of audio should take, at the speed measured so far."""
        return self.speed.seconds_for(audio_seconds)

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        started = time.monotonic()
        transcript = self._transcribe(audio, speech)
        self.speed.record(time.monotonic() - started, audio.duration)
        return transcript

    def _transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None) -> Transcript:
        samples = np.asarray(audio.samples)
        if samples.ndim != 1:
            samples = samples.reshape(-1)
        if samples.size < MIN_AUDIO_SECONDS * SAMPLE_RATE:
            raise NoSpeechDecoded(
                f"no audio to transcribe: {samples.size} samples ({samples.size / SAMPLE_RATE:.3f} s), "
                f"the API needs at least {MIN_AUDIO_SECONDS} s"
            )
        self._last.stats = None
        spans = self.plan(samples, speech)
        if not spans:
            raise NoSpeechDecoded("no speech region is long enough to upload (the API needs 0.1 s)")
        results = self._run_chunks(samples, spans)
        return self._stitch(results, duration=samples.size / SAMPLE_RATE)

    # --- chunks ----------------------------------------------------------------------------------
    def _run_chunks(self, samples: np.ndarray, spans: list[tuple[int, int]]) -> list[_ChunkResult]:
        def task(index: int, span: tuple[int, int]) -> list[_ChunkResult]:
            return self._transcribe_span(samples, index, *span)

        workers = min(self.settings.openai_parallel_chunks, len(spans))
        if workers <= 1:
            nested = [task(i, span) for i, span in enumerate(spans)]
        else:
            nested = map_failing_fast(task, list(enumerate(spans)), workers)
        results = [piece for pieces in nested for piece in pieces]
        stats = UploadStats(
            upload_bytes=sum(r.upload_bytes for r in results),
            chunks=len(results),
            audio_seconds=sum(r.end - r.start for r in results) / SAMPLE_RATE,
        )
        self._last.stats = stats
        return results

    def _transcribe_span(self, samples: np.ndarray, index: int, start: int, end: int) -> list[_ChunkResult]:
        pieces = encode_within_limit(
            samples, start, end, fmt=self.upload_format.name, max_bytes=self.max_upload_bytes
        )
        return [self._upload(index, piece_start, piece_end, data) for piece_start, piece_end, data in pieces]

    def _upload(self, index: int, start: int, end: int, data: bytes) -> _ChunkResult:
        fmt = self.upload_format
        request: dict[str, Any] = {
            "model": self.model,
            "file": (fmt.filename, data, fmt.content_type),
            "response_format": "verbose_json" if self.verbose else "json",
        }
        if self.verbose:
            request["timestamp_granularities"] = ["word", "segment"]
        if self.settings.language:
            request["language"] = self.settings.language
        if "diarize" in self.model.lower():
            request["chunking_strategy"] = "auto"  # required by the diarizing model above 30 s
        try:
            response = self._client.audio.transcriptions.create(**request)
        except Exception as exc:
            error = classify_error(exc, secrets=self._secrets)
            if error is exc:
                raise
        else:
            return self._parse(response, index, start, end, len(data))
        # Raised outside the except block, so that neither __cause__ nor __context__ holds the
        # SDK's exception, whose text may echo the key back.
        raise error

    def _parse(self, response: Any, index: int, start: int, end: int, size: int) -> _ChunkResult:
        offset = start / SAMPLE_RATE
        chunk_end = end / SAMPLE_RATE
        text = _field(response, "text")
        if text is None and isinstance(response, str):
            text = response
        text = " ".join(str(text or "").split())
        result = _ChunkResult(index=index, start=start, end=end, text=text, upload_bytes=size)
        if not self.verbose:
            result.language = normalize_language(self.settings.language)
            if text:
                result.segments = [Segment(round(offset, 3), round(chunk_end, 3), text)]
            return result
        result.language = normalize_language(_field(response, "language")) or normalize_language(
            self.settings.language
        )
        reported = _field(response, "duration")
        if reported is not None and float(reported) <= 0 and end - start >= MIN_AUDIO_SECONDS * SAMPLE_RATE:
            raise NoSpeechDecoded(
                f"the API decoded no audio from chunk {index} ({(end - start) / SAMPLE_RATE:.1f} s uploaded)"
            )
        def shifted(value: Any) -> float:
            return min(max(_float(value), 0.0) + offset, chunk_end)

        words = [
            Word(
                round(shifted(_field(w, "start")), 3),
                round(shifted(_field(w, "end")), 3),
                str(_field(w, "word") or "").strip(),
            )
            for w in _field(response, "words") or []
        ]
        words = [w for w in words if w.text]
        for raw in _field(response, "segments") or []:
            seg_text = " ".join(str(_field(raw, "text") or "").split())
            if not seg_text:
                continue
            seg_start = shifted(_field(raw, "start"))
            seg_end = max(shifted(_field(raw, "end")), seg_start)
            result.segments.append(
                Segment(
                    round(seg_start, 3), round(seg_end, 3), seg_text,
                    no_speech_prob=_optional_float(_field(raw, "no_speech_prob")),
                    avg_logprob=_optional_float(_field(raw, "avg_logprob")),
                    compression_ratio=_optional_float(_field(raw, "compression_ratio")),
                )
            )
        if text and not result.segments:
            # A compatible server that ignored verbose_json: keep the text, timed by the chunk.
            result.segments = [Segment(round(offset, 3), round(chunk_end, 3), text)]
        if words:
            result.segments = _attach_words(result.segments, words)
        return result

    def _stitch(self, results: list[_ChunkResult], *, duration: float) -> Transcript:
        results = sorted(results, key=lambda r: r.start)
        text = " ".join(r.text for r in results if r.text)
        segments = [segment for r in results for segment in r.segments]
        # The language of most of the audio (chunks disagree on mixed-language videos).
        votes: dict[str, int] = {}
        for r in results:
            if r.language:
                votes[r.language] = votes.get(r.language, 0) + (r.end - r.start)
        language = max(votes, key=lambda k: votes[k]) if votes else None
        uploaded = sum(r.end - r.start for r in results) / SAMPLE_RATE
        return Transcript(
            text=text,
            segments=segments,
            language=language,
            duration=round(duration, 3),
            backend=self.name,
            model=self.model,
            model_audio_seconds=round(uploaded, 3),
            cost_usd=estimated_cost_usd(self.model, uploaded),
        )


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)  # fields a compatible server added
        if isinstance(extra, dict):
            value = extra.get(name)
    return value


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _optional_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _attach_words(segments: list[Segment], words: list[Word]) -> list[Segment]:
    """whisper-1 lists words apart from segments: give each word to the segment its middle falls
    in (else the nearer of its two neighbours), in order."""
    if not segments:
        return segments
    starts = [seg.start for seg in segments]
    owned: list[list[Word]] = [[] for _ in segments]
    for word in words:
        middle = (word.start + word.end) / 2
        index = max(0, bisect.bisect_right(starts, middle) - 1)
        if middle > segments[index].end and index + 1 < len(segments):
            after = segments[index + 1].start - middle
            if after < middle - segments[index].end:
                index += 1
        owned[index].append(word)
    return [replace(seg, words=tuple(mine)) for seg, mine in zip(segments, owned, strict=True)]
