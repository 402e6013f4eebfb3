"""DLQ-consumer Lambda: every message that exhausted its retry becomes a persistent failure record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.observability import MetricName, logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow import DeadLetterRecorder, Outcome, message_video_id


def record_handler(record: SQSRecord) -> str:
    logger.thread_safe_append_keys(video_id=message_video_id(record.body), message_id=record.message_id)
    try:
        result = DeadLetterRecorder(get_services().store).record(
            record.body, receive_count=int(record.attributes.approximate_receive_count or 0)
        )
    finally:
        logger.thread_safe_remove_keys(["video_id", "message_id"])
    if result.outcome is Outcome.FAILED:
        metrics.add_metric(name=MetricName.FAILURE_RECORDS, unit=MetricUnit.Count, value=1)
    return result.outcome.value


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A failed record (the database is down) stays in the DLQ and comes back: nothing is lost.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
