"""Transcriber Lambda: SQS batch in, one transcript per message, partial batch failures out.

Parse and report only; the decisions are in ``vidscribe.workflow.Transcriber``. The same module is
the zip function's handler (on the layer) and the container image's (``app.handler`` at the root of
/var/task, transcriber=local).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.observability import logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow.reporting import handle_record, transcription_metrics

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, at import = the init phase, once per execution environment: load the local model now
    # rather than inside the first video's time. If that fails, the error is logged and each record
    # fails as it would without the warm-up (batch item failures, the DLQ, a failure record): the
    # start itself does not crash.
    try:
        get_services().warm_up()
    except Exception:
        logger.exception("warm-up failed; each record will report the error")


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    # Powertools hands the record handler the invocation's context: its clock is the time budget.
    transcriber = get_services().transcriber()
    return handle_record(
        record.body,
        record.message_id,
        lambda: transcriber.process(
            record.body,
            receipt_handle=record.receipt_handle,
            receive_count=int(record.attributes.approximate_receive_count or 1),
            remaining_seconds=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
        ),
        transcription_metrics,
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A processor per invocation: the local runtime runs several invocations at once in one process.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
