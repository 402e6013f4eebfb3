"""The work queue and its dead-letter queue.

* One retry = SQS redrive with ``maxReceiveCount = 2``: the first failed attempt comes back (after the
  transcriber shortens its visibility to the configured backoff), the second goes to the DLQ.
* The main queue's visibility timeout is 6x the transcriber's timeout (AWS's guidance for Lambda event
  sources), so a message is never redelivered while a worker may still be transcribing it.
* The DLQ keeps messages 14 days, longer than the main queue: SQS keeps a redriven message's original
  enqueue time, so a shorter-lived DLQ would expire failures before the DLQ consumer records them.
* Both queues are encrypted at rest with SQS-managed keys (SSE-SQS: no key policy for EventBridge or
  Lambda to get wrong, no per-request KMS cost) and their policies deny any request not made over TLS.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StackConfig
from vidscribe.contract import MAX_RECEIVE_COUNT


class PipelineQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)

        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=Duration.days(config.dlq_retention_days),
            visibility_timeout=Duration.seconds(config.dlq_visibility_seconds),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.main = sqs.Queue(
            self,
            "WorkQueue",
            retention_period=Duration.days(config.main_queue_retention_days),
            visibility_timeout=Duration.seconds(config.main_queue_visibility_seconds),
            receive_message_wait_time=Duration.seconds(20),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=MAX_RECEIVE_COUNT),
            removal_policy=RemovalPolicy.DESTROY,
        )
