"""Fills in what the environment leaves out with the embedded default services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import SecretStr

from ..adapters.sqs import ensure_queue_pair, sqs_client
from ..config import Settings
from ..errors import ConfigurationError
from .embedded import MotoSqsServer, start_embedded_postgres, vidscribe_home

LOCAL_QUEUE_NAME = "vidscribe"
# moto's server scans the whole queue on every call: a shallow queue keeps each call cheap.
EMBEDDED_QUEUE_HIGH_WATER = 20


def with_database(settings: Settings) -> Settings:
    """DATABASE_URL (or its secret) when given, else the embedded PostgreSQL under VIDSCRIBE_HOME."""
    if settings.database_url is not None or settings.database_secret_arn:
        return settings
    url = start_embedded_postgres(vidscribe_home() / "pgdata")
    return settings.replace(database_url=SecretStr(url))


@contextmanager
def with_queues(settings: Settings) -> Iterator[tuple[Settings, bool]]:
    """QUEUE_URL/DLQ_URL when given, else a local SQS endpoint for the duration of the block.

    Yields the completed settings and whether the queues are embedded (and so start empty). Each
    run's embedded queue has a name of its own: the jobs an earlier run left on its queue then name
    another queue, and the fetcher sends them again at once.
    """
    if settings.queue_url:
        if not settings.dlq_url:
            raise ConfigurationError(
                "QUEUE_URL is set but DLQ_URL is not: set DLQ_URL to its dead-letter queue "
                "('vidscribe queues create' makes the pair)"
            )
        yield settings, False
        return
    if settings.dlq_url:
        raise ConfigurationError("DLQ_URL is set but QUEUE_URL is not: set both, or neither for the embedded queue")
    # moto accepts any credentials, but boto3 insists on having some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    server = MotoSqsServer().start()
    try:
        local = settings.replace(
            aws_endpoint_url=server.endpoint_url,
            queue_high_water=settings.queue_high_water or EMBEDDED_QUEUE_HIGH_WATER,
        )
        pair = ensure_queue_pair(
            sqs_client(local),
            f"{LOCAL_QUEUE_NAME}-{uuid.uuid4().hex[:8]}",
            visibility_timeout=settings.visibility_timeout_seconds,
        )
        yield local.replace(queue_url=pair.queue_url, dlq_url=pair.dlq_url), True
    finally:
        server.stop()
