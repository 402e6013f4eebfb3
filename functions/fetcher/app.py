"""Fetcher Lambda (EventBridge schedule): queue a batch of videos that still need a transcript."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.contract import MetricName
from vidscribe.observability import logger, metrics, tracer
from vidscribe.services import get_services


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = get_services().fetcher().run()
    metrics.add_metric(name=MetricName.ENQUEUED, unit=MetricUnit.Count, value=result.enqueued)
    return {"enqueued": result.enqueued, "queue_depth": result.queue_depth}
