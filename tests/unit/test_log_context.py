"""Each handler invocation of the local runtime logs its own Lambda context, as Lambda would give it.

Powertools' inject_lambda_context writes the context keys into the logger's process-wide keys; in the
local runtime several handlers run at once in one process, so without care every line carried the
context of whichever invocation started last (the fetcher's name and ARN).
"""

from __future__ import annotations

import io
import json
import logging
import threading

from vidscribe.local.lambda_emulation import invoke
from vidscribe.observability import logger


def test_concurrent_handlers_each_log_their_own_context() -> None:
    # Given two handlers that both start before either logs
    both_started = threading.Barrier(2)

    @logger.inject_lambda_context
    def handler(event, context):
        both_started.wait(5)
        logger.info("working", extra={"who": event["who"]})
        return {"request_id": context.aws_request_id}

    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    previous = logger.log_level
    logger.setLevel("INFO")
    results: dict[str, str] = {}

    def call(name: str) -> None:
        results[name] = invoke(handler, {"who": name}, name)["request_id"]

    try:
        # When they run at once, as the runtime runs the transcriber and the DLQ consumer
        names = ("vidscribe-transcriber", "vidscribe-dlq-consumer")
        threads = [threading.Thread(target=call, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logger.removeHandler(capture)
        logger.setLevel(previous)

    # Then each line carries its own function's name, ARN and request id
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if '"working"' in line]
    assert len(lines) == 2
    for line in lines:
        name = line["who"]
        assert line["function_name"] == name
        assert line["function_arn"].endswith(f":function:{name}")
        assert line["function_request_id"] == results[name]
