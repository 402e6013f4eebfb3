"""DLQ-consumer Lambda: every message that exhausted its retry becomes a persistent failure record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.observability import logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow.reporting import dead_letter_metrics, handle_record


def record_handler(record: SQSRecord) -> str:
    recorder = get_services().dead_letters()
    return handle_record(
        record.body,
        record.message_id,
        lambda: recorder.record(record.body, receive_count=int(record.attributes.approximate_receive_count or 0)),
        dead_letter_metrics,
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A failed record (the database is down) stays in the DLQ and comes back: nothing is lost.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
