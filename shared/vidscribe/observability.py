"""The process-wide Powertools logger, metrics and tracer, shared by the handlers and the core.

Logs are JSON lines on stderr (Lambda sends both streams to CloudWatch; locally stdout stays free for
the CLI's output). ``video_id`` is appended per record with the thread-safe keys, because the local
runtime runs several handler invocations at once in one process.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

from .contract import METRICS_NAMESPACE, SERVICE_NAME, MetricName

__all__ = ["MetricName", "logger", "metrics", "tracer"]

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)

# An invocation that skipped everything has no metrics to publish; that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
