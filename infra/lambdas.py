"""The three functions, the shared dependencies layer, their IAM roles, event sources and the schedule.

    EventBridge schedule -> Fetcher --SendMessage--> WorkQueue -> Transcriber --(2 receives)--> DLQ
                                                                                      DLQ -> DlqConsumer

Packaging: the handlers (``functions/<name>/``, handler ``app.handler``) are tiny per-function assets;
the vidscribe core and every third-party dependency are one layer built by infra/package_lambdas.py
(~193 MB unzipped of Lambda's 250 MB, ~63 MB zipped: PyAV's FFmpeg libraries and numpy are most of it;
boto3 is left to the runtime). One layer for all
three because the transcriber needs all of it anyway (it sets the 250 MB budget), the core is shared,
and a single artifact is published once per change instead of three near-identical copies. With
``transcriber=local`` the transcriber is a container-image function instead (infra/transcriber_image.py:
faster-whisper and a model do not fit in 250 MB); the fetcher and the DLQ consumer stay on the layer.

Least privilege: each function has its own role with exactly
  * write access to its own log group (no AWS managed policy, no logs:* on every group),
  * X-Ray PutTraceSegments/PutTelemetryRecords, alone in a separate policy (these actions have no
    resource-level permissions, so that policy is the one place with Resource "*"),
  * the queue actions it uses on the one queue it uses, and
  * secretsmanager:GetSecretValue/DescribeSecret on the secrets it reads (only the transcriber reads the
    OpenAI key, and with ``transcriber=local`` there is none). The transcriber cannot send messages; the
    fetcher cannot receive or delete them.
  * s3:GetObject on the objects of the ``mediaBuckets`` (if any), for the transcriber alone, in a policy
    of its own (s3:// sources).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cfn import l1
from infra.config import DLQ_CONSUMER_MAX_CONCURRENCY, FETCHER_CONCURRENCY, ConfigError, StackConfig
from infra.environment import settings_environment, variable
from infra.lambda_packaging import resolve
from infra.network import PipelineNetwork
from infra.queues import PipelineQueues
from infra.secrets import PipelineSecrets
from infra.transcriber_image import RDS_CA_IN_IMAGE, image_package, local_backend_environment
from vidscribe.contract import METRICS_NAMESPACE, RDS_CA_BUNDLE_FILE, SERVICE_NAME

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
HANDLER = "app.handler"
# Not shipped with a handler: caches, and sample events/tests that may sit beside it.
ASSET_EXCLUDE = ["__pycache__", "*.pyc", "*.pyo", "events", "tests", "*.md"]
DLQ_CONSUMER_BATCH_SIZE = 10
SECRET_CACHE_SECONDS = 300


RUNTIME_REASON = (
    "Pinned to python3.12 on purpose: the dependencies layer is built for exactly this ABI "
    "(pip --python-version 3.12 in infra/package_lambdas.py, smoke-imported with CPython 3.12). "
    "Move the runtime and the layer build together."
)
XRAY_REASON = (
    "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so AWS requires Resource '*' for them. This policy holds nothing else; every other "
    "statement of the role names its exact log group, queue or secret."
)
MEDIA_BUCKETS_REASON = (
    "s3:GetObject on every object of a bucket the operator listed in mediaBuckets: the transcriber reads "
    "s3://bucket/key sources whose keys come from the videos table, so the grant is per bucket; it is read "
    "only, to the transcriber only, and names each bucket exactly."
)
VPC_POLICY_REASON = (
    "Only when the functions run in the database's VPC: AWSLambdaVPCAccessExecutionRole is the AWS-"
    "maintained minimum (ec2 network-interface create/describe/delete/assign) that Lambda needs to attach "
    "to the given subnets; those EC2 actions do not support resource-level scoping either."
)


class PipelineFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        queues: PipelineQueues,
        secrets: PipelineSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config

        # A directory asset (CDK zips it on publish): `sam local invoke` against cdk.out can then mount
        # it at /opt like Lambda does; a pre-built zip would be copied into the container unopened.
        layer_dir = resolve(config.layer_dir)
        if not (layer_dir / "python").is_dir():
            raise ConfigError(
                f"layerDir: {layer_dir / 'python'} does not exist. Build the dependencies layer first: "
                "`make package` (python infra/package_lambdas.py)."
            )
        self.layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="vidscribe core + third-party dependencies (infra/package_lambdas.py)",
        )

        self.network = PipelineNetwork(self, "Network", config=config) if config.uses_vpc else None
        self._vpc_props = self.network.function_props if self.network else {}
        common = self._common_environment(config, secrets)
        self.fetcher, self.schedule = self._fetcher(config, queues, common)
        self.transcriber, self.transcriber_source = self._transcriber(config, queues, secrets, common)
        self.dlq_consumer = self._dlq_consumer(config, queues, common)
        for fn in self.all.values():
            self._grant_database(fn, config, secrets)

    def _common_environment(self, config: StackConfig, secrets: PipelineSecrets) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            "LOG_LEVEL": config.log_level,
            # Transcripts and video URLs must not end up in X-Ray segment metadata.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_PARAMETERS_MAX_AGE": str(SECRET_CACHE_SECONDS),
            **self._database_environment(config, secrets),
            **settings_environment(
                max_workers=config.max_workers,
                # When a queued video counts as lost and may be queued again (the fetcher's skip rule and
                # the transcriber's retry bookkeeping must agree): the work queue's retention.
                queued_lease_seconds=config.queued_lease_seconds,
                videos_table=config.videos_table or None,
            ),
        }

    def _fetcher(
        self, config: StackConfig, queues: PipelineQueues, common: dict[str, str]
    ) -> tuple[lambda_.Function, events.Rule]:
        """schedule -> database -> SendMessage"""
        fetcher = self._function(
            "Fetcher",
            package=self._zip_package("Fetcher", "fetcher"),
            description="vidscribe: queue videos that still need a transcript (EventBridge schedule)",
            memory_mb=config.fetcher_memory_mb,
            timeout_s=config.fetcher_timeout_seconds,
            environment={
                **common,
                **settings_environment(
                    queue_url=queues.main.queue_url,
                    fetch_batch_size=config.fetch_limit,
                    queue_high_water=config.fetch_high_water,
                ),
            },
            # The next scheduled run is the retry; Lambda's own async retries would only triple the work.
            retry_attempts=0,
            # One run at a time: one database connection, whoever invokes it.
            reserved_concurrency=FETCHER_CONCURRENCY,
        )
        queues.main.grant_send_messages(fetcher)  # SendMessage + GetQueueAttributes (depth)
        schedule = events.Rule(
            self,
            "Schedule",
            description="vidscribe: run the fetcher",
            schedule=events.Schedule.expression(config.schedule),
            enabled=config.schedule_enabled,
        )
        schedule.add_target(targets.LambdaFunction(fetcher, retry_attempts=2, max_event_age=Duration.minutes(10)))
        return fetcher, schedule

    def _transcriber(
        self, config: StackConfig, queues: PipelineQueues, secrets: PipelineSecrets, common: dict[str, str]
    ) -> tuple[lambda_.Function, sources.SqsEventSource]:
        """WorkQueue -> stream, transcribe, store"""
        environment = {**common, **self._transcriber_environment(config, queues)}
        if config.transcriber == "local":
            # A container image: faster-whisper, CTranslate2, the VAD and the model (~0.7 GB) with the
            # core, self-contained; the CA bundle sits in /var/task there, not in the layer's /opt.
            package, manifest = image_package(config)
            environment |= local_backend_environment(config, manifest)
            if variable("database_sslrootcert") in environment and config.database_tls == "verify-rds":
                environment[variable("database_sslrootcert")] = RDS_CA_IN_IMAGE
        else:
            assert secrets.openai is not None  # created or imported unless transcriber=local
            package = self._zip_package("Transcriber", "transcriber")
            environment |= settings_environment(
                transcriber=config.transcriber,
                openai_api_key_secret_arn=secrets.openai.secret_arn,
                openai_model=config.openai_model,
                openai_base_url=config.openai_base_url or None,
            )
        transcriber = self._function(
            "Transcriber",
            package=package,
            description="vidscribe: stream a video's audio and transcribe it (SQS work queue)",
            memory_mb=config.transcriber_memory_mb,
            timeout_s=config.transcriber_timeout_seconds,
            environment=environment,
            reserved_concurrency=config.transcriber_reserved_concurrency,
        )
        source = sources.SqsEventSource(
            queues.main,
            batch_size=config.transcriber_batch_size,
            report_batch_item_failures=True,
            # == reserved concurrency: the poller never scales past what Lambda will run (DESIGN.md trap).
            max_concurrency=config.event_source_max_concurrency,
        )
        # Consume = ReceiveMessage, DeleteMessage, ChangeMessageVisibility (the retry backoff),
        # GetQueueAttributes, GetQueueUrl on the work queue only.
        transcriber.add_event_source(source)
        if secrets.openai is not None:
            secrets.openai.grant_read(transcriber)
        if config.media_buckets:
            self._grant_media_buckets(transcriber, config.media_buckets)
        return transcriber, source

    @staticmethod
    def _transcriber_environment(config: StackConfig, queues: PipelineQueues) -> dict[str, str]:
        return settings_environment(
            queue_url=queues.main.queue_url,
            retry_backoff_seconds=config.retry_backoff_seconds,
            # A worker owns a video for as long as Lambda can possibly run it.
            processing_lease_seconds=config.transcriber_timeout_seconds,
            # The time budget's ceiling (Lambda's context gives the clock; this names the timeout).
            transcriber_timeout_seconds=config.transcriber_timeout_seconds,
            allow_private_urls=False,
            max_media_bytes=config.max_media_bytes,
            max_duration_seconds=config.max_duration_seconds,
            fetch_total_timeout_seconds=config.fetch_total_timeout_seconds,
            # What the model is told to expect (unset: it detects the language, transcribes, no keywords).
            language=config.language,
            task=config.task,
            keywords=config.keywords or None,
        )

    def _dlq_consumer(self, config: StackConfig, queues: PipelineQueues, common: dict[str, str]) -> lambda_.Function:
        """DLQ -> failure records"""
        consumer = self._function(
            "DlqConsumer",
            package=self._zip_package("DlqConsumer", "dlq_consumer"),
            description="vidscribe: write a failure record for every message in the dead-letter queue",
            memory_mb=config.dlq_consumer_memory_mb,
            timeout_s=config.dlq_consumer_timeout_seconds,
            environment={**common, **settings_environment(dlq_url=queues.dlq.queue_url)},
        )
        consumer.add_event_source(
            sources.SqsEventSource(
                queues.dlq,
                batch_size=DLQ_CONSUMER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=DLQ_CONSUMER_MAX_CONCURRENCY,
            )
        )
        return consumer

    @property
    def all(self) -> dict[str, lambda_.Function]:
        return {"Fetcher": self.fetcher, "Transcriber": self.transcriber, "DlqConsumer": self.dlq_consumer}

    # ---------------------------------------------------------------------------------------------
    def _grant_media_buckets(self, transcriber: lambda_.Function, buckets: tuple[str, ...]) -> None:
        """s3:GetObject on the objects of exactly these buckets, for the transcriber only."""
        stack = Stack.of(self)
        arns = [stack.format_arn(service="s3", region="", account="", resource=b, resource_name="*") for b in buckets]
        role = transcriber.role
        assert role is not None
        policy = iam.Policy(
            self,
            "TranscriberMediaBucketsPolicy",
            roles=[role],
            statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=arns)],
        )
        # The function waits for this grant too (like for its other policies): the first video may be on S3.
        policies = [role.node.find_child("DefaultPolicy"), self.node.find_child("TranscriberTracingPolicy"), policy]
        l1(transcriber).add_override("DependsOn", [stack.get_logical_id(l1(p)) for p in policies])
        for bucket in buckets:
            Validations.of(l1(policy)).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/*]",
                    reason=MEDIA_BUCKETS_REASON,
                )
            )

    def _database_environment(self, config: StackConfig, secrets: PipelineSecrets) -> dict[str, str]:
        """How every function reaches PostgreSQL: one connection per instance, verified TLS, and a
        URL from the secret (by ARN only; resolved at cold start) or IAM authentication."""
        variables = settings_environment(database_pool_size=1)
        if config.database_tls != "url":
            variables |= settings_environment(
                database_sslmode="verify-full",
                database_sslrootcert=f"/opt/{RDS_CA_BUNDLE_FILE}" if config.database_tls == "verify-rds" else "system",
            )
        if config.database_iam_auth:
            assert config.database_host and config.database_user and config.database_name  # validated
            variables |= settings_environment(
                database_iam_auth=True,
                database_host=config.database_host,
                database_port=config.database_port,
                database_user=config.database_user,
                database_name=config.database_name,
            )
        else:
            assert secrets.database is not None  # created or imported unless IAM authentication
            variables |= settings_environment(database_secret_arn=secrets.database.secret_arn)
        return variables

    def _grant_database(self, fn: lambda_.Function, config: StackConfig, secrets: PipelineSecrets) -> None:
        if secrets.database is not None:
            secrets.database.grant_read(fn)
        if config.database_iam_auth:
            # rds-db:connect as exactly this user on exactly this instance, cluster or proxy.
            stack = Stack.of(self)
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["rds-db:connect"],
                    resources=[
                        f"arn:{stack.partition}:rds-db:{stack.region}:{stack.account}:dbuser:"
                        f"{config.database_iam_resource_id}/{config.database_user}"
                    ],
                )
            )

    def _zip_package(self, name: str, folder: str) -> dict[str, Any]:
        """The function properties of a zip function: its handler's folder on the shared layer."""
        source = resolve(self._config.functions_dir) / folder
        if not source.is_dir():
            raise ConfigError(f"functionsDir: {source} does not exist (expected the {name} handler's folder)")
        return {
            "runtime": RUNTIME,
            "handler": HANDLER,
            "code": lambda_.Code.from_asset(str(source), exclude=ASSET_EXCLUDE),
            "layers": [self.layer],
        }

    def _function(
        self,
        name: str,
        *,
        package: dict[str, Any],
        description: str,
        memory_mb: int,
        timeout_s: int,
        environment: dict[str, str],
        reserved_concurrency: int | None = None,
        retry_attempts: int | None = None,
    ) -> lambda_.Function:
        config = self._config
        log_group = logs.LogGroup(self, f"{name}Logs", removal_policy=RemovalPolicy.DESTROY)
        # The L2 only takes the RetentionDays enum; the value was validated against CloudWatch's list.
        l1(log_group, logs.CfnLogGroup).retention_in_days = config.log_retention_days

        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"vidscribe {name}: its own log group, traces, and the queue/secret actions it uses",
        )
        log_group.grant_write(role)  # logs:CreateLogStream, logs:PutLogEvents on this group only
        if config.uses_vpc:
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )
            Validations.of(l1(role)).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaVPCAccessExecutionRole]",
                    reason=VPC_POLICY_REASON,
                )
            )

        fn = lambda_.Function(
            self,
            name,
            description=description,
            architecture=ARCHITECTURE,
            **package,
            role=role,
            log_group=log_group,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            environment=environment,
            reserved_concurrent_executions=reserved_concurrency,
            retry_attempts=retry_attempts,
            **self._vpc_props,
        )
        # Active X-Ray tracing. Set on the L1 rather than with `tracing=Tracing.ACTIVE`, which would add
        # the X-Ray statement (Resource "*") to the role's default policy, where acknowledging cdk-nag's
        # IAM5[Resource::*] would also hide any future wildcard on a queue or secret. Here the wildcard
        # lives alone in its own policy, and only that policy carries the acknowledgment.
        l1(fn, lambda_.CfnFunction).tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        tracing = iam.Policy(
            self,
            f"{name}TracingPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
            ],
        )
        # CDK makes a function depend on its role *and* the role's policies. The role is already implied
        # by the Role GetAtt: cfn-lint warns (W3005), and `sam validate --lint` fails on any warning.
        # Keep exactly the policies, which must exist before Lambda checks the event source's access.
        stack = Stack.of(self)
        policies = [role.node.find_child("DefaultPolicy"), tracing]
        l1(fn).add_override("DependsOn", [stack.get_logical_id(l1(p)) for p in policies])
        Validations.of(l1(tracing)).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=XRAY_REASON)
        )
        if package["runtime"] is RUNTIME:  # an image function has no runtime for L1 to judge
            # On the CfnFunction itself, so the acknowledgment covers nothing else under the construct.
            Validations.of(l1(fn)).acknowledge(Acknowledgment(id="AwsSolutions-L1", reason=RUNTIME_REASON))
        return fn
