"""What the SQS handlers report for each record: log keys while it is handled, metrics after.

Both SQS handlers are "parse, call, report": :func:`handle_record` does the bookkeeping around the
call so that each handler stays a few lines. A process that wants each outcome as well (the local
runtime, to say what *its* run did) passes its observer to the handlers it builds (vidscribe.handlers).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit

from ..contract import MetricName
from ..errors import BackendPermanent, BackendTransient
from ..observability import logger, metrics
from .outcomes import AttemptFailed, Outcome, ProcessResult, message_video_id

_LOG_KEYS = ["video_id", "message_id"]
_BACKEND_ERRORS = {BackendTransient.__name__, BackendPermanent.__name__}


def transcription_metrics(result: ProcessResult) -> None:
    """The transcriber's metrics for one record."""
    if result.outcome is Outcome.TRANSCRIBED:
        metrics.add_metric(name=MetricName.TRANSCRIBED, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=MetricName.AUDIO_SECONDS, unit=MetricUnit.Seconds, value=result.audio_seconds)
        metrics.add_metric(name=MetricName.SPEECH_SECONDS, unit=MetricUnit.Seconds, value=result.speech_seconds)
        if result.no_speech:
            metrics.add_metric(name=MetricName.WITHOUT_SPEECH, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=MetricName.BYTES_STREAMED, unit=MetricUnit.Bytes, value=result.bytes_streamed)
        metrics.add_metric(name=MetricName.LATENCY, unit=MetricUnit.Milliseconds, value=result.latency_seconds * 1000)
    elif result.outcome is Outcome.SKIPPED:
        metrics.add_metric(name=MetricName.SKIPPED, unit=MetricUnit.Count, value=1)
    elif result.outcome is Outcome.PART:
        pass  # counted once the video is assembled (TRANSCRIBED), as one video
    else:
        metrics.add_metric(name=MetricName.FAILED, unit=MetricUnit.Count, value=1)
        if result.outcome is Outcome.FAILED:
            metrics.add_metric(name=MetricName.FAILURE_RECORDS, unit=MetricUnit.Count, value=1)
        if result.error_type in _BACKEND_ERRORS:  # the stack alarms on their rate
            metrics.add_metric(name=MetricName.BACKEND_ERRORS, unit=MetricUnit.Count, value=1)


def dead_letter_metrics(result: ProcessResult) -> None:
    """The DLQ consumer's metrics for one record: a failure record written, or nothing."""
    if result.outcome is Outcome.FAILED:
        metrics.add_metric(name=MetricName.FAILURE_RECORDS, unit=MetricUnit.Count, value=1)


def handle_record(
    body: str,
    message_id: str,
    process: Callable[[], ProcessResult],
    report: Callable[[ProcessResult], None],
) -> str:
    """Run ``process`` for one SQS record with its video id and message id on every log line, then
    ``report`` the result (also when the attempt failed and the record goes back to the queue)."""
    logger.thread_safe_append_keys(video_id=message_video_id(body), message_id=message_id)
    try:
        result = process()
        if result.comes_back:  # the batch processor reports a record in batchItemFailures when it raises
            report(result)
            raise AttemptFailed(result)
    finally:
        logger.thread_safe_remove_keys(_LOG_KEYS)
    report(result)
    return result.outcome.value
