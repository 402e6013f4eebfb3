"""The CloudWatch dashboard and alarms, and the SNS topic the alarms notify.

Alarms (all notify the topic on ALARM and on OK):
  * DlqMessagesVisible  DLQ ApproximateNumberOfMessagesVisible > 0 (max over 1 minute). DESIGN.md: the
                        DLQ's NumberOfMessagesSent does not count redriven messages, so alarm on depth.
                        The DLQ consumer drains it quickly, so this fires when it is not keeping up.
  * DlqOldestMessage    DLQ ApproximateAgeOfOldestMessage > 30 min: the DLQ consumer keeps failing.
  * FailureRecords      Vidscribe FailureRecords > 0 (sum over 5 minutes): a video finally failed (or a
                        message was malformed) and a failure record was written; not racy like depth.
  * QueueOldestMessage  work queue ApproximateAgeOfOldestMessage > oldestMessageAlarmSeconds: the
                        backlog is not draining (keep it above queueHighWater x typical transcription
                        time / maxWorkers).
  * TranscriberErrors   Lambda Errors > 0: invocations that crashed or timed out (per-record failures are
                        reported as batchItemFailures and are not Lambda errors).
  * TranscriberThrottles Lambda Throttles > 0: must stay 0 with MaximumConcurrency = reserved
                        concurrency; throttles burn receives and send messages to the DLQ unprocessed.
  * TranscriberDurationNearTimeout  Lambda Duration (max over 5 minutes) > 80% of the timeout: longer
                        videos are about to be cut off.
  * BackendErrorRate    Vidscribe BackendErrors / (BackendErrors + VideosTranscribed) > 10% over 5
                        minutes: the transcription API is failing (rate limits, outage, revoked key).
  * FetcherErrors, DlqConsumerErrors: Lambda Errors > 0.

Every alarm's description ends with a runbook line: what to look at and what fixes it.

The topic is encrypted with a customer-managed KMS key (rotation on) whose policy lets CloudWatch use
it: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed aws/sns key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from infra.config import StackConfig
from infra.lambdas import PipelineFunctions
from infra.queues import PipelineQueues
from vidscribe.contract import CUSTOM_METRICS, METRICS_NAMESPACE, SERVICE_NAME, MetricName

__all__ = ["CUSTOM_METRICS", "PipelineObservability"]  # CUSTOM_METRICS: the names the dashboard reads

DLQ_AGE_ALARM_SECONDS = 1800
DURATION_ALARM_FRACTION = 0.8  # of the transcriber's timeout
BACKEND_ERROR_RATE_ALARM_PERCENT = 10
PERIOD = Duration.minutes(5)
OPENAI_BACKEND_RUNBOOK = (
    "read the failures' messages (`vidscribe failures`); check the API key secret, the provider's status "
    "page and its rate limits; lower maxWorkers if they are rate limits."
)
LOCAL_BACKEND_RUNBOOK = (
    "read the failures' messages (`vidscribe failures`) and the transcriber's logs: a model that cannot "
    "load logs 'warm-up failed' at each cold start (rebuild the image with `make package-image`); "
    "out-of-memory ends show as TranscriberErrors (raise transcriberMemoryMb)."
)


def product_metric(name: str, statistic: str = "Sum", label: str | None = None) -> cw.Metric:
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},  # Powertools' default dimension
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


@dataclass(frozen=True)
class Watched:
    """What the alarms watch: the stack's settings, its queues and its functions."""

    config: StackConfig
    queues: PipelineQueues
    functions: PipelineFunctions


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: above ``threshold`` for one period notifies the topic; the description ends with the
    runbook line (what to look at and what fixes it). Callables take what depends on the context."""

    name: str
    metric: Callable[[Watched], cw.IMetric]
    threshold: Callable[[StackConfig], float]
    description: Callable[[StackConfig], str]
    runbook: Callable[[StackConfig], str]


def _fixed(value: float | str) -> Callable[[StackConfig], Any]:
    return lambda _config: value


def _backend_description(config: StackConfig) -> str:
    cause = " (the self-hosted model)." if config.transcriber == "local" else " (rate limits, outages, a revoked key)."
    percent = BACKEND_ERROR_RATE_ALARM_PERCENT
    return f"More than {percent}% of transcription attempts failed in the transcription backend{cause}"


def _backend_error_rate(_watched: Watched) -> cw.IMetric:
    return cw.MathExpression(
        expression="100 * errors / (errors + transcribed)",
        using_metrics={
            "errors": product_metric(MetricName.BACKEND_ERRORS),
            "transcribed": product_metric(MetricName.TRANSCRIBED),
        },
        period=PERIOD,
        label="backend errors (% of attempts)",
    )


#: The alarms, in the order the dashboard's status widget lists them.
ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        "DlqMessagesVisible",
        lambda w: w.queues.dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ),
        _fixed(0),
        _fixed("Messages are waiting in the dead-letter queue: videos failed twice and the DLQ consumer has not "
               "recorded them yet."),
        _fixed("check the DlqConsumer's errors and logs; it drains the queue by itself once it works."),
    ),
    AlarmSpec(
        "DlqOldestMessage",
        lambda w: w.queues.dlq.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
        _fixed(DLQ_AGE_ALARM_SECONDS),
        _fixed("A dead-letter message is older than 30 minutes: the DLQ consumer keeps failing to write failure "
               "records."),
        _fixed("read the DlqConsumer's logs; usually the database secret or network; fix it and the messages are "
               "recorded on their next receive."),
    ),
    AlarmSpec(
        "FailureRecords",
        lambda _w: product_metric(MetricName.FAILURE_RECORDS),
        _fixed(0),
        _fixed("Failure records were written: videos failed after their retry, or messages were malformed."),
        _fixed("`vidscribe failures` lists them with their reason; `vidscribe retry-failed` queues them again once "
               "the cause is fixed."),
    ),
    AlarmSpec(
        "QueueOldestMessage",
        lambda w: w.queues.main.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
        lambda c: c.oldest_message_alarm_seconds,
        lambda c: f"The oldest queued video has waited more than {c.oldest_message_alarm_seconds} seconds: "
        "transcription is not keeping up or not running.",
        _fixed("check the transcriber's errors, throttles and concurrency; raise maxWorkers if it sits at "
               "maxWorkers with a backlog."),
    ),
    AlarmSpec(
        "TranscriberErrors",
        lambda w: w.functions.transcriber.metric_errors(period=PERIOD, statistic="Sum"),
        _fixed(0),
        _fixed("Transcriber invocations crashed or timed out (per-video failures are reported as batch item "
               "failures and do not count here)."),
        _fixed("read the transcriber's logs for the request ids; a timeout means a video needed more than "
               "transcriberTimeoutSeconds (see TranscriberDurationNearTimeout)."),
    ),
    AlarmSpec(
        "TranscriberThrottles",
        lambda w: w.functions.transcriber.metric_throttles(period=PERIOD, statistic="Sum"),
        _fixed(0),
        _fixed("The transcriber was throttled: throttled deliveries count as receives and can push messages to "
               "the DLQ unprocessed."),
        _fixed("compare the function's reserved concurrency with the event source's maximum concurrency (both "
               "must be maxWorkers) and the account's concurrency limit."),
    ),
    AlarmSpec(
        "TranscriberDurationNearTimeout",
        lambda w: w.functions.transcriber.metric_duration(period=PERIOD, statistic="Maximum"),
        lambda c: DURATION_ALARM_FRACTION * c.transcriber_timeout_seconds * 1000,
        lambda c: f"A transcription took over {DURATION_ALARM_FRACTION:.0%} of the "
        f"{c.transcriber_timeout_seconds} s timeout: longer videos will hit it.",
        _fixed("raise transcriberMemoryMb (more CPU for decoding) or lower maxDurationSeconds; videos that cannot "
               "finish in time fail as TimeBudgetExceeded."),
    ),
    AlarmSpec(
        "BackendErrorRate",
        _backend_error_rate,
        _fixed(BACKEND_ERROR_RATE_ALARM_PERCENT),
        _backend_description,
        lambda c: LOCAL_BACKEND_RUNBOOK if c.transcriber == "local" else OPENAI_BACKEND_RUNBOOK,
    ),
    AlarmSpec(
        "FetcherErrors",
        lambda w: w.functions.fetcher.metric_errors(period=PERIOD, statistic="Sum"),
        _fixed(0),
        _fixed("The scheduled fetcher failed."),
        _fixed("read its logs: usually the database (URL, network, TLS); until the database secret is set it "
               "reports 'not configured yet' instead of failing."),
    ),
    AlarmSpec(
        "DlqConsumerErrors",
        lambda w: w.functions.dlq_consumer.metric_errors(period=PERIOD, statistic="Sum"),
        _fixed(0),
        _fixed("The DLQ consumer crashed or timed out."),
        _fixed("read its logs; failed messages stay in the DLQ and are recorded once it works."),
    ),
)


class PipelineObservability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        queues: PipelineQueues,
        functions: PipelineFunctions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key, self.topic = self._notifications(config)
        watched = Watched(config, queues, functions)
        self.alarms: dict[str, cw.Alarm] = {}
        for spec in ALARMS:
            self._alarm(
                spec.name,
                spec.metric(watched),
                threshold=spec.threshold(config),
                description=spec.description(config),
                runbook=spec.runbook(config),
            )
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=config.stack_name,
            default_interval=Duration.hours(6),
            period_override=cw.PeriodOverride.AUTO,
        )
        self.dashboard.add_widgets(*self._summary_row(config))
        self.dashboard.add_widgets(*self._queue_row(config, queues))
        fns = functions.all
        self.dashboard.add_widgets(
            self._per_function("Invocations", fns, lambda f: f.metric_invocations(statistic="Sum")),
            self._per_function("Errors", fns, lambda f: f.metric_errors(statistic="Sum")),
            self._per_function("Throttles", fns, lambda f: f.metric_throttles(statistic="Sum")),
        )
        self.dashboard.add_widgets(*self._function_row(config, fns))
        self.dashboard.add_widgets(*self._product_row())

    def _notifications(self, config: StackConfig) -> tuple[kms.Key, sns.Topic]:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="vidscribe: encrypts the alarm topic (CloudWatch may use it to publish)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        topic = sns.Topic(self, "AlarmTopic", display_name="vidscribe alarms", master_key=key, enforce_ssl=True)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsCloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    },
                },
            )
        )
        if config.alarm_email:
            topic.add_subscription(subs.EmailSubscription(config.alarm_email))
        return key, topic

    def _summary_row(self, config: StackConfig) -> list[cw.IWidget]:
        return [
            cw.TextWidget(
                markdown=(
                    "# vidscribe\n"
                    f"Schedule `{config.schedule}` ({'enabled' if config.schedule_enabled else 'DISABLED'}) · "
                    f"maxWorkers **{config.max_workers}** (reserved concurrency = event source maximum "
                    f"concurrency) · transcriber **{config.transcriber}**, "
                    f"{config.transcriber_memory_mb} MB, timeout {config.transcriber_timeout_seconds} s · "
                    f"visibility {config.main_queue_visibility_seconds} s · maxReceiveCount 2"
                ),
                width=24,
                height=2,
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=3),
        ]

    @staticmethod
    def _queue_row(config: StackConfig, queues: PipelineQueues) -> list[cw.IWidget]:
        return [
            cw.GraphWidget(
                title="Work queue depth",
                left=[
                    queues.main.metric_approximate_number_of_messages_visible(label="waiting", statistic="Maximum"),
                    queues.main.metric_approximate_number_of_messages_not_visible(
                        label="in flight", statistic="Maximum"
                    ),
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Age of oldest message (s)",
                left=[
                    queues.main.metric_approximate_age_of_oldest_message(label="work queue", statistic="Maximum"),
                    queues.dlq.metric_approximate_age_of_oldest_message(label="DLQ", statistic="Maximum"),
                ],
                left_annotations=[
                    cw.HorizontalAnnotation(value=config.oldest_message_alarm_seconds, label="alarm")
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Dead-letter queue depth",
                left=[
                    queues.dlq.metric_approximate_number_of_messages_visible(label="waiting", statistic="Maximum"),
                    queues.dlq.metric_approximate_number_of_messages_not_visible(
                        label="being recorded", statistic="Maximum"
                    ),
                ],
                width=8,
            ),
        ]

    @staticmethod
    def _function_row(config: StackConfig, fns: dict[str, lambda_.Function]) -> list[cw.IWidget]:
        return [
            cw.GraphWidget(
                title="Duration (ms)",
                left=[
                    f.metric_duration(statistic=stat, label=f"{name} {stat}")
                    for name, f in fns.items()
                    for stat in ("p50", "p99", "Maximum")
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Concurrent executions",
                left=[
                    f.metric("ConcurrentExecutions", statistic="Maximum", label=name) for name, f in fns.items()
                ],
                left_annotations=[cw.HorizontalAnnotation(value=config.max_workers, label="maxWorkers")],
                width=12,
            ),
        ]

    @staticmethod
    def _product_row() -> list[cw.IWidget]:
        return [
            cw.GraphWidget(
                title="Videos",
                left=[
                    product_metric(MetricName.TRANSCRIBED, label="transcribed"),
                    product_metric(MetricName.WITHOUT_SPEECH, label="of which without speech"),
                    product_metric(MetricName.SKIPPED, label="skipped"),
                    product_metric(MetricName.FAILED, label="failed attempts"),
                    product_metric(MetricName.FAILURE_RECORDS, label="failure records"),
                    product_metric(MetricName.ENQUEUED, label="enqueued"),
                ],
                width=6,
            ),
            cw.GraphWidget(
                title="Audio seconds transcribed",
                left=[
                    product_metric(MetricName.AUDIO_SECONDS, label="audio seconds"),
                    product_metric(MetricName.SPEECH_SECONDS, label="speech seconds"),
                ],
                width=6,
            ),
            cw.GraphWidget(
                title="Bytes streamed",
                left=[product_metric(MetricName.BYTES_STREAMED, label="bytes")],
                width=6,
            ),
            cw.GraphWidget(
                title="Transcription latency (ms)",
                left=[product_metric(MetricName.LATENCY, statistic=s, label=s) for s in ("p50", "p90", "Maximum")],
                width=6,
            ),
        ]

    def _alarm(
        self, name: str, metric: cw.IMetric, *, threshold: float, description: str, runbook: str
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{description} Runbook: {runbook}",
        )
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm
        return alarm

    @staticmethod
    def _per_function(
        title: str, fns: dict[str, lambda_.Function], metric: Callable[[lambda_.Function], cw.Metric]
    ) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title, left=[metric(f).with_(label=name, period=PERIOD) for name, f in fns.items()], width=8
        )
