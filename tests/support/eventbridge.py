"""moto's EventBridge (on the suite's AWS endpoint) with a rule that delivers to an SQS queue, and a
front that makes PutEvents fail.

What a downstream consumer would deploy, in miniature: a bus, a rule matching ``source: vidscribe``
(the README's example pattern), an SQS queue as its target. Events are read back from that queue,
so a test sees exactly what a consumer would receive.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import requests

from tests.support.queues import unique_queue_name
from vidscribe.config import Settings

#: The rule a consumer of every vidscribe outcome deploys (README, "Events").
EVENT_PATTERN = {"source": ["vidscribe"], "detail-type": ["Transcript Ready", "Transcription Failed"]}
_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class BusToQueue:
    bus_name: str
    queue_url: str
    sqs: Any

    def received(self, count: int, wait_seconds: int = 10) -> list[dict[str, Any]]:
        """The next ``count`` events the rule delivered (long polls until they are there, or the wait is over)."""
        events: list[dict[str, Any]] = []
        for _ in range(wait_seconds):
            if len(events) >= count:
                break
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def nothing_more(self) -> bool:
        """Whether the queue holds no further event (one short long-poll)."""
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
        return not answer.get("Messages")


def bus_to_queue(settings: Settings) -> BusToQueue:
    """A fresh bus on the settings' endpoint whose one rule (``EVENT_PATTERN``) targets a fresh queue."""
    region, endpoint = settings.aws_region, settings.aws_endpoint_url
    events = boto3.client("events", region_name=region, endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name=region, endpoint_url=endpoint)
    bus_name = unique_queue_name("bus")
    events.create_event_bus(Name=bus_name)
    queue_url = sqs.create_queue(QueueName=unique_queue_name("consumer"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="vidscribe-outcomes", EventBusName=bus_name, EventPattern=json.dumps(EVENT_PATTERN))
    events.put_targets(
        Rule="vidscribe-outcomes", EventBusName=bus_name, Targets=[{"Id": "consumer", "Arn": queue_arn}]
    )
    return BusToQueue(bus_name, queue_url, sqs)


class PutEventsFaultFront:
    """Passes every request through to the endpoint, except PutEvents calls while faults are set:
    those get EventBridge's partial-failure answer (HTTP 200, ``FailedEntryCount`` 1, the entry's
    ``ErrorCode``) without reaching the bus.

        with PutEventsFaultFront(endpoint) as front:
            front.fail_next(2)  # the next two PutEvents calls refuse their entry
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.failures_left = 0
        self.error_code = "InternalFailure"
        self.put_events_calls = 0
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                if self.headers.get("X-Amz-Target", "").endswith(".PutEvents") and front._take_fault():
                    body = json.dumps(
                        {
                            "FailedEntryCount": 1,
                            "Entries": [{"ErrorCode": front.error_code, "ErrorMessage": "injected by the test"}],
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                resp = requests.post(front.upstream + self.path, headers=headers, data=data, timeout=30)
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _take_fault(self) -> bool:
        with self._lock:
            self.put_events_calls += 1
            if self.failures_left > 0:
                self.failures_left -= 1
                return True
            return False

    def fail_next(self, calls: int, error_code: str = "InternalFailure") -> None:
        with self._lock:
            self.failures_left, self.error_code = calls, error_code

    def __enter__(self) -> PutEventsFaultFront:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
