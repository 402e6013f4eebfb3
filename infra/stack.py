"""The vidscribe stack: queues, secrets, functions (with schedule), observability.

Everything configurable comes from ``StackConfig`` (infra/config.py), read from CDK context.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import StackConfig
from infra.event_bus import let_emit, outcome_event_bus
from infra.lambdas import PipelineFunctions
from infra.observability import PipelineObservability
from infra.queues import PipelineQueues
from infra.secrets import PipelineSecrets


class VidscribeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=(
                "vidscribe: scheduled fetch -> SQS -> transcriber Lambda (MAX_WORKERS) -> DLQ -> failure records"
            ),
            **kwargs,
        )
        self.config = config
        Tags.of(self).add("project", "vidscribe")

        self.queues = PipelineQueues(self, "Queues", config=config)
        self.secrets = PipelineSecrets(self, "Secrets", config=config)
        self.functions = PipelineFunctions(
            self, "Functions", config=config, queues=self.queues, secrets=self.secrets
        )
        self.event_bus = outcome_event_bus(self, config)
        if self.event_bus is not None:
            let_emit(self.event_bus, (self.functions.transcriber, self.functions.dlq_consumer))
        self.observability = PipelineObservability(
            self, "Observability", config=config, queues=self.queues, functions=self.functions
        )

        outputs = {
            "QueueUrl": (self.queues.main.queue_url, "Work queue (aws sqs send-message --queue-url ...)"),
            "DeadLetterQueueUrl": (self.queues.dlq.queue_url, "Dead-letter queue"),
            "AlarmTopicArn": (self.observability.topic.topic_arn, "SNS topic the alarms notify"),
            "DashboardName": (self.observability.dashboard.dashboard_name, "CloudWatch dashboard"),
            "FetcherFunctionName": (self.functions.fetcher.function_name, "Fetcher Lambda"),
            "TranscriberFunctionName": (self.functions.transcriber.function_name, "Transcriber Lambda"),
            "DlqConsumerFunctionName": (self.functions.dlq_consumer.function_name, "DLQ consumer Lambda"),
            "ScheduleRuleName": (self.functions.schedule.rule_name, "EventBridge rule running the fetcher"),
            **{
                f"{name}LogGroup": (fn.log_group.log_group_name, f"{name} logs (aws logs tail ... --follow)")
                for name, fn in self.functions.all.items()
            },
        }
        if self.secrets.openai is not None:
            outputs["OpenAiSecretArn"] = (self.secrets.openai.secret_arn, "Secret holding the OpenAI API key")
        if self.secrets.database is not None:
            outputs["DatabaseSecretArn"] = (self.secrets.database.secret_arn, "Secret holding the PostgreSQL URL")
        if self.event_bus is not None:
            outputs["EventBusArn"] = (self.event_bus.event_bus_arn, "EventBridge bus the outcome events go to")
        network = self.functions.network
        if network is not None and config.creates_security_group:
            group = network.security_groups[0]
            outputs["FunctionsSecurityGroupId"] = (group.security_group_id, "The functions' security group")
        outputs["DatabaseConnectionBudget"] = (
            str(config.database_connection_budget), "Database connections the functions hold at most"
        )
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
