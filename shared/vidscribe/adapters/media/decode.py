"""Decoding: PyAV demuxes only the best audio stream and resamples it to 16 kHz mono float32
(:mod:`.mono`: any rate, any number of channels, a layout that changes mid-stream).

Every other stream is discarded in the demuxer. Into a sink, memory stays flat in the audio's
duration, and MAX_DURATION_SECONDS is enforced as the samples come, so an endless stream ends there;
into one array it grows with the duration (64 KB per second), never with the video's size. Every
failure leaves as one of the error types in :mod:`vidscribe.errors`, with a message a person can act
on; an empty decode is never a success (faster-whisper would silently return nothing).
"""

from __future__ import annotations

from typing import Any, BinaryIO

import av
import numpy as np
from av.stream import Discard

from ...errors import MediaTooLong, NoAudioTrack, NotMedia, TruncatedMedia, UnseekableMedia, VidscribeError
from ...models import SAMPLE_RATE, AudioSink, DecodedAudio
from .containers.formats import mp4_index_at_end, show_head, sniff
from .mono import MonoConverter
from .readers.seekable import HEAD_BYTES
from .readers.stream import HttpStream


def _source_head(fileobj: Any) -> tuple[bytes, str | None, bool]:
    """(first bytes, content type, from a server without Range support?) for error messages."""
    head = getattr(fileobj, "head", None)
    content_type = getattr(fileobj, "content_type", None)
    if head is None:
        try:
            pos = fileobj.tell()
            fileobj.seek(0)
            head = fileobj.read(64)
            fileobj.seek(pos)
        except (OSError, ValueError, AttributeError):
            head = b""
    unseekable_http = isinstance(fileobj, HttpStream) and not fileobj.seekable()
    return bytes(head or b""), content_type, unseekable_http


_UNSEEKABLE_MP4 = (
    "the media server does not support HTTP Range requests and this MP4 keeps its index (moov) at "
    "the end of the file, so it cannot be streamed; serve it from a server with Range support or "
    "re-mux it with the index at the front (ffmpeg -movflags +faststart)"
)


def _open_failure(fileobj: Any, exc: Exception) -> VidscribeError:
    head, content_type, unseekable_http = _source_head(fileobj)
    if not head:
        return NotMedia("not a media file: it is empty (0 bytes)")
    kind = sniff(head)
    if kind is None:
        sent = f"the server sent {content_type.split(';')[0]}" if content_type else "unrecognised content"
        return NotMedia(f"not a media file: {sent} (first bytes: {show_head(head)})")
    if unseekable_http and kind == "MP4/QuickTime":
        return UnseekableMedia(_UNSEEKABLE_MP4)
    return TruncatedMedia(f"the file looks like {kind} but FFmpeg cannot open it (truncated or corrupt?): {exc}")


def _duration_of(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000
    return None


class _SampleBuffer:
    """A growing float32 array: one allocation when the duration is known, amortised growth otherwise."""

    def __init__(self, expected: int) -> None:
        self._data = np.empty(max(expected, SAMPLE_RATE), dtype=np.float32)
        self.n = 0

    def begin(self, declared_seconds: float | None) -> None:
        if declared_seconds:  # one allocation when the duration is known
            self._data = np.empty(max(self._data.size, int((declared_seconds + 1.0) * SAMPLE_RATE)), np.float32)

    def feed(self, samples: np.ndarray) -> None:
        end = self.n + len(samples)
        if end > len(self._data):
            grown = np.empty(max(end, int(len(self._data) * 1.5)), dtype=np.float32)
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n : end] = samples
        self.n = end

    def result(self) -> np.ndarray:
        if self.n == len(self._data):
            return self._data
        if self.n >= 0.9 * len(self._data):
            return self._data[: self.n]
        return self._data[: self.n].copy()


_MAX_DECODE_ERRORS = 20


