"""What Lambda gives a handler, reproduced for the local runtime: a context, SQS and scheduled events."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from ..models import ReceivedMessage
from ..observability import logger, metrics

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# The keys Powertools' inject_lambda_context puts on every log line (see LambdaContextModel).
_CONTEXT_KEYS = ["function_name", "function_memory_size", "function_arn", "function_request_id", "cold_start"]


class WarmFunctions:
    """The functions that have already started in one local run: Lambda's ``cold_start`` flag is
    true on each one's first invocation only. The run holds one and passes it to every invocation."""

    def __init__(self) -> None:
        self._started: set[str] = set()
        self._lock = threading.Lock()

    def first_start(self, function_name: str) -> bool:
        with self._lock:
            cold = function_name not in self._started
            self._started.add(function_name)
            return cold


class LocalLambdaContext:
    """The attributes of a Lambda context that Powertools and the handlers read."""

    def __init__(self, function_name: str, timeout_seconds: int = 900, memory_mb: int = 3008) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(
    handler: Handler,
    event: dict[str, Any],
    function_name: str,
    timeout_seconds: int = 900,
    warm: WarmFunctions | None = None,
) -> dict[str, Any]:
    """Call a handler as Lambda would, with a fresh context (a cold start unless ``warm`` says the
    function has run before).

    In AWS each function has its own process. Here the three run at once in one process and share
    one logger, and ``inject_lambda_context`` writes its keys (name, ARN, memory, request id, cold
    start) into the logger's process-wide keys, where the last invocation to start wins for every
    thread. The thread-local keys take precedence over those when a line is formatted, so this
    invocation sets all of them there, as its own Lambda would give them.
    """
    context = LocalLambdaContext(function_name, timeout_seconds)
    cold_start = (warm or WarmFunctions()).first_start(function_name)
    logger.thread_safe_append_keys(
        function_name=context.function_name,
        function_memory_size=context.memory_limit_in_mb,
        function_arn=context.invoked_function_arn,
        function_request_id=context.aws_request_id,
        cold_start=cold_start,
    )
    try:
        return handler(event, context)
    finally:
        logger.thread_safe_remove_keys(_CONTEXT_KEYS)
        if is_metrics_disabled():
            # Powertools keeps disabled metrics instead of flushing them, and prints them once a
            # metric holds 100 values: drop them, or they end up in the CLI's output.
            metrics.clear_metrics()


def sqs_event(messages: list[ReceivedMessage], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS event exactly as Lambda's event source mapping delivers it."""
    now_ms = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": str(m.receive_count),
                    "SentTimestamp": now_ms,
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def scheduled_event(region: str) -> dict[str, Any]:
    """An EventBridge scheduled event, as the fetcher receives it in AWS."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": ["arn:aws:events:local:000000000000:rule/vidscribe-fetch"],
        "detail": {},
    }
