"""The ``openai`` backend: OpenAI's transcription API (or any server speaking it) through the SDK.

What happens to one video's audio:

1. The 16 kHz samples are cut into chunks (:func:`.audio_encode.plan_chunks`): at most
   ``OPENAI_CHUNK_SECONDS`` long (and at most what the model accepts), at most ~24 MiB once encoded,
   cut at a quiet moment near each chunk's end.
2. Each chunk is encoded in memory as Opus in Ogg (~150-165 KiB per minute; MP3 where the FFmpeg
   build lacks libopus) and uploaded; ``OPENAI_PARALLEL_CHUNKS`` chunks are encoded and uploaded at a
   time. The SDK retries rate limits, timeouts and 5xx ``OPENAI_MAX_RETRIES`` times by itself.
3. The answers are stitched in order: texts joined, segment times shifted by the chunk's start.

Response formats, by model:

- ``whisper-1`` (and any model not named ``gpt-*``, which covers OpenAI-compatible Whisper servers)
  is asked for ``verbose_json`` and gives timed segments. ``timestamp_granularities`` is not sent:
  segment timing is what ``verbose_json`` returns without it, and one parameter fewer is one less
  thing for an OpenAI-compatible server to disagree with.
- ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe`` and any other ``gpt-*`` model only answer
  ``json`` (text, no timing). The transcript then holds **one segment per uploaded chunk**, spanning
  the chunk's start and end: the timing is the chunk's, not the speech's, but the segments still
  cover the whole text, so subtitles and "where in the video" stay roughly usable. (With the default
  20-minute chunks a one-hour video has three segments.)

Errors become the pipeline's vocabulary (:mod:`.openai_errors`), with the API key scrubbed out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...config import Settings
from ...errors import ConfigurationError, NoSpeechDecoded
from ...models import SAMPLE_RATE, DecodedAudio, Segment, Transcript
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
    audio_seconds: float


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

    def plan(self, samples: np.ndarray) -> list[tuple[int, int]]:
        """The (start, end) sample spans this backend would upload."""
        return plan_chunks(
            samples,
            max_chunk_seconds=self.chunk_seconds(),
            max_bytes=self.max_upload_bytes,
            fmt=self.upload_format.name,
        )

    def transcribe(self, audio: DecodedAudio) -> Transcript:
        samples = np.asarray(audio.samples)
        if samples.ndim != 1:
            samples = samples.reshape(-1)
        if samples.size < MIN_AUDIO_SECONDS * SAMPLE_RATE:
            raise NoSpeechDecoded(
                f"no audio to transcribe: {samples.size} samples ({samples.size / SAMPLE_RATE:.3f} s), "
                f"the API needs at least {MIN_AUDIO_SECONDS} s"
            )
        self._last.stats = None
        spans = self.plan(samples)
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
            audio_seconds=samples.size / SAMPLE_RATE,
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
        for raw in _field(response, "segments") or []:
            seg_text = " ".join(str(_field(raw, "text") or "").split())
            if not seg_text:
                continue
            seg_start = min(max(float(_field(raw, "start") or 0.0), 0.0) + offset, chunk_end)
            seg_end = min(max(float(_field(raw, "end") or 0.0), 0.0) + offset, chunk_end)
            result.segments.append(Segment(round(seg_start, 3), round(max(seg_end, seg_start), 3), seg_text))
        if text and not result.segments:
            # A compatible server that ignored verbose_json: keep the text, timed by the chunk.
            result.segments = [Segment(round(offset, 3), round(chunk_end, 3), text)]
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
        return Transcript(
            text=text,
            segments=segments,
            language=language,
            duration=round(duration, 3),
            backend=self.name,
            model=self.model,
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
