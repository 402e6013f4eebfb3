"""The stack's configuration: CDK context (cdk.json, or ``-c key=value``) read into one typed object.

Every knob has a default in cdk.json; values given on the command line arrive as strings, so each one
is parsed and range-checked here, and a bad value stops ``cdk synth`` with a message that names the
context key. The rules that encode the design's constraints live here too, in one place:

* ``maxWorkers`` >= 2. The SQS event source's ``ScalingConfig.MaximumConcurrency`` cannot be below 2,
  and a reserved concurrency below the event source's concurrency makes Lambda throttle deliveries;
  a throttled delivery still counts as a receive, so with ``maxReceiveCount = 2`` messages would reach
  the dead-letter queue without ever running. Rather than silently deploying 2 workers when 1 was
  asked for (breaking the "hard cap" promise), maxWorkers < 2 is rejected.
* ``transcriber`` is ``openai`` (or any OpenAI-compatible server through ``openaiBaseUrl``), a zip
  function on the layer, or ``local``: faster-whisper and its model do not fit in Lambda's 250 MB
  beside PyAV and numpy, so the transcriber becomes a container-image function (infra/package_image.py
  builds its tree with ``whisperModel``, base by default; ``whisperModelDir`` bakes in another
  model). Its memory defaults to 10,240 MB there
  (6 vCPUs for the model; 2,048 MB for the OpenAI client), and the OpenAI-only keys are refused.
* ``transcriberTimeoutSeconds`` <= 900 (Lambda's ceiling); the main queue's visibility timeout is
  derived from it (6x), never configured separately.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vidscribe.config import WHISPER_MODEL_NAMES
from vidscribe.contract import EVENT_BUS_PATTERN, VIDEOS_TABLE_PATTERN, lambda_vcpus, queue_high_water

MIN_WORKERS = 2  # SQS event source ScalingConfig.MaximumConcurrency minimum
MAX_WORKERS = 1000  # SQS event source ScalingConfig.MaximumConcurrency maximum
LAMBDA_MAX_TIMEOUT = 900
VISIBILITY_TIMEOUT_FACTOR = 6
SQS_MAX_VISIBILITY = 43_200

# A complete ARN ends with the 6 random characters Secrets Manager appends to the name; a partial one
# would make the IAM grant name a secret that does not exist (AccessDenied at run time).
SECRET_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$"
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SCHEDULE_RE = re.compile(r"^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
RATE_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
MAX_HIGH_WATER = 100_000
FETCHER_CONCURRENCY = 1  # the fetcher's reserved concurrency: one connection, one run at a time
DLQ_CONSUMER_MAX_CONCURRENCY = 2  # the SQS event source's minimum maximum concurrency
DATABASE_TLS_MODES = ("verify-rds", "verify-system", "url")
TRANSCRIBERS = ("openai", "local")
# transcriberMemoryMb when not given: the OpenAI client decodes and re-encodes audio; the local model
# transcribes it, and Lambda's CPU grows with memory up to 6 vCPUs at 10,240 MB.
OPENAI_TRANSCRIBER_MEMORY_MB = 2048
LOCAL_TRANSCRIBER_MEMORY_MB = 10_240
# The local model (~300 MB) beside the decoded audio (64 KB a second: 4 hours are ~0.9 GB).
MIN_LOCAL_TRANSCRIBER_MEMORY_MB = 2048
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)


class ConfigError(ValueError):
    """A context value that cannot be deployed; the message names the cdk.json key."""


@dataclass(frozen=True)
class StackConfig:
    stack_name: str = "Vidscribe"
    # --- work --------------------------------------------------------------------------------------
    max_workers: int = 2
    schedule: str = "rate(15 minutes)"
    schedule_enabled: bool = True
    # None: derived (see fetch_high_water). The fastest a worker gets through one video, fetch and
    # transcription included: what the high-water mark assumes.
    fetch_batch_size: int | None = None
    queue_high_water: int | None = None
    min_video_seconds: int = 30
    # --- transcriber -------------------------------------------------------------------------------
    transcriber: str = "openai"
    openai_model: str = "gpt-transcribe"  # OpenAI shuts whisper-1 and the gpt-4o models down on 2027-02-26
    openai_base_url: str | None = None
    transcriber_batch_size: int = 1
    transcriber_memory_mb: int = OPENAI_TRANSCRIBER_MEMORY_MB  # from_context: 10,240 for transcriber=local
    transcriber_timeout_seconds: int = 900
    retry_backoff_seconds: int = 60
    max_media_bytes: int = 4 * 1024**3
    max_duration_seconds: int = 4 * 3600
    videos_table: str | None = None
    # S3 buckets whose objects the transcriber may read (s3://bucket/key sources): s3:GetObject on
    # exactly these, to the transcriber only.
    media_buckets: tuple[str, ...] = ()
    # The EventBridge bus that hears of every final outcome: None (no events), "create" (the stack
    # creates "<stackName>-events") or an existing bus's name or ARN ("default": the account's own).
    event_bus: str | None = None
    # --- other functions ---------------------------------------------------------------------------
    fetcher_memory_mb: int = 512
    fetcher_timeout_seconds: int = 120
    dlq_consumer_memory_mb: int = 512
    dlq_consumer_timeout_seconds: int = 60
    log_level: str = "INFO"
    log_retention_days: int = 30
    # --- queues ------------------------------------------------------------------------------------
    main_queue_retention_days: int = 4
    dlq_retention_days: int = 14
    # --- the database -----------------------------------------------------------------------------
    # TLS: verify-rds (verify-full against the RDS CAs shipped in the layer: RDS, Aurora, RDS Proxy),
    # verify-system (verify-full against the system CAs: a database with a public certificate), or
    # url (whatever the URL's sslmode says).
    database_tls: str = "verify-rds"
    # IAM database authentication (RDS or RDS Proxy) instead of a URL with a password in a secret.
    database_iam_auth: bool = False
    database_host: str | None = None  # e.g. an RDS Proxy endpoint
    database_port: int = 5432
    database_user: str | None = None
    database_name: str | None = None
    database_iam_resource_id: str | None = None  # db-XXXX (instance) or prx-XXXX (proxy), for rds-db:connect
    # --- networking ------------------------------------------------------------------------------
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()  # none given: the stack creates one, egress in code
    database_security_group_id: str | None = None  # the stack's group may reach it (ingress added)
    database_cidr: str | None = None  # or: where the database is, for the egress rule
    vpc_endpoints: bool = False  # interface endpoints for SQS, Secrets Manager, CloudWatch Logs, X-Ray
    nat_subnet_id: str | None = None  # a public subnet: create a NAT gateway there ...
    route_table_ids: tuple[str, ...] = ()  # ... and route these (the functions' subnets') through it
    # --- secrets (existing ARNs; created empty when absent) ----------------------------------------
    database_secret_arn: str | None = None
    openai_secret_arn: str | None = None
    # --- alarms ------------------------------------------------------------------------------------
    alarm_email: str | None = None
    oldest_message_alarm_seconds: int = 3 * 3600
    # --- build -------------------------------------------------------------------------------------
    layer_dir: str = ".package/layer"
    image_dir: str = ".package/image"  # transcriber=local: the image's build context (make package-image)
    whisper_model: str = "base"  # transcriber=local: the named model baked in (base or tiny.en) ...
    whisper_model_dir: str | None = None  # ... or a CTranslate2 Whisper model directory instead
    functions_dir: str = "functions"
    nag: bool = True

    # ---- derived values (the numbers the tests check) ---------------------------------------------
    @property
    def event_source_max_concurrency(self) -> int:
        return self.max_workers

    @property
    def transcriber_reserved_concurrency(self) -> int:
        # Equal to the event source's maximum concurrency: never below it (the throttling trap).
        return self.max_workers

    @property
    def transcriber_cpu_threads(self) -> int:
        """The local model's CPU threads: the vCPUs Lambda gives transcriberMemoryMb (1 to 6)."""
        return lambda_vcpus(self.transcriber_memory_mb)

    @property
    def main_queue_visibility_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.transcriber_timeout_seconds

    @property
    def dlq_visibility_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.dlq_consumer_timeout_seconds

    @property
    def queued_lease_seconds(self) -> int:
        # A queued video is re-queued by the fetcher only once its message could have expired.
        return self.main_queue_retention_days * 86_400

    @property
    def fetch_total_timeout_seconds(self) -> int:
        # A download that is still running this close to the Lambda timeout cannot finish in time:
        # fail the attempt cleanly (retry with backoff, then a failure record) instead of being killed
        # by the timeout (a Lambda error, and the message waits out the whole visibility timeout).
        return max(60, self.transcriber_timeout_seconds - 120)

    @property
    def uses_vpc(self) -> bool:
        return self.vpc_id is not None

    @property
    def schedule_seconds(self) -> int | None:
        """The interval of a rate() schedule in seconds; None for cron()."""
        match = RATE_RE.match(self.schedule)
        if match is None:
            return None
        return int(match.group(1)) * RATE_UNIT_SECONDS[match.group(2).rstrip("s")]

    @property
    def fetch_high_water(self) -> int:
        """Messages the fetcher keeps waiting: queueHighWater, or enough for every worker until the
        next run at minVideoSeconds per video (vidscribe.contract.queue_high_water)."""
        if self.queue_high_water is not None:
            return self.queue_high_water
        seconds = self.schedule_seconds
        assert seconds is not None  # validate(): a cron schedule needs queueHighWater
        return min(MAX_HIGH_WATER, queue_high_water(self.max_workers, seconds, self.min_video_seconds))

    @property
    def fetch_limit(self) -> int:
        """Videos one fetcher run queues at most: fetchBatchSize, or the whole high-water mark."""
        return self.fetch_batch_size if self.fetch_batch_size is not None else self.fetch_high_water

    @property
    def database_connection_budget(self) -> int:
        """Connections the stack can hold at once: one per Lambda instance (DATABASE_POOL_SIZE=1) for
        maxWorkers transcribers, one fetcher (reserved concurrency 1) and the DLQ consumer's maximum."""
        return self.max_workers + FETCHER_CONCURRENCY + DLQ_CONSUMER_MAX_CONCURRENCY

    @property
    def creates_security_group(self) -> bool:
        return self.uses_vpc and not self.security_group_ids

    # ---- parsing ----------------------------------------------------------------------------------
    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> StackConfig:
        """Build from a context getter (``node.try_get_context``); missing keys take the defaults."""
        d = cls()
        transcriber = _str(get, "transcriber", d.transcriber)
        memory_default = LOCAL_TRANSCRIBER_MEMORY_MB if transcriber == "local" else OPENAI_TRANSCRIBER_MEMORY_MB
        cfg = cls(
            stack_name=_str(get, "stackName", d.stack_name),
            max_workers=_int(get, "maxWorkers", d.max_workers, 1, MAX_WORKERS),
            schedule=_str(get, "schedule", d.schedule),
            schedule_enabled=_bool(get, "scheduleEnabled", d.schedule_enabled),
            fetch_batch_size=_opt_int(get, "fetchBatchSize", 1, MAX_HIGH_WATER),
            queue_high_water=_opt_int(get, "queueHighWater", 1, MAX_HIGH_WATER),
            min_video_seconds=_int(get, "minVideoSeconds", d.min_video_seconds, 1, 3600),
            transcriber=transcriber,
            openai_model=_str(get, "openaiModel", d.openai_model),
            openai_base_url=_opt_str(get, "openaiBaseUrl"),
            transcriber_batch_size=_int(get, "transcriberBatchSize", d.transcriber_batch_size, 1, 10),
            transcriber_memory_mb=_int(get, "transcriberMemoryMb", memory_default, 128, 10_240),
            transcriber_timeout_seconds=_int(get, "transcriberTimeoutSeconds", d.transcriber_timeout_seconds,
                                             60, LAMBDA_MAX_TIMEOUT),
            retry_backoff_seconds=_int(get, "retryBackoffSeconds", d.retry_backoff_seconds, 0, SQS_MAX_VISIBILITY),
            max_media_bytes=_int(get, "maxMediaBytes", d.max_media_bytes, 1, 10**13),
            max_duration_seconds=_int(get, "maxDurationSeconds", d.max_duration_seconds, 1, 10**7),
            videos_table=_opt_str(get, "videosTable"),
            media_buckets=_list(get, "mediaBuckets"),
            event_bus=_opt_str(get, "eventBus"),
            fetcher_memory_mb=_int(get, "fetcherMemoryMb", d.fetcher_memory_mb, 128, 10_240),
            fetcher_timeout_seconds=_int(get, "fetcherTimeoutSeconds", d.fetcher_timeout_seconds, 10,
                                         LAMBDA_MAX_TIMEOUT),
            dlq_consumer_memory_mb=_int(get, "dlqConsumerMemoryMb", d.dlq_consumer_memory_mb, 128, 10_240),
            dlq_consumer_timeout_seconds=_int(get, "dlqConsumerTimeoutSeconds", d.dlq_consumer_timeout_seconds,
                                              10, LAMBDA_MAX_TIMEOUT),
            log_level=_str(get, "logLevel", d.log_level).upper(),
            log_retention_days=_int(get, "logRetentionDays", d.log_retention_days, 1, 3653),
            main_queue_retention_days=_int(get, "mainQueueRetentionDays", d.main_queue_retention_days, 1, 13),
            dlq_retention_days=_int(get, "dlqRetentionDays", d.dlq_retention_days, 2, 14),
            database_tls=_str(get, "databaseTls", d.database_tls),
            database_iam_auth=_bool(get, "databaseIamAuth", d.database_iam_auth),
            database_host=_opt_str(get, "databaseHost"),
            database_port=_int(get, "databasePort", d.database_port, 1, 65535),
            database_user=_opt_str(get, "databaseUser"),
            database_name=_opt_str(get, "databaseName"),
            database_iam_resource_id=_opt_str(get, "databaseIamResourceId"),
            vpc_id=_opt_str(get, "vpcId"),
            subnet_ids=_list(get, "subnetIds"),
            security_group_ids=_list(get, "securityGroupId") or _list(get, "securityGroupIds"),
            database_security_group_id=_opt_str(get, "databaseSecurityGroupId"),
            database_cidr=_opt_str(get, "databaseCidr"),
            vpc_endpoints=_bool(get, "vpcEndpoints", d.vpc_endpoints),
            nat_subnet_id=_opt_str(get, "natSubnetId"),
            route_table_ids=_list(get, "routeTableIds"),
            database_secret_arn=_opt_str(get, "databaseSecretArn"),
            openai_secret_arn=_opt_str(get, "openaiSecretArn"),
            alarm_email=_opt_str(get, "alarmEmail"),
            oldest_message_alarm_seconds=_int(get, "oldestMessageAlarmSeconds", d.oldest_message_alarm_seconds,
                                              60, 14 * 86_400),
            layer_dir=_str(get, "layerDir", d.layer_dir),
            image_dir=_str(get, "imageDir", d.image_dir),
            whisper_model=_str(get, "whisperModel", d.whisper_model),
            whisper_model_dir=_opt_str(get, "whisperModelDir"),
            functions_dir=_str(get, "functionsDir", d.functions_dir),
            nag=_bool(get, "nag", d.nag),
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not STACK_NAME_RE.match(self.stack_name):
            raise ConfigError(f"stackName {self.stack_name!r}: letters, digits and hyphens, starting with a letter")
        if self.max_workers < MIN_WORKERS:
            raise ConfigError(
                f"maxWorkers={self.max_workers}: must be at least {MIN_WORKERS}. The SQS event source's "
                f"MaximumConcurrency cannot be below {MIN_WORKERS}, and a reserved concurrency below it "
                "makes Lambda throttle deliveries, which count as receives: with maxReceiveCount=2 messages "
                "would reach the dead-letter queue without ever running. Use maxWorkers=2 (or run the "
                "local engine with MAX_WORKERS=1)."
            )
        if not SCHEDULE_RE.match(self.schedule):
            raise ConfigError(
                f"schedule {self.schedule!r}: expected an EventBridge expression such as 'rate(15 minutes)', "
                "'rate(1 hour)' or 'cron(0/15 * * * ? *)'"
            )
        self._validate_transcriber()
        if self.event_bus is not None and not re.match(EVENT_BUS_PATTERN, self.event_bus):
            raise ConfigError(
                f"eventBus {self.event_bus!r}: expected 'create', or an existing EventBridge bus's name or ARN"
            )
        if self.openai_base_url is not None and not self.openai_base_url.startswith(("https://", "http://")):
            raise ConfigError(f"openaiBaseUrl {self.openai_base_url!r}: must be an http(s) URL")
        if not self.openai_model.strip():
            raise ConfigError("openaiModel: must not be empty")
        if self.main_queue_visibility_seconds > SQS_MAX_VISIBILITY:  # unreachable with timeout <= 900
            raise ConfigError("transcriberTimeoutSeconds: 6x the timeout exceeds SQS's 12-hour visibility limit")
        if self.dlq_retention_days <= self.main_queue_retention_days:
            raise ConfigError(
                f"dlqRetentionDays={self.dlq_retention_days} must be longer than mainQueueRetentionDays="
                f"{self.main_queue_retention_days}: SQS keeps a redriven message's original enqueue time, so a "
                "DLQ that is not longer-lived would expire failed messages before they can be recorded"
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"logLevel {self.log_level!r}: one of {', '.join(LOG_LEVELS)}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError(f"logRetentionDays={self.log_retention_days}: CloudWatch accepts {LOG_RETENTION_DAYS}")
        for key, arn in (("databaseSecretArn", self.database_secret_arn), ("openaiSecretArn", self.openai_secret_arn)):
            if arn is not None and not SECRET_ARN_RE.match(arn):
                raise ConfigError(
                    f"{key} {arn!r}: expected a complete Secrets Manager ARN, "
                    "arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters> "
                    "(`aws secretsmanager describe-secret --secret-id <name> --query ARN`)"
                )
        if self.alarm_email is not None and not EMAIL_RE.match(self.alarm_email):
            raise ConfigError(f"alarmEmail {self.alarm_email!r}: not an e-mail address")
        self._validate_fetching()
        self._validate_database()
        self._validate_network()
        for bucket in self.media_buckets:
            if not BUCKET_RE.match(bucket) or ".." in bucket:
                raise ConfigError(
                    f"mediaBuckets: {bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots and "
                    "hyphens); give names, not ARNs or s3:// URLs"
                )
        if self.videos_table is not None and not re.match(VIDEOS_TABLE_PATTERN, self.videos_table):
            raise ConfigError(f"videosTable {self.videos_table!r}: a table or schema.table name")


    def _validate_transcriber(self) -> None:
        if self.transcriber not in TRANSCRIBERS:
            raise ConfigError(
                f"transcriber={self.transcriber!r}: 'openai' (the OpenAI API, or any compatible server through "
                "openaiBaseUrl) or 'local' (faster-whisper in a container-image function: make package-image)"
            )
        if self.transcriber == "local":
            openai_only = {"openaiBaseUrl": self.openai_base_url, "openaiSecretArn": self.openai_secret_arn}
            given = [key for key, value in openai_only.items() if value]
            if given:
                raise ConfigError(
                    f"{', '.join(given)}: transcriber=local sends no audio to an API and reads no API key; "
                    "drop them or use transcriber=openai"
                )
            if self.transcriber_memory_mb < MIN_LOCAL_TRANSCRIBER_MEMORY_MB:
                raise ConfigError(
                    f"transcriberMemoryMb={self.transcriber_memory_mb}: transcriber=local needs at least "
                    f"{MIN_LOCAL_TRANSCRIBER_MEMORY_MB} MB (the model beside up to maxDurationSeconds of decoded "
                    "audio); the default, 10240, also gives the model Lambda's 6 vCPUs"
                )
        elif self.whisper_model_dir is not None:
            raise ConfigError("whisperModelDir: only with transcriber=local (the model is baked into its image)")
        if self.whisper_model not in WHISPER_MODEL_NAMES:
            raise ConfigError(
                f"whisperModel={self.whisper_model}: give {' or '.join(WHISPER_MODEL_NAMES)} "
                "(or whisperModelDir for a model directory)"
            )

    def _validate_fetching(self) -> None:
        if self.queue_high_water is None and self.schedule_seconds is None:
            raise ConfigError(
                f"schedule {self.schedule!r}: with a cron() schedule give queueHighWater (how many videos to keep "
                "queued until the next run); it is derived only for rate() schedules"
            )

    def _validate_database(self) -> None:
        if self.database_tls not in DATABASE_TLS_MODES:
            raise ConfigError(f"databaseTls {self.database_tls!r}: one of {', '.join(DATABASE_TLS_MODES)}")
        if self.database_iam_auth:
            missing = [k for k, v in (("databaseHost", self.database_host), ("databaseUser", self.database_user),
                                      ("databaseName", self.database_name),
                                      ("databaseIamResourceId", self.database_iam_resource_id)) if not v]
            if missing:
                raise ConfigError(f"databaseIamAuth=true needs {', '.join(missing)}")
            if self.database_secret_arn is not None:
                raise ConfigError("databaseIamAuth=true and databaseSecretArn: choose one way to authenticate")
            if not re.match(r"^(db|prx|cluster)-[A-Za-z0-9]+$", self.database_iam_resource_id or ""):
                raise ConfigError(
                    f"databaseIamResourceId {self.database_iam_resource_id!r}: the DbiResourceId (db-...), "
                    "the cluster resource id (cluster-...) or the proxy id (prx-...)"
                )
            if self.database_tls == "url":
                raise ConfigError("databaseIamAuth=true needs a verified TLS connection: databaseTls=verify-rds")

    def _validate_network(self) -> None:
        if (self.vpc_id is None) != (not self.subnet_ids):
            raise ConfigError(
                "vpcId and subnetIds go together: give both (private subnets with a NAT gateway or VPC "
                "endpoints for SQS, Secrets Manager and CloudWatch, and a route to the media and the "
                "transcription API) or neither"
            )
        network_only = {
            "securityGroupId": self.security_group_ids,
            "databaseSecurityGroupId": self.database_security_group_id,
            "databaseCidr": self.database_cidr,
            "vpcEndpoints": self.vpc_endpoints,
            "natSubnetId": self.nat_subnet_id,
            "routeTableIds": self.route_table_ids,
        }
        given = [key for key, value in network_only.items() if value]
        if given and self.vpc_id is None:
            raise ConfigError(f"{', '.join(given)}: only with vpcId and subnetIds")
        ids = {
            "vpcId": ("vpc", [self.vpc_id] if self.vpc_id else []),
            "subnetIds": ("subnet", list(self.subnet_ids)),
            "natSubnetId": ("subnet", [self.nat_subnet_id] if self.nat_subnet_id else []),
            "securityGroupId": ("sg", list(self.security_group_ids)),
            "databaseSecurityGroupId": ("sg", [g for g in (self.database_security_group_id,) if g]),
            "routeTableIds": ("rtb", list(self.route_table_ids)),
        }
        for key, (prefix, values) in ids.items():
            for value in values:
                if not re.match(rf"^{prefix}-([0-9a-f]{{8}}|[0-9a-f]{{17}})$", value):
                    raise ConfigError(f"{key}: {value!r} is not an id of the form {prefix}-xxxxxxxx")
        if self.nat_subnet_id and not self.route_table_ids:
            raise ConfigError("natSubnetId needs routeTableIds: the route tables of subnetIds to send through the NAT")
        if self.creates_security_group and not (self.database_security_group_id or self.database_cidr):
            raise ConfigError(
                "the stack creates the functions' security group (no securityGroupId given): say where the "
                "database is with databaseSecurityGroupId (sg-...) or databaseCidr (10.0.0.0/16) for its egress rule"
            )
        if self.database_cidr is not None:
            try:
                ipaddress.ip_network(self.database_cidr)
            except ValueError:
                raise ConfigError(f"databaseCidr {self.database_cidr!r}: not a CIDR block") from None


# ---- context value parsing (values from `-c key=value` arrive as strings) --------------------------
def _raw(get: Callable[[str], Any], key: str) -> Any:
    value = get(key)
    if isinstance(value, str):
        value = value.strip()
        if value == "" or value.lower() in ("none", "null"):
            return None
    return value


def _str(get: Callable[[str], Any], key: str, default: str) -> str:
    value = _raw(get, key)
    return default if value is None else str(value)


def _opt_str(get: Callable[[str], Any], key: str) -> str | None:
    value = _raw(get, key)
    return None if value is None else str(value)


def _int(get: Callable[[str], Any], key: str, default: int, lo: int, hi: int) -> int:
    value = _raw(get, key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected an integer")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise ConfigError(f"{key}={value!r}: expected an integer")
    if number < lo and key == "maxWorkers":
        return number  # validate() explains why maxWorkers must be >= 2
    if not lo <= number <= hi:
        raise ConfigError(f"{key}={number}: expected {lo}..{hi}")
    return number


def _opt_int(get: Callable[[str], Any], key: str, lo: int, hi: int) -> int | None:
    return None if _raw(get, key) is None else _int(get, key, 0, lo, hi)


def _bool(get: Callable[[str], Any], key: str, default: bool) -> bool:
    value = _raw(get, key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{key}={value!r}: expected true or false")


def _list(get: Callable[[str], Any], key: str) -> tuple[str, ...]:
    value = _raw(get, key)
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        raise ConfigError(f"{key}={value!r}: expected a list or a comma-separated string")
    return tuple(i.strip() for i in items if i.strip())
