"""Transcriber Lambda: SQS batch in, one transcript per message, partial batch failures out.

Parse and report (vidscribe.handlers); the decisions are in ``vidscribe.workflow.Transcriber``. The
same module is the zip function's handler (on the layer) and the container image's (``app.handler``
at the root of /var/task, transcriber=local).
"""

from __future__ import annotations

import os

from vidscribe.handlers import transcriber_handler
from vidscribe.observability import logger
from vidscribe.services import environment_services

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, at import = the init phase, once per execution environment: load the local model now
    # rather than inside the first video's time. If that fails, the error is logged and each record
    # fails as it would without the warm-up (batch item failures, the DLQ, a failure record): the
    # start itself does not crash.
    try:
        environment_services().warm_up()
    except Exception:
        logger.exception("warm-up failed; each record will report the error")

handler = transcriber_handler(environment_services)
