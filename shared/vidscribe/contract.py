"""The numbers and names the core and the AWS stack must agree on, in one dependency-free module.

``infra/`` imports this module as well as ``shared/vidscribe``: a value changed here changes both the
code that relies on it and the resources that enforce it, so the two cannot drift apart.
"""

from __future__ import annotations

#: One retry per video. SQS redrive moves a message to the dead-letter queue on the receive after
#: this many (``maxReceiveCount``), and the job store allows each video this many claims, whatever
#: duplicate deliveries or crashed workers happen.
MAX_RECEIVE_COUNT = 2
MAX_ATTEMPTS = MAX_RECEIVE_COUNT

#: ``VIDEOS_TABLE``: a table or ``schema.table`` name (it is quoted as an identifier, never pasted).
VIDEOS_TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"

#: Powertools' service name (the metrics' ``service`` dimension) and the EMF metrics namespace.
SERVICE_NAME = "vidscribe"
METRICS_NAMESPACE = "Vidscribe"


class MetricName:
    """The product's EMF metrics; the stack's dashboard and alarms read exactly these."""

    TRANSCRIBED = "VideosTranscribed"
    WITHOUT_SPEECH = "VideosWithoutSpeech"  # transcribed (counted in TRANSCRIBED too) with no words: no model call
    SKIPPED = "VideosSkipped"
    FAILED = "VideosFailed"
    ENQUEUED = "VideosEnqueued"
    AUDIO_SECONDS = "AudioSeconds"
    SPEECH_SECONDS = "SpeechSeconds"  # what voice activity detection found in AUDIO_SECONDS
    BYTES_STREAMED = "BytesStreamed"
    LATENCY = "TranscriptionLatency"  # milliseconds
    FAILURE_RECORDS = "FailureRecords"


CUSTOM_METRICS: tuple[str, ...] = tuple(
    value for name, value in vars(MetricName).items() if not name.startswith("_")
)
