"""The numbers and names the core and the AWS stack must agree on, in one dependency-free module.

``infra/`` imports this module as well as ``shared/vidscribe``: a value changed here changes both the
code that relies on it and the resources that enforce it, so the two cannot drift apart.
"""

from __future__ import annotations

import math

#: One retry per video. SQS redrive moves a message to the dead-letter queue on the receive after
#: this many (``maxReceiveCount``), and the job store allows each video this many claims, whatever
#: duplicate deliveries or crashed workers happen.
MAX_RECEIVE_COUNT = 2
MAX_ATTEMPTS = MAX_RECEIVE_COUNT

#: ``VIDEOS_TABLE``: a table or ``schema.table`` name (it is quoted as an identifier, never pasted).
VIDEOS_TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"

#: ``EVENT_BUS_NAME``: an EventBridge bus's name or ARN, as PutEvents takes it (EventBusName).
EVENT_BUS_PATTERN = r"^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[A-Za-z0-9._\-/]{1,256}$"

#: An S3 bucket name (3-63 lowercase letters, digits, dots and hyphens): the URLs the transcriber
#: reads from S3 and the stack's ``mediaBuckets`` grant.
S3_BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"

#: The Amazon RDS CA certificates the functions verify the database against (sslmode=verify-full),
#: shipped at the root of the Lambda layer (so at /opt/ in Lambda).
RDS_CA_BUNDLE_FILE = "rds-ca-bundle.pem"

#: Lambda gives a function CPU in proportion to its memory: one vCPU's worth at 1,769 MB, up to six
#: vCPUs at its 10,240 MB maximum (AWS's function-configuration documentation).
LAMBDA_MB_PER_VCPU = 1769
LAMBDA_MAX_VCPUS = 6

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
    BACKEND_ERRORS = "BackendErrors"  # attempts the transcription backend failed (transient or permanent)
    EVENTS_NOT_PUBLISHED = "EventsNotPublished"  # outcome events EventBridge did not take after the retries


CUSTOM_METRICS: tuple[str, ...] = tuple(
    value for name, value in vars(MetricName).items() if not name.startswith("_")
)


def queue_high_water(max_workers: int, schedule_seconds: float, min_video_seconds: float) -> int:
    """How many messages the fetcher keeps waiting so that the workers never run dry between runs.

    Between two scheduled runs (``schedule_seconds`` apart) ``max_workers`` workers finish at most
    ``max_workers * schedule_seconds / min_video_seconds`` videos, if each takes no less than
    ``min_video_seconds``: a queue topped up to that many every run keeps every worker busy, and a
    backlog drains at the workers' pace rather than the schedule's. Overestimating costs only
    messages waiting longer in SQS; the rest of the backlog waits in PostgreSQL either way.
    """
    if max_workers < 1 or schedule_seconds <= 0 or min_video_seconds <= 0:
        raise ValueError("max_workers, schedule_seconds and min_video_seconds must be positive")
    return max(max_workers, math.ceil(max_workers * schedule_seconds / min_video_seconds))


def lambda_vcpu_share(memory_mb: int) -> float:
    """The vCPUs' worth of compute a function gets at ``memory_mb``: ``memory_mb / 1769``, at most 6."""
    if memory_mb <= 0:
        raise ValueError("memory_mb must be positive")
    return min(float(LAMBDA_MAX_VCPUS), memory_mb / LAMBDA_MB_PER_VCPU)


def lambda_vcpus(memory_mb: int) -> int:
    """Threads worth running at ``memory_mb``: the vCPU share rounded up, 1 to 6 (10,240 MB: 6).

    The transcriber's model runs with this many CPU threads: fewer leave paid-for CPU idle, more
    only contend for the same share.
    """
    return max(1, math.ceil(lambda_vcpu_share(memory_mb)))
