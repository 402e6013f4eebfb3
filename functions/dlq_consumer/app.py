"""DLQ-consumer Lambda: every message that exhausted its retry becomes a persistent failure record.

The handler (vidscribe.handlers) runs with this execution environment's services.
"""

from __future__ import annotations

from vidscribe.handlers import dlq_consumer_handler
from vidscribe.services import environment_services

handler = dlq_consumer_handler(environment_services)
