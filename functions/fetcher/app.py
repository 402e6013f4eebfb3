"""Fetcher Lambda (EventBridge schedule): queue a batch of videos that still need a transcript."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from vidscribe.observability import MetricName, logger, metrics, tracer
from vidscribe.services import get_services
from vidscribe.workflow import Fetcher


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    services = get_services()
    result = Fetcher(services.settings, services.store, services.queue).run()
    metrics.add_metric(name=MetricName.ENQUEUED, unit=MetricUnit.Count, value=result.enqueued)
    return {"enqueued": result.enqueued, "queue_depth": result.queue_depth}
