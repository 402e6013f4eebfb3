"""SQS adapter for the Queue and PolledQueue ports (boto3; any SQS-compatible endpoint through AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from ..config import Settings
from ..contract import MAX_RECEIVE_COUNT
from ..errors import ConfigurationError
from ..models import ReceivedMessage

SQS_BATCH_LIMIT = 10  # SendMessageBatch / DeleteMessageBatch take at most ten entries
MAIN_RETENTION_SECONDS = 4 * 24 * 3600  # SQS's default; the fetcher re-sends what outlives it
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum: a dead letter waits for its consumer

CREDENTIALS_HINT = (
    "no AWS credentials for SQS: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); "
    "against an emulator at AWS_ENDPOINT_URL any values work"
)
_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
_CREDENTIALS_REFUSED = (
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidSecurity",
    "ExpiredToken", "AccessDenied", "AccessDeniedException", "AuthFailure",
)  # fmt: skip


def sqs_client(settings: Settings, *, fail_fast: bool = False) -> Any:
    """A boto3 SQS client for AWS_ENDPOINT_URL (or AWS). Short timeouts and few retries: a worker
    should notice a dead endpoint, not hang on it; ``fail_fast`` (checking the configuration at
    start) tries once, within about two seconds."""
    if fail_fast:
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    else:
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    return boto3.client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=config
    )


def sqs_problem(exc: BaseException, settings: Settings, variable: str = "QUEUE_URL") -> str | None:
    """One line that says what to fix for an SQS error (``variable``: the queue URL in use), or
    None when the error says nothing about the configuration."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CREDENTIALS_HINT
    where = settings.aws_endpoint_url or f"SQS in {settings.aws_region}"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        if settings.aws_endpoint_url:
            endpoint = settings.aws_endpoint_url
            return f"AWS_ENDPOINT_URL: cannot connect to {endpoint}: is the SQS endpoint running there?"
        return f"cannot reach {where}: check the network and AWS_REGION, or set AWS_ENDPOINT_URL for an emulator"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NO_QUEUE:
            return (
                f"{variable}: no such queue at {where}: create the queues with 'vidscribe queues create' and set "
                "QUEUE_URL and DLQ_URL to what it prints"
            )
        if code in _CREDENTIALS_REFUSED:
            return (
                f"SQS at {where} refused the AWS credentials ({code}): check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            )
    return None


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, bodies: Sequence[str]) -> int:
        sent = 0
        for start in range(0, len(bodies), SQS_BATCH_LIMIT):
            chunk = bodies[start : start + SQS_BATCH_LIMIT]
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
            response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            sent += len(response.get("Successful", []))
            if response.get("Failed"):
                failed = response["Failed"]
                raise RuntimeError(f"SQS refused {len(failed)} of {len(chunk)} messages: {failed[0].get('Message')}")
        return sent

    def receive(self, max_messages: int = 1, wait_seconds: int = 0) -> list[ReceivedMessage]:
        response = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(max_messages, SQS_BATCH_LIMIT)),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        return [
            ReceivedMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in response.get("Messages", [])
        ]

    def delete(self, receipt_handles: Sequence[str]) -> None:
        for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
            chunk = receipt_handles[start : start + SQS_BATCH_LIMIT]
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
            self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def depth(self) -> tuple[int, int]:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def arn(self) -> str:
        attributes = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]
        return str(attributes["QueueArn"])


@dataclass(frozen=True)
class QueuePair:
    queue_url: str
    dlq_url: str
    queue_arn: str
    dlq_arn: str
    created: bool  # False: both existed, and their attributes were brought up to date
    encrypted: bool  # server-side encryption (SQS-managed keys), where the endpoint supports it