def decode_audio(
    fileobj: BinaryIO | Any, *, max_duration_seconds: float, sink: AudioSink | None = None
) -> DecodedAudio:
    """Decode the best audio stream of a readable file object to 16 kHz mono float32: into one
    array, or, with a ``sink``, block by block into it (the result then holds no samples, only the
    duration: memory flat in the audio's length).

    Raises NotMedia, NoAudioTrack, TruncatedMedia, UnseekableMedia, MediaTooLong (and whatever the
    file object or the sink raises, e.g. FetchError). ``source_bytes`` is left at 0: the caller knows it.
    """
    try:
        audio = _decode_file(fileobj, max_duration_seconds, sink)
    except VidscribeError as exc:
        failure = getattr(fileobj, "failure", None)
        if failure is not None and failure is not exc:
            raise failure from None  # the download failed; the "bad media" is a consequence
        raise
    failure = getattr(fileobj, "failure", None)
    if failure is not None:
        raise failure  # FFmpeg took a failed read for the end of the file: the audio is incomplete
    return audio


def _decode_file(fileobj: Any, max_duration_seconds: float, sink: AudioSink | None) -> DecodedAudio:
    seekable = getattr(fileobj, "seekable", lambda: True)()
    if not seekable and hasattr(fileobj, "peek"):
        # A stream we cannot seek: an MP4 whose index comes after its media data cannot be read
        # without downloading all of it first. Find out from its first bytes, not after 4 GB.
        head = fileobj.peek(HEAD_BYTES)
        if sniff(head) == "MP4/QuickTime" and mp4_index_at_end(head):
            raise UnseekableMedia(_UNSEEKABLE_MP4)
    try:
        container = av.open(fileobj, mode="r", metadata_errors="replace")
    except VidscribeError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise _open_failure(fileobj, exc) from None
    try:
        if len(container.streams) == 0:  # opened, yet no stream at all: a stub or a cut-off header
            raise _open_failure(fileobj, ValueError("no streams found"))
        return _decode(container, max_duration_seconds, sink, seekable=seekable)
    finally:
        container.close()


def _decode(container: Any, max_duration_seconds: float, sink: AudioSink | None, *, seekable: bool) -> DecodedAudio:
    stream = container.streams.best("audio")
    if stream is None and container.streams.audio:
        stream = container.streams.audio[0]  # FFmpeg ranks none "best" when none has channels
    if stream is None:
        kinds = ", ".join(f"{s.type} {getattr(s.codec_context, 'name', None) or '?'}" for s in container.streams)
        raise NoAudioTrack(f"the media has no audio track (streams: {kinds or 'none'})")
    if stream.codec_context is None:
        raise NotMedia(f"no decoder for the audio codec of stream #{stream.index}")
    if stream.codec_context.channels == 0:
        # FFmpeg also reports 0 for a header that claims more channels than it decodes (512).
        raise TruncatedMedia(
            "the audio track has no channels FFmpeg can decode: its header says 0, or more than FFmpeg's limit of 512"
        )
    for other in container.streams:
        if other.index != stream.index:
            other.discard = Discard.all  # the demuxer skips (MP4: seeks past) what we never decode

    declared = _duration_of(container, stream)
    if declared is not None and declared > max_duration_seconds:
        raise MediaTooLong(
            f"the media lasts {declared:.0f} s, more than the {max_duration_seconds:g} s allowed (MAX_DURATION_SECONDS)"
        )
    limit = int((max_duration_seconds + 1.0) * SAMPLE_RATE)
    buffer = _SampleBuffer(SAMPLE_RATE * 60) if sink is None else None
    target: AudioSink = buffer if buffer is not None else sink  # type: ignore[assignment]
    target.begin(None if declared is None else min(declared, max_duration_seconds))
    trim = _StartAt(container, stream, sink, seekable=seekable)
    mono = MonoConverter()
    decode_errors = 0
    last_error: Exception | None = None
    decoded = 0

    def take(frame: Any | None) -> None:
        nonlocal decoded
        if frame is not None:
            decoded += trim.first_frame(frame, target)
        for samples in mono.convert(frame):
            samples = trim.cut(samples)
            if samples.size == 0:
                continue
            decoded += samples.size
            target.feed(samples)
            if decoded > limit:  # while decoding: an endless stream ends here, not at the end of its bytes
                raise MediaTooLong(
                    f"the audio lasts more than the {max_duration_seconds:g} s allowed (MAX_DURATION_SECONDS)"
                )

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                decode_errors += 1
                last_error = exc
                if decode_errors > _MAX_DECODE_ERRORS:
                    raise TruncatedMedia(
                        f"the audio cannot be decoded ({decode_errors} bad packets after "
                        f"{decoded / SAMPLE_RATE:.1f} s): {exc}"
                    ) from None
                continue
            for frame in frames:
                take(frame)
        take(None)
    except VidscribeError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise TruncatedMedia(
            f"the media is truncated or corrupt: reading failed after {decoded / SAMPLE_RATE:.1f} s of audio: {exc}"
        ) from None

    if decoded == 0:
        detail = f": {last_error}" if last_error else ""
        raise TruncatedMedia(f"the audio track decoded to no samples (truncated or corrupt media){detail}")
    _check_complete(container, stream, trim.start + decoded / SAMPLE_RATE)
    if buffer is None:
        return DecodedAudio(samples=np.zeros(0, dtype=np.float32), streamed_seconds=decoded / SAMPLE_RATE)
    return DecodedAudio(samples=buffer.result())


