"""EventBridge adapter for the EventPublisher port: one PutEvents entry per final outcome.

An event announces an outcome that is already stored; it never decides one. So a failure here is
retried, logged and counted (``MetricName.EVENTS_NOT_PUBLISHED``) and then given up, never raised:
botocore's standard retry mode retries a throttled or failed call (and a connection error); a call
that succeeds with the entry refused (``FailedEntryCount``, an ``InternalFailure`` or
``ThrottlingException`` entry) is sent again by :meth:`EventBridgePublisher.publish`, a bounded
number of times with a short backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..config import Settings
from ..contract import MetricName
from ..events import SOURCE, OutcomeEvent
from ..observability import logger, metrics

#: Sends of one entry at most (the first and two more) when PutEvents refuses it as a partial failure.
ENTRY_ATTEMPTS = 3
_BACKOFF_SECONDS = (0.1, 0.4)
# The entry error codes worth sending again (EventBridge's PutEventsResultEntry); any other (a
# malformed detail, a bus that does not exist, access denied) would fail the same way.
_RETRYABLE_ENTRY_ERRORS = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})


def events_client(settings: Settings) -> Any:
    """A boto3 EventBridge client for AWS_ENDPOINT_URL (or AWS): short timeouts, botocore's standard
    retries (three attempts with jittered backoff for throttling, 5xx and connection errors)."""
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10)
    return boto3.client(
        "events", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=config
    )


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.bus_name = bus_name
        self._sleep = sleep

    def publish(self, event: OutcomeEvent) -> bool:
        """Put ``event`` on the bus; False (logged and counted) when it could not be put."""
        entry = {
            "Source": SOURCE,
            "DetailType": event.detail_type,
            "Detail": event.detail_json,
            "EventBusName": self.bus_name,
        }
        problem = ""
        for attempt in range(ENTRY_ATTEMPTS):
            if attempt:
                self._sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS)) - 1])
            try:
                response = self.client.put_events(Entries=[entry])
            except (ClientError, BotoCoreError) as exc:  # botocore has retried what it retries
                problem = f"{type(exc).__name__}: {exc}"
                break
            if not response.get("FailedEntryCount"):
                return True
            failed = (response.get("Entries") or [{}])[0]
            code = str(failed.get("ErrorCode", "unknown"))
            problem = f"{code}: {failed.get('ErrorMessage', '')}".strip()
            if code not in _RETRYABLE_ENTRY_ERRORS:
                break
        logger.warning(
            "event not published; the outcome itself is stored",
            extra={"detail_type": event.detail_type, "error": problem, "event_bus": self.bus_name},
        )
        metrics.add_metric(name=MetricName.EVENTS_NOT_PUBLISHED, unit=MetricUnit.Count, value=1)
        return False
