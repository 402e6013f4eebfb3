"""Transcriber Lambda: SQS batch in, one transcript per message, partial batch failures out.

Parse and report only; the decisions are in ``vidscribe.workflow.Transcriber``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.observability import MetricName, logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow import AttemptFailed, Outcome, ProcessResult, Transcriber, message_video_id


def record_handler(record: SQSRecord) -> str:
    services = get_services()
    logger.thread_safe_append_keys(video_id=message_video_id(record.body), message_id=record.message_id)
    try:
        transcriber = Transcriber(services.settings, services.store, services.queue, services.media, services.backend)
        result = transcriber.process(
            record.body,
            receipt_handle=record.receipt_handle,
            receive_count=int(record.attributes.approximate_receive_count or 1),
        )
    except AttemptFailed as failed:
        _report(failed.result)
        raise
    finally:
        logger.thread_safe_remove_keys(["video_id", "message_id"])
    _report(result)
    return result.outcome.value


def _report(result: ProcessResult) -> None:
    if result.outcome is Outcome.TRANSCRIBED:
        metrics.add_metric(name=MetricName.TRANSCRIBED, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=MetricName.AUDIO_SECONDS, unit=MetricUnit.Seconds, value=result.audio_seconds)
        metrics.add_metric(name=MetricName.BYTES_STREAMED, unit=MetricUnit.Bytes, value=result.bytes_streamed)
        metrics.add_metric(
            name=MetricName.LATENCY, unit=MetricUnit.Milliseconds, value=result.latency_seconds * 1000
        )
    elif result.outcome is Outcome.SKIPPED:
        metrics.add_metric(name=MetricName.SKIPPED, unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name=MetricName.FAILED, unit=MetricUnit.Count, value=1)
        if result.outcome is Outcome.FAILED:
            metrics.add_metric(name=MetricName.FAILURE_RECORDS, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A processor per invocation: the local runtime runs several invocations at once in one process.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