class _StartAt:
    """A sink that wants the audio from a time on (one part of a long video: ``start_seconds``) says
    so: the container seeks there where it can (then only that range's bytes are read), and the
    samples before it are dropped, counted from the first frame's time after the seek (from the
    stream's first sample where it could not seek)."""

    def __init__(self, container: Any, stream: Any, sink: AudioSink | None, *, seekable: bool) -> None:
        self.start = float(getattr(sink, "start_seconds", 0.0) or 0.0)
        self.seeked = self.start > 0 and seekable and _seek(container, self.start)
        # Times count from the stream's first sample (an MPEG-TS stream starts at 1.4 s, say).
        has_origin = stream.start_time is not None and stream.time_base
        self.origin = float(stream.start_time * stream.time_base) if has_origin else 0.0
        self.skip: int | None = None if self.start > 0 else 0

    def first_frame(self, frame: Any, target: AudioSink) -> int:
        """At the first frame, how many samples to drop; returns the silence fed instead when the
        seek landed after the time asked for (so that the timeline stays true)."""
        if self.skip is not None:
            return 0
        first = float(frame.pts * frame.time_base) - self.origin if frame.pts is not None and self.seeked else 0.0
        self.skip = round((self.start - first) * SAMPLE_RATE)
        if self.skip >= 0:
            return 0
        padding, self.skip = -self.skip, 0
        target.feed(np.zeros(padding, dtype=np.float32))
        return padding

    def cut(self, samples: np.ndarray) -> np.ndarray:
        if not self.skip:
            return samples
        dropped = min(self.skip, samples.size)
        self.skip -= dropped
        return samples[dropped:]


def _seek(container: Any, seconds: float) -> bool:
    """Seek the demuxer to the packet at or before ``seconds``; False where the input cannot seek
    (a stream read front to back): then everything before is decoded and dropped."""
    try:
        container.seek(int(seconds * 1_000_000))
    except (av.FFmpegError, OSError, ValueError):
        return False
    return True


def _check_complete(container: Any, stream: Any, decoded: float) -> None:
    """FFmpeg ends a truncated file quietly, as if it were complete. Where the container states the
    audio track's exact duration (MP4/MOV per-track headers, FLAC's stream info; Matroska's segment
    duration when audio is its only stream), decoding much less than that means the file is cut."""
    fmt = container.format.name or ""
    declared: float | None = None
    if fmt.startswith("mov,") or fmt == "flac":
        if stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
    elif fmt.startswith("matroska") and len(container.streams) == 1 and container.duration:
        declared = container.duration / 1_000_000
    if declared is None:
        return
    shortfall = declared - decoded
    if shortfall > max(0.25, 0.02 * declared):
        raise TruncatedMedia(
            f"the media is truncated: its audio track should last {declared:.1f} s but only {decoded:.1f} s "
            f"could be read"
        )
