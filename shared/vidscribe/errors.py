"""The error vocabulary of the pipeline.

Every failure that can end a video's journey is one of these types. ``retryable`` decides what
happens next: a retryable error leaves the SQS message for its one redelivery; a permanent one is
recorded as a failure at once (retrying a 404 or an HTML page cannot succeed and only costs time).
The class name is what lands in the failure record's ``error_type``.
"""

from __future__ import annotations

from dataclasses import dataclass


class VidscribeError(Exception):
    """Base class; ``retryable`` says whether a second attempt can help."""

    retryable: bool = False

    @property
    def error_type(self) -> str:
        return type(self).__name__


# --- input ---------------------------------------------------------------------------------------
class MalformedMessage(VidscribeError):
    """The queue message is not JSON, has no usable video id, or names an unknown video with no URL."""


class ConfigurationError(VidscribeError):
    """The environment does not describe a usable configuration."""


class NotConfigured(ConfigurationError):
    """A setting the deployment still has to fill in (the database secret after a first deploy)."""


class OperatorError(VidscribeError):
    """An operator's request that cannot be carried out as asked (the command line says why)."""


# --- fetching the media --------------------------------------------------------------------------
class UrlRejected(VidscribeError):
    """The URL is not allowed: not http(s), or it points at a private, loopback or link-local address."""


class FetchError(VidscribeError):
    """The media server could not be reached or answered with an error we may retry (timeouts, 5xx)."""

    retryable = True


class FetchRefused(VidscribeError):
    """The media server answered with an error that a retry will not fix (404, 403, 410, ...). ``code``
    is the server's own name for the refusal where it gives one (S3's ``AccessDenied``, ``InvalidRange``):
    what code may decide on, never the message."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class MediaTooLarge(VidscribeError):
    """The media is larger than MAX_MEDIA_BYTES."""


class MediaTooLong(VidscribeError):
    """The media lasts longer than MAX_DURATION_SECONDS."""


# --- decoding ------------------------------------------------------------------------------------
class NotMedia(VidscribeError):
    """The response is not a media file FFmpeg can read (an HTML page, a zero-byte file, ...)."""


class NoAudioTrack(VidscribeError):
    """The media has no audio stream."""


class TruncatedMedia(VidscribeError):
    """The media ends before its own index says it should, or its audio cannot be decoded."""


class UnseekableMedia(VidscribeError):
    """The server has no Range support and the file's index is at its end, so it cannot be streamed."""


class LiveStream(VidscribeError):
    """The source is a live stream (an HLS playlist without EXT-X-ENDLIST): it has no end to transcribe."""


class EncryptedMedia(VidscribeError):
    """The media is encrypted (DRM, an HLS EXT-X-KEY other than NONE): it cannot be decoded."""


class BadPlaylist(VidscribeError):
    """The HLS playlist cannot be followed: it loops or includes itself, nests too deep, or lists nothing."""


# --- time ---------------------------------------------------------------------------------------
class TimeBudgetExceeded(VidscribeError):
    """The video cannot be transcribed within the time an invocation may run (the message says how to
    make room); a retry would run out the same way."""


class TimeRunningOut(VidscribeError):
    """The invocation's time ran short during the work: stopped before the timeout, for the retry."""

    retryable = True


# --- transcription -------------------------------------------------------------------------------
class NoSpeechDecoded(VidscribeError):
    """The backend returned no audio duration: never store an empty transcript as a success."""


class BackendTransient(VidscribeError):
    """The transcription backend failed in a way a retry may fix (rate limit, timeout, 5xx)."""

    retryable = True


class BackendPermanent(VidscribeError):
    """The transcription backend refused the request (authentication, invalid request, unsupported media)."""


#: The error type of a dead letter whose job recorded no error (its attempts ended in a timeout or
#: a crash): not an exception, only a record's name.
RETRIES_EXHAUSTED = "RetriesExhausted"


def error_vocabulary() -> list[str]:
    """The error types a failure record can carry from this vocabulary: every ``VidscribeError``
    that ends a video's journey (not configuration or operator mistakes), and RetriesExhausted.
    A record may also carry an unexpected exception's class name."""
    found, todo = {RETRIES_EXHAUSTED}, list(VidscribeError.__subclasses__())
    while todo:
        cls = todo.pop()
        if not issubclass(cls, ConfigurationError | OperatorError):
            found.add(cls.__name__)
            todo.extend(cls.__subclasses__())
    return sorted(found)


@dataclass(frozen=True)
class ErrorDescription:
    """What an exception means to the pipeline: the type a record names, its message, and whether
    one retry may help."""

    error_type: str
    message: str
    retryable: bool


def describe(exc: BaseException) -> ErrorDescription:
    """Any exception, described; unknown exceptions are retryable once."""
    if isinstance(exc, VidscribeError):
        return ErrorDescription(exc.error_type, str(exc) or exc.__doc__ or exc.error_type, exc.retryable)
    # An exception we did not anticipate (a bug, a dropped connection): one retry, then a record.
    return ErrorDescription(type(exc).__name__, str(exc) or repr(exc), True)
