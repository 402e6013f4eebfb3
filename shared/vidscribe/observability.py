"""The process-wide Powertools logger, metrics and tracer, shared by the handlers and the core.

Logs are JSON lines on stderr (Lambda sends both streams to CloudWatch; locally stdout stays free for
the CLI's output). ``video_id`` is appended per record with the thread-safe keys, because the local
runtime runs several handler invocations at once in one process. Every line goes through
``redaction.scrub`` on its way out, whatever a message or a key carries. The command line switches
the format to plain text for people (:func:`configure_logging`) unless ``LOG_FORMAT=json``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from .contract import METRICS_NAMESPACE, SERVICE_NAME, MetricName
from .redaction import scrub

__all__ = ["MetricName", "configure_logging", "logger", "metrics", "tracer"]

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)

# An invocation that skipped everything has no metrics to publish; that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# What a person reading the text lines does not need on every line (the JSON lines keep them all).
_TEXT_HIDDEN = frozenset(
    {
        "level", "location", "message", "timestamp", "service", "cold_start", "function_name",
        "function_memory_size", "function_arn", "function_request_id", "xray_trace_id", "sampling_rate",
        "message_id",
    }
)  # fmt: skip


class ScrubbingFormatter(LambdaPowertoolsFormatter):
    """Powertools' structured log record, scrubbed of secrets, as a JSON line (``text = False``) or
    as one plain line for people: ``12:00:03 WARNING failed permanently  video_id=v1 error=...``."""

    text = False

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        if not self.text:
            return scrub(super().serialize(log))
        details = "  ".join(f"{key}={value}" for key, value in log.items() if key not in _TEXT_HIDDEN)
        line = f"{time.strftime('%H:%M:%S')} {log.get('level', '')} {log.get('message', '')}"
        return scrub(f"{line}  {details}" if details else line)


logger = Logger(
    service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr), logger_formatter=ScrubbingFormatter()
)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def configure_logging(level: str, text: bool) -> Callable[[], None]:
    """Set the log level and the line format; returns what restores the previous ones."""
    formatter = logger.registered_formatter
    previous_level, previous_text = logging.getLevelName(logger.log_level), getattr(formatter, "text", False)
    logger.setLevel(level)
    if isinstance(formatter, ScrubbingFormatter):
        formatter.text = text

    def restore() -> None:
        logger.setLevel(previous_level)
        if isinstance(formatter, ScrubbingFormatter):
            formatter.text = previous_text

    return restore