def ensure_queue_pair(
    client: Any, name: str, *, visibility_timeout: int, max_receive_count: int = MAX_RECEIVE_COUNT
) -> QueuePair:
    """Create a main queue and its dead-letter queue (``<name>-dlq``) with redrive, or bring the
    existing ones' attributes up to date: running it twice changes nothing. Encrypted with
    SQS-managed keys where the endpoint accepts the attribute.

    ``vidscribe queues create``, the embedded queue and the tests use it; in AWS the CDK stack
    creates the queues.
    """
    dlq_url, dlq_created, encrypted = _ensure_queue(
        client, f"{name}-dlq", {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
    )
    dlq_arn = _arn(client, dlq_url)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    attributes = {
        "VisibilityTimeout": str(visibility_timeout),
        "MessageRetentionPeriod": str(MAIN_RETENTION_SECONDS),
        "RedrivePolicy": redrive,
    }
    queue_url, queue_created, queue_encrypted = _ensure_queue(client, name, attributes)
    created = dlq_created or queue_created
    return QueuePair(queue_url, dlq_url, _arn(client, queue_url), dlq_arn, created, encrypted and queue_encrypted)


def create_queue_pair(
    client: Any, name: str, *, visibility_timeout: int, max_receive_count: int = MAX_RECEIVE_COUNT
) -> tuple[str, str]:
    """:func:`ensure_queue_pair`, as (queue url, dlq url)."""
    pair = ensure_queue_pair(client, name, visibility_timeout=visibility_timeout, max_receive_count=max_receive_count)
    return pair.queue_url, pair.dlq_url


def _arn(client: Any, url: str) -> str:
    return str(client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _ensure_queue(client: Any, name: str, attributes: dict[str, str]) -> tuple[str, bool, bool]:
    """(url, created, encrypted) of the queue ``name`` with ``attributes``."""
    try:
        url = str(client.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) not in _NO_QUEUE:
            raise
        url = None
    if url is not None:
        current = client.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"]).get("Attributes", {})
        if current.get("KmsMasterKeyId"):  # encrypted with a KMS key already: leave that to its owner
            client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
            return url, False, True
    for encrypted in (True, False):
        wanted = {**attributes, "SqsManagedSseEnabled": "true"} if encrypted else attributes
        try:
            if url is None:
                return str(client.create_queue(QueueName=name, Attributes=wanted)["QueueUrl"]), True, encrypted
            # CreateQueue refuses other attributes than the existing queue's: set them instead.
            client.set_queue_attributes(QueueUrl=url, Attributes=wanted)
            return url, False, encrypted
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if not encrypted or code not in ("InvalidAttributeName", "InvalidAttributeValue", "UnsupportedOperation"):
                raise
    raise AssertionError("unreachable")


def check_queue_pair(client: Any, settings: Settings) -> None:
    """ConfigurationError naming the variable to fix unless QUEUE_URL and DLQ_URL are reachable
    queues and QUEUE_URL redrives to DLQ_URL after MAX_RECEIVE_COUNT receives (the one retry)."""
    found: dict[str, dict[str, str]] = {}
    for variable, url in (("QUEUE_URL", settings.queue_url), ("DLQ_URL", settings.dlq_url)):
        try:
            found[variable] = client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]
            )["Attributes"]
        except Exception as exc:
            problem = sqs_problem(exc, settings, variable)
            if problem is None:
                raise
            raise ConfigurationError(problem) from None
    redrive = json.loads(found["QUEUE_URL"].get("RedrivePolicy") or "{}")
    if redrive.get("deadLetterTargetArn") != found["DLQ_URL"]["QueueArn"]:
        target = redrive.get("deadLetterTargetArn") or "no dead-letter queue"
        raise ConfigurationError(
            f"QUEUE_URL redrives to {target}, not to DLQ_URL ({found['DLQ_URL']['QueueArn']}): set DLQ_URL to its "
            "dead-letter queue, or make the pair with 'vidscribe queues create'"
        )
    if str(redrive.get("maxReceiveCount")) != str(MAX_RECEIVE_COUNT):
        raise ConfigurationError(
            f"QUEUE_URL's redrive policy has maxReceiveCount {redrive.get('maxReceiveCount')}; vidscribe's one "
            f"retry needs {MAX_RECEIVE_COUNT} ('vidscribe queues create' sets it)"
        )
