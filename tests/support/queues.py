"""Queue helpers for the tests and benchmarks."""

from __future__ import annotations

import uuid


def unique_queue_name(prefix: str = "vidscribe") -> str:
    """A queue name no other test uses (the tests share one SQS endpoint)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
