"""Fetcher Lambda (EventBridge schedule): queue a batch of videos that still need a transcript."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.contract import MetricName
from vidscribe.errors import NotConfigured
from vidscribe.observability import logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow.fetching import not_configured_yet


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = get_services().fetcher().run()
    except NotConfigured as problem:  # a first deploy whose database secret is not set yet
        result = not_configured_yet(problem)
    metrics.add_metric(name=MetricName.ENQUEUED, unit=MetricUnit.Count, value=result.enqueued)
    return {"enqueued": result.enqueued, "queue_depth": result.queue_depth, "configured": result.configured}
