"""Values that cross the seams: queue messages, decoded audio, transcripts, failure records."""

from __future__ import annotations

import enum
import json
import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MalformedMessage
from .jobs.states import JobState

SAMPLE_RATE = 16_000  # what every backend receives: 16 kHz mono float32 in [-1, 1]
MAX_VIDEO_ID_LENGTH = 256
MAX_URL_LENGTH = 4096
# What an id or a URL may not contain, checked here for every way in (a queue message, a videos-table
# row, the command line): control characters (C0 with NUL, DEL, C1) and the Unicode line and
# paragraph separators, because an id or a URL is one printable line (in logs, CSV exports, the
# CLI's output), and PostgreSQL text cannot hold a NUL; lone UTF-16 surrogates ("Cs": a JSON
# "\ud800", or bytes that were not UTF-8 on a command line), because they cannot be encoded at all.
# Format characters such as the zero width joiner of emoji sequences stay allowed.
_FORBIDDEN_CATEGORIES = {"Cc": "control characters", "Zl": "control characters", "Zp": "control characters",
                         "Cs": "a lone UTF-16 surrogate (not valid Unicode text)"}  # fmt: skip


def _text_problem(value: str) -> str | None:
    """What in ``value`` no output or PostgreSQL can hold, or None."""
    for ch in value:
        problem = _FORBIDDEN_CATEGORIES.get(unicodedata.category(ch))
        if problem:
            return problem
    return None


def clean_video_id(value: str) -> str:
    """The video id, unchanged (ids are opaque: " x " is not "x"); ValueError saying why if unusable."""
    if not value.strip():
        raise ValueError("video_id is blank")
    if len(value) > MAX_VIDEO_ID_LENGTH:
        raise ValueError(f"video_id is {len(value):,} characters long (at most {MAX_VIDEO_ID_LENGTH})")
    problem = _text_problem(value)
    if problem:
        raise ValueError(f"video_id contains {problem}")
    return value


def clean_url(value: str) -> str:
    """The URL, unchanged; ValueError saying why if unusable. A NUL cannot be stored in PostgreSQL;
    CR/LF inside a URL are silently dropped by urlsplit, so the URL fetched would not be the one
    given. Surrounding whitespace (a trailing newline from a CSV, say) is tolerated, as before, and a
    blank URL is the URL guard's to refuse."""
    if not value:
        raise ValueError("url is empty")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"url is {len(value):,} characters long (at most {MAX_URL_LENGTH})")
    problem = _text_problem(value.strip())
    if problem:
        raise ValueError(f"url contains {problem}")
    return value


def video_row_problem(video_id: str, url: str | None) -> str | None:
    """Why a videos-table row cannot be queued (None: it can): the message's rules, and a url."""
    try:
        clean_video_id(video_id)
        if url is None:
            return "its url is NULL"
        clean_url(url)
    except ValueError as exc:
        return str(exc)
    return None


def _checked_text(value: Any, clean: Callable[[str], str]) -> Any:
    # Before pydantic's own str check, which calls a lone surrogate "unable to parse raw data".
    return clean(value) if isinstance(value, str) else value


