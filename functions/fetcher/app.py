"""Fetcher Lambda (EventBridge schedule): queue a batch of videos that still need a transcript.

The handler (vidscribe.handlers) runs with this execution environment's services; its notice says
"not configured yet" once per environment.
"""

from __future__ import annotations

from vidscribe.handlers import fetcher_handler
from vidscribe.services import environment_services

handler = fetcher_handler(environment_services)
