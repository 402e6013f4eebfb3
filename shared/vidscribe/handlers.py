"""The three Lambda handlers, each built around the services it uses: parse, call, report.

``functions/*/app.py`` bind them to the Lambda environment's services (read from its variables on
first use); the local runtime builds its own around the services of its run, with its claimant and
an observer of each outcome, so nothing is handed over through process-wide state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from .contract import MetricName
from .errors import NotConfigured
from .observability import logger, metrics, tracer
from .services import Services
from .workflow.fetching import NotConfiguredNotice
from .workflow.outcomes import ProcessResult
from .workflow.reporting import dead_letter_metrics, handle_record, transcription_metrics

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
ServicesFor = Callable[[], Services]
Observer = Callable[[ProcessResult], None]


def _ignore(_result: ProcessResult) -> None:
    return None


def fetcher_handler(services: ServicesFor, not_configured: NotConfiguredNotice | None = None) -> Handler:
    """EventBridge schedule: queue a batch of videos that still need a transcript."""
    notice = not_configured or NotConfiguredNotice()

    @logger.inject_lambda_context
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            result = services().fetcher().run()
        except NotConfigured as problem:  # a first deploy whose database secret is not set yet
            result = notice.report(problem)
        metrics.add_metric(name=MetricName.ENQUEUED, unit=MetricUnit.Count, value=result.enqueued)
        return {"enqueued": result.enqueued, "queue_depth": result.queue_depth, "configured": result.configured}

    return handler


def transcriber_handler(
    services: ServicesFor, *, claimed_by: str | None = None, observe: Observer = _ignore
) -> Handler:
    """SQS batch in, one transcript per message, partial batch failures out. ``claimed_by``: who the
    claims are made as (the local runtime names its process; None in Lambda)."""

    def report(result: ProcessResult) -> None:
        transcription_metrics(result)
        observe(result)

    def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
        # Powertools hands the record handler the invocation's context: its clock is the time budget.
        transcriber = services().transcriber(claimed_by=claimed_by)
        return handle_record(
            record.body,
            record.message_id,
            lambda: transcriber.process(
                record.body,
                receipt_handle=record.receipt_handle,
                receive_count=int(record.attributes.approximate_receive_count or 1),
                remaining_seconds=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
            ),
            report,
        )

    return _sqs_batch_handler(record_handler)


def dlq_consumer_handler(services: ServicesFor, *, observe: Observer = _ignore) -> Handler:
    """Every message that exhausted its retry becomes a persistent failure record."""

    def report(result: ProcessResult) -> None:
        dead_letter_metrics(result)
        observe(result)

    def record_handler(record: SQSRecord) -> str:
        recorder = services().dead_letters()
        return handle_record(
            record.body,
            record.message_id,
            lambda: recorder.record(record.body, receive_count=int(record.attributes.approximate_receive_count or 0)),
            report,
        )

    # A failed record (the database is down) stays in the DLQ and comes back: nothing is lost.
    return _sqs_batch_handler(record_handler)


def _sqs_batch_handler(record_handler: Callable[..., str]) -> Handler:
    """An SQS batch handler: each record through ``record_handler``, the failed ones reported back
    (partial batch response) so that only they come back."""

    @logger.inject_lambda_context
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # A processor per invocation: the local runtime runs several invocations at once in one process.
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
        )

    return handler