def validation_problems(exc: ValidationError, where: str = "body") -> str:
    """One line naming each invalid field and what is wrong ("video_id is blank; url: Input should
    be a valid string"), without pydantic's "Value error, " prefix or a field named twice."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or where
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(message if message.startswith(field) else f"{field}: {message}")
    return "; ".join(problems)


class VideoMessage(BaseModel):
    """The body of a queue message: ``{"video_id": "...", "url": "..."}``; url optional when the
    video is in the ``videos`` table. Anyone with an SQS client may send one by hand."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    video_id: str
    url: str | None = None
    part: int | None = Field(None, ge=0)  # one part of a video planned in parts (its range is in the store)

    @field_validator("video_id", mode="before")
    @classmethod
    def _printable_id(cls, value: Any) -> Any:
        return _checked_text(value, clean_video_id)

    @field_validator("url", mode="before")
    @classmethod
    def _printable_url(cls, value: Any) -> Any:
        # Malformed: no fetch, no retry.
        return _checked_text(value, clean_url)

    @classmethod
    def parse(cls, body: str) -> VideoMessage:
        """Parse a raw message body, raising MalformedMessage with a readable reason."""
        try:
            data = json.loads(body)
        except RecursionError:  # "[[[[..." nested deeper than the interpreter's recursion limit
            raise MalformedMessage("message body is not JSON: nested too deeply") from None
        except (TypeError, ValueError) as exc:
            raise MalformedMessage(f"message body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedMessage(f"message body is JSON {type(data).__name__}, expected an object")
        try:
            return cls.model_validate(data, strict=True)
        except ValidationError as exc:
            raise MalformedMessage(f"invalid message: {validation_problems(exc)}") from None

    def body(self) -> str:
        return self.model_dump_json(exclude_none=True)


@dataclass(frozen=True)
class DecodedAudio:
    """Audio ready for a backend: mono float32 samples at SAMPLE_RATE.

    Audio that was streamed into an :class:`AudioSink` instead holds no samples: ``streamed_seconds``
    then says how long it was."""

    samples: np.ndarray
    source_bytes: int = 0  # bytes fetched to produce it, for the bytes-streamed metric
    streamed_seconds: float | None = None

    @property
    def duration(self) -> float:
        if self.streamed_seconds is not None:
            return self.streamed_seconds
        return len(self.samples) / SAMPLE_RATE

    def stream_into(self, sink: AudioSink | None, block_seconds: float = 30.0) -> DecodedAudio:
        """This audio handed to ``sink`` block by block, as a decoder would (None: itself)."""
        if sink is None:
            return self
        sink.begin(self.duration)
        step = int(block_seconds * SAMPLE_RATE)
        for start in range(0, len(self.samples), step):
            sink.feed(self.samples[start : start + step])
        return DecodedAudio(np.zeros(0, dtype=np.float32), self.source_bytes, streamed_seconds=self.duration)


class AudioSink(Protocol):
    """Where decoded audio goes block by block, so that nothing holds all of it (memory stays flat
    in the duration): the speech layer's stream (``vidscribe.speech.streaming``)."""

    def begin(self, declared_seconds: float | None) -> None:
        """The container is open; ``declared_seconds`` is the duration it states (None: unknown)."""
        ...

    def feed(self, samples: np.ndarray) -> None:
        """The next decoded samples (16 kHz mono float32), in order."""
        ...


@dataclass(frozen=True)
class Span:
    """A stretch of a timeline, in seconds (a speech region, an uploaded piece)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Word:
    """One word with its timing (Whisper's words carry their leading space; stored stripped)."""

    start: float
    end: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "word": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        return cls(start=_seconds(data.get("start")), end=_seconds(data.get("end")), text=str(data.get("word") or ""))


@dataclass(frozen=True)
class Segment:
    """A timed piece of a transcript, with its words when the backend timed them.

    ``no_speech_prob``, ``avg_logprob`` and ``compression_ratio`` are the model's own confidence
    figures for the segment (Whisper's), read by the hallucination guards; they are not stored.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    no_speech_prob: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    language: str | None = None  # the language of this segment's text (it may change within a video)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}
        if self.language:
            data["language"] = self.language
        if self.words:
            data["words"] = [w.to_dict() for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        """A segment from its stored JSON form; an unreadable time becomes NaN (the exports repair it).
        Segments stored before word timings existed have no ``words``."""
        words = data.get("words") or []
        return cls(
            start=_seconds(data.get("start")),
            end=_seconds(data.get("end")),
            text=str(data.get("text") or ""),
            words=tuple(Word.from_dict(w) for w in words if isinstance(w, Mapping)),
            language=str(data["language"]) if data.get("language") else None,
        )


def _seconds(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True)
class Transcript:
    """A transcript, as a backend produces it and as the store returns it (then with ``video_id``
    and ``created_at``): the one type the store, the CLI and the exports share.

    ``speech_seconds``: the speech the voice activity detector found (None: stored before it ran);
    ``no_speech``: the video holds no words (silence, music, noise): empty text, no segments;
    ``model_audio_seconds``: the audio sent to the model; ``cost_usd``: its estimated price
    (0 for the local model; None when the model is not in the price table).
    ``language``: the language of most of the text (each segment has its own);
    ``language_probability``: how sure the model was of it (None: set by LANGUAGE, or not reported).
    """

    text: str
    segments: list[Segment]
    language: str | None
    duration: float
    backend: str
    model: str
    video_id: str | None = None
    created_at: datetime | None = None
    speech_seconds: float | None = None
    no_speech: bool = False
    model_audio_seconds: float | None = None
    cost_usd: float | None = None
    language_probability: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        """A transcript from a mapping shaped like one (``segments`` as dicts or as a JSON string)."""
        segments = data.get("segments") or []
        if isinstance(segments, str):
            segments = json.loads(segments)
        return cls(
            text=str(data.get("text") or ""),
            segments=[s if isinstance(s, Segment) else Segment.from_dict(s) for s in segments],
            language=data.get("language"),
            duration=_seconds(data.get("duration")),
            backend=str(data.get("backend") or ""),
            model=str(data.get("model") or ""),
            video_id=data.get("video_id"),
            created_at=data.get("created_at"),
            speech_seconds=_optional_seconds(data.get("speech_seconds")),
            no_speech=bool(data.get("no_speech") or False),
            model_audio_seconds=_optional_seconds(data.get("model_audio_seconds")),
            cost_usd=_optional_seconds(data.get("cost_usd")),
            language_probability=_optional_seconds(data.get("language_probability")),
        )


def _optional_seconds(value: Any) -> float | None:
    return None if value is None else _seconds(value)


class ClaimOutcome(enum.StrEnum):
    CLAIMED = "claimed"  # this worker owns the video now
    ALREADY_DONE = "already_done"  # a transcript exists: skip
    IN_FLIGHT = "in_flight"  # another worker holds a live lease: skip this duplicate delivery
    FAILED = "failed"  # finally failed already; only retry-failed brings it back
    EXHAUSTED = "exhausted"  # its attempts are used up (a duplicate or a crash spent the retry)


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    attempts: int = 0
    # CLAIMED only: this claim's number. The worker's writes about its attempt carry it, and apply
    # only while the job is still under this claim (not after a shutdown or a recovery released it).
    token: int | None = None


class JobError(NamedTuple):
    """What a video's job row remembers of its latest failed attempt."""

    error_type: str | None
    message: str | None
    attempts: int


@dataclass(frozen=True)
class HeldClaim:
    """A live processing claim and the process that holds it."""

    video_id: str
    claimed_by: str


@dataclass(frozen=True)
class PendingVideo:
    """A video the fetcher reserved for the queue (its url is NULL when the videos table says so).

    With ``stand_in_id``: a videos-table row whose id is longer than any id the pipeline takes
    (MAX_VIDEO_ID_LENGTH), so long that it may not even fit an index entry: nothing was reserved,
    and its failure is recorded under the stand-in id, which also keeps the row from being selected
    again."""

    video_id: str
    url: str | None
    stand_in_id: str | None = None


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


@dataclass(frozen=True)
class FailureRecord:
    id: int
    video_id: str | None
    error_type: str
    message: str
    attempts: int
    failed_at: datetime
    original_message: str | None
    resolved_at: datetime | None = None
    # How a resolved record was resolved: "transcribed" (a retry succeeded), "superseded" (a newer
    # failure of the video is the open record now) or "dismissed" (by the operator).
    resolution: str | None = None


class OpenFailure(NamedTuple):
    """An open failure record as a retry sees it: its video (None: the message named none) and the
    url its job knows."""

    record_id: int
    video_id: str | None
    url: str | None


class Dismissed(NamedTuple):
    """What ``dismiss_failures`` did: the records it resolved, or the named ones that are not open
    (then it resolved none)."""

    dismissed: list[int]
    not_open: list[int]


# --- search (issue 23: PostgreSQL full-text search behind Reports.search) --------------------------
@dataclass(frozen=True)
class SearchQuery:
    """What to find: ``text`` as a search box takes it, optionally in one language, one video, or
    transcripts made since a time; a page of ``limit`` hits from ``offset``."""

    text: str
    language: str | None = None
    video_id: str | None = None
    since: datetime | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    """One segment that matches: where it is, and its text in pieces, each flagged when it is what
    matched (to be escaped piece by piece and highlighted); ``url``: the video's, as stored (secrets
    and all: scrub it before showing it), None when the videos table has no row for it."""

    video_id: str
    start: float
    end: float
    language: str | None
    snippet: tuple[tuple[str, bool], ...]
    rank: float
    url: str | None = None


# --- the catalogue: every video with its state, a page at a time (the web page, issue 24) ---------
#: A video's state as the catalogue shows it: its job's state, else "done" when it has a transcript
#: (stored without a job), else "new" (never queued yet).
CATALOGUE_STATES = ("new", *(state.value for state in JobState))


@dataclass(frozen=True)
class CatalogueQuery:
    """Filters and a keyset page: the videos whose id sorts after ``after`` (or, for the page
    before, before ``before``), ``limit`` of them."""

    state: str | None = None
    language: str | None = None
    model: str | None = None
    id_contains: str | None = None
    after: str | None = None
    before: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class CatalogueRow:
    """One video: its row, its job and its transcript's figures (None where there is none)."""

    video_id: str
    url: str | None
    state: str
    attempts: int = 0
    last_error_type: str | None = None
    language: str | None = None
    duration: float | None = None
    model: str | None = None
    speech_seconds: float | None = None
    cost_usd: float | None = None
    no_speech: bool = False
    transcribed_at: datetime | None = None


@dataclass(frozen=True)
class CataloguePage:
    rows: list[CatalogueRow]
    has_previous: bool
    has_next: bool


@dataclass(frozen=True)
class WriteAccess:
    """Whether the database role may make the writes the operator's actions make (retry, dismiss),
    and if not, why (a read-only role, a read-only transaction, a standby)."""

    allowed: bool
    reason: str | None = None


# --- listing and bulk export (issue 23: vidscribe transcripts list, vidscribe export) --------------
@dataclass(frozen=True)
class TranscriptFilter:
    """Which transcripts: in a language, by a model, made in ``[since, until)``, only those without
    speech (True), only those with speech (False) or either (None)."""

    language: str | None = None
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    without_speech: bool | None = None


@dataclass(frozen=True)
class TranscriptSummary:
    """One transcript's figures, as ``transcripts list`` shows them (no text)."""

    video_id: str
    language: str | None
    model: str
    backend: str
    duration: float
    speech_seconds: float | None
    no_speech: bool
    segments: int
    created_at: datetime


# --- parts of a long video (issue 22) ---------------------------------------------------------------
@dataclass(frozen=True)
class PartRange:
    """One part of a video planned in parts: its nominal time range on the video's timeline, and
    how many parts the plan has (the first starts at 0, the last runs to the end of the audio)."""

    index: int
    count: int
    start: float
    end: float

    @property
    def is_first(self) -> bool:
        return self.index == 0

    @property
    def is_last(self) -> bool:
        return self.index == self.count - 1


@dataclass(frozen=True)
class PartClaim:
    """The outcome of claiming one part (``ClaimOutcome``'s meanings, per part); ``part`` is its
    range when the plan knows it."""

    outcome: ClaimOutcome
    part: PartRange | None = None
    attempts: int = 0
    token: int | None = None
