"""The ``openai`` backend: OpenAI's transcription API (or any server speaking it) through the SDK.

What happens to one video's audio:

0. What arrives is normally only the speech, packed by :mod:`vidscribe.speech` (the regions joined
   by short silences), with each region's place in it: the pipeline pays only for speech, and
   never uploads anything for a video without speech.
1. The samples are planned into requests, by what the model answers (:mod:`.openai_models`):

   - a model with timings (``whisper-1``, and any model not named ``gpt-*``, which covers
     OpenAI-compatible Whisper servers) gets chunks of the whole audio: at most
     ``OPENAI_CHUNK_SECONDS`` long, at most ~24 MiB once encoded, cut at a quiet moment near each
     chunk's end (:func:`.audio_encode.plan_chunks`). It answers ``verbose_json`` with timed
     segments and words.
   - a text-only model (``gpt-transcribe``, the default, and the ``gpt-4o`` models) gets each
     speech region cut at its pauses into pieces of at most 6 s (:mod:`vidscribe.speech.pauses`),
     one request each; each piece's text becomes one segment timed from the piece's speech. So
     captions start when the words are spoken, not when a long region begins (the bench:
     ``bench/bench_text_only_cues.py``). Without regions, the whole audio is cut the same way.

2. Each request's audio is encoded in memory as Opus in Ogg (~150-165 KiB per minute; MP3 where the
   FFmpeg build lacks libopus) and uploaded; ``OPENAI_PARALLEL_CHUNKS`` requests are in flight at a
   time. The SDK retries rate limits, timeouts and 5xx ``OPENAI_MAX_RETRIES`` times by itself.
3. The answers (:mod:`.openai_answers`) are stitched in order: texts joined, times shifted by each
   request's offset. The transcript records the seconds uploaded, the language most of them were
   heard in, and the estimated price (:mod:`.pricing`) of what the API says it billed.

Hints: ``gpt-transcribe`` gets ``LANGUAGE`` as ``languages`` and ``KEYWORDS`` as ``keywords``; the
other models get ``language`` and the keywords as a ``prompt``. ``TASK=translate`` uses
/v1/audio/translations (whisper-1, until its shutdown). A model OpenAI has shut down logs a warning
at start, and its refusal becomes a permanent error naming what to set (:mod:`.openai_errors`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...config import Settings
from ...errors import ConfigurationError, NoSpeechDecoded
from ...models import SAMPLE_RATE, DecodedAudio, Segment, Span, Transcript
from ...speech.pauses import PIECE_SECONDS, cut_at_pauses
from .audio_encode import (
    DEFAULT_MAX_UPLOAD_BYTES,
    OPENAI_MAX_UPLOAD_BYTES,
    encode_within_limit,
    plan_chunks,
    resolve_format,
)
from .fan_out import map_failing_fast
from .languages import normalize_language
from .openai_answers import Answer, read_text_answer, read_timed_answer
from .openai_errors import classify_error
from .openai_models import (
    Clock,
    answers_with_timings,
    check_at_start,
    is_retired,
    retired_fix,
    takes_hint_lists,
    utc_today,
)
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



def model_max_seconds(model: str) -> float | None:
    name = model.lower()
    for prefix, seconds in _MODEL_MAX_SECONDS:
        if name.startswith(prefix):
            return seconds
    return None


@dataclass(frozen=True)
class PlannedRequest:
    """One upload: the samples sent, and where its text is timed (a text-only piece: its speech;
    a timed model's chunk: the chunk itself, its answer carrying the times)."""

    upload_start: int
    upload_end: int
    start: int
    end: int


@dataclass
class _Result:
    start: int  # samples uploaded
    end: int
    answer: Answer
    upload_bytes: int


@dataclass(frozen=True)
class UploadStats:
    """What one ``transcribe`` call sent: for the metrics and the benchmark."""

    upload_bytes: int
    chunks: int  # requests
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
        today: Clock = utc_today,
    ) -> None:
        self.settings = settings
        self.model = settings.openai_model
        #: A text-only model's pieces, at most (the benchmark tries others).
        self.piece_seconds = PIECE_SECONDS
        self._today = today
        check_at_start(settings, today())  # one-line refusals, and the shutdown warning
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
        self._fields = self._request_fields()
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
        return answers_with_timings(self.model)

    @property
    def translating(self) -> bool:
        return self.settings.task == "translate"

    def chunk_seconds(self) -> float:
        seconds = float(self.settings.openai_chunk_seconds)
        cap = model_max_seconds(self.model)
        return min(seconds, cap) if cap else seconds

    # --- what is sent -----------------------------------------------------------------------------
    def plan(self, samples: np.ndarray, speech: Sequence[Span] | None = None) -> list[tuple[int, int]]:
        """The (start, end) sample spans this backend would upload."""
        return [(r.upload_start, r.upload_end) for r in self.requests(samples, speech)]

    def requests(self, samples: np.ndarray, speech: Sequence[Span] | None = None) -> list[PlannedRequest]:
        """The uploads for ``samples``: chunks of the whole audio for a model with timings; each
        speech region (else the whole audio) cut at its pauses for a text-only model."""
        total = int(np.asarray(samples).shape[0])
        if self.verbose:
            return [PlannedRequest(a, b, a, b) for a, b in self._chunks(samples, 0, total)]
        stretches = [(0, total)] if speech is None else [
            (max(0, round(r.start * SAMPLE_RATE)), min(total, round(r.end * SAMPLE_RATE))) for r in speech
        ]
        planned: list[PlannedRequest] = []
        for first, last in stretches:
            if last - first < MIN_AUDIO_SECONDS * SAMPLE_RATE:
                continue
            for piece in cut_at_pauses(samples[first:last], piece_seconds=self.piece_seconds):
                planned.append(
                    PlannedRequest(
                        first + piece.upload_start, first + piece.upload_end, first + piece.start, first + piece.end
                    )
                )
        return planned

    def _chunks(self, samples: np.ndarray, first: int, last: int) -> list[tuple[int, int]]:
        pieces = plan_chunks(
            samples[first:last],
            max_chunk_seconds=self.chunk_seconds(),
            max_bytes=self.max_upload_bytes,
            fmt=self.upload_format.name,
        )
        return [(first + a, first + b) for a, b in pieces]

    def _request_fields(self) -> dict[str, Any]:
        """The fields every request of this backend carries besides the file."""
        fields: dict[str, Any] = {"model": self.model, "response_format": "verbose_json" if self.verbose else "json"}
        hint = normalize_language(self.settings.language)
        keywords = list(self.settings.keywords)
        if self.translating:
            # /v1/audio/translations takes no language, and its prompt must be English.
            if keywords:
                fields["prompt"] = ", ".join(keywords)
            return fields
        if self.verbose:
            fields["timestamp_granularities"] = ["word", "segment"]
        if takes_hint_lists(self.model):
            if hint:
                fields["languages"] = [hint]
            if keywords:
                fields["keywords"] = keywords
        else:
            if hint:
                fields["language"] = hint
            if keywords:
                fields["prompt"] = ", ".join(keywords)  # Whisper's way to spell names it should expect
        if "diarize" in self.model.lower():
            fields["chunking_strategy"] = "auto"  # required by the diarizing model above 30 s
        return fields

    # --- transcribing -------------------------------------------------------------------------------
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
        planned = self.requests(samples, speech)
        if not planned:
            raise NoSpeechDecoded("no speech region is long enough to upload (the API needs 0.1 s)")
        results = self._run(samples, planned)
        return self._stitch(results, duration=samples.size / SAMPLE_RATE)

    def _run(self, samples: np.ndarray, planned: list[PlannedRequest]) -> list[_Result]:
        def task(request: PlannedRequest) -> list[_Result]:
            return self._send(samples, request)

        workers = min(self.settings.openai_parallel_chunks, len(planned))
        if workers <= 1:
            nested = [task(request) for request in planned]
        else:
            nested = map_failing_fast(task, [(request,) for request in planned], workers)
        results = [result for group in nested for result in group]
        self._last.stats = UploadStats(
            upload_bytes=sum(r.upload_bytes for r in results),
            chunks=len(results),
            audio_seconds=sum(r.end - r.start for r in results) / SAMPLE_RATE,
        )
        return results

    def _send(self, samples: np.ndarray, request: PlannedRequest) -> list[_Result]:
        pieces = encode_within_limit(
            samples, request.upload_start, request.upload_end, fmt=self.upload_format.name,
            max_bytes=self.max_upload_bytes,
        )
        results = []
        for start, end, data in pieces:
            response = self._call(data)
            offset, last = start / SAMPLE_RATE, end / SAMPLE_RATE
            if self.verbose:
                answer = read_timed_answer(response, offset=offset, end=last, uploaded=last - offset)
            else:
                answer = read_text_answer(response)
                # A text-only answer is timed by the speech it was given (a piece over the byte
                # limit, which only happens without VAD, is timed by its own upload).
                if len(pieces) == 1:
                    offset, last = request.start / SAMPLE_RATE, request.end / SAMPLE_RATE
                answer.segments = [Segment(round(offset, 3), round(last, 3), answer.text)] if answer.text else []
            answer.language = self._language(answer.language)
            answer.segments = [replace(s, language=answer.language) for s in answer.segments]
            results.append(_Result(start, end, answer, len(data)))
        return results

    def _language(self, heard: str | None) -> str | None:
        if self.translating:
            return "en"  # what /v1/audio/translations writes, whatever was spoken
        return heard or normalize_language(self.settings.language)

    def _call(self, data: bytes) -> Any:
        fmt = self.upload_format
        request = dict(self._fields, file=(fmt.filename, data, fmt.content_type))
        endpoint = self._client.audio.translations if self.translating else self._client.audio.transcriptions
        try:
            return endpoint.create(**request)
        except Exception as exc:
            task = self.settings.task
            fix = retired_fix(self.model, task) if is_retired(self.model, self._today(), task) else None
            error = classify_error(exc, secrets=self._secrets, retired_fix=fix)
            if error is exc:
                raise
        # Raised outside the except block, so that neither __cause__ nor __context__ holds the
        # SDK's exception, whose text may echo the key back.
        raise error

    def _stitch(self, results: list[_Result], *, duration: float) -> Transcript:
        results = sorted(results, key=lambda r: r.start)
        text = " ".join(r.answer.text for r in results if r.answer.text)
        segments = [segment for r in results for segment in r.answer.segments]
        # The language of most of the audio (pieces disagree on mixed-language videos).
        votes: dict[str, int] = {}
        for r in results:
            if r.answer.language:
                votes[r.answer.language] = votes.get(r.answer.language, 0) + (r.end - r.start)
        language = max(votes, key=lambda k: votes[k]) if votes else None
        uploaded = sum(r.end - r.start for r in results) / SAMPLE_RATE
        billed = [r.answer.billed_seconds for r in results]
        # What the API says it billed, when every answer says it (it may round each request up).
        priced = sum(b for b in billed if b is not None) if all(b is not None for b in billed) else uploaded
        return Transcript(
            text=text,
            segments=segments,
            language=language,
            duration=round(duration, 3),
            backend=self.name,
            model=self.model,
            model_audio_seconds=round(uploaded, 3),
            cost_usd=estimated_cost_usd(self.model, priced),
        )
