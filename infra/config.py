"""The stack's configuration: CDK context (cdk.json, or ``-c key=value``) read into one typed object.

Every knob has a default in cdk.json; values given on the command line arrive as strings, so a pydantic
model parses and range-checks each one (its alias is the context key), and a bad value stops
``cdk synth`` with a message that names the key. The rules that encode the design's constraints live
here too, in one place (``check_rules``):

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
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from vidscribe.config import WHISPER_MODEL_NAMES, Settings
from vidscribe.contract import (
    EVENT_BUS_PATTERN,
    S3_BUCKET_PATTERN,
    VIDEOS_TABLE_PATTERN,
    lambda_vcpus,
    queue_high_water,
)
from vidscribe.errors import ConfigurationError

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
BUCKET_RE = re.compile(rf"^{S3_BUCKET_PATTERN}$")
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


# ---- how context values arrive: `-c key=value` gives strings, cdk.json gives JSON values ----------
def _whole_number(value: object) -> object:
    # A JSON true is not 1 worker, and 2.5 workers are not 2: only whole numbers (5, 5.0, "5").
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError("expected an integer") from None
    return value


def _names(value: object) -> object:
    # A list in cdk.json, or "a,b" on the command line.
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list or a comma-separated string")
    return tuple(str(item).strip() for item in value if str(item).strip())


Count = Annotated[int, BeforeValidator(_whole_number)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
LogLevel = Annotated[str, BeforeValidator(lambda value: str(value).upper())]


class StackConfig(BaseModel):
    """Each field is read from the context key its alias names; ``check_rules`` holds the rules
    that span several keys."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", coerce_numbers_to_str=True)

    stack_name: str = Field("Vidscribe", alias="stackName")
    # --- work --------------------------------------------------------------------------------------
    # No lower bound here: check_rules explains why fewer than 2 workers cannot be deployed.
    max_workers: Count = Field(2, alias="maxWorkers", le=MAX_WORKERS)
    schedule: str = Field("rate(15 minutes)", alias="schedule")
    schedule_enabled: bool = Field(True, alias="scheduleEnabled")
    # None: derived (see fetch_high_water). The fastest a worker gets through one video, fetch and
    # transcription included: what the high-water mark assumes.
    fetch_batch_size: Count | None = Field(None, alias="fetchBatchSize", ge=1, le=MAX_HIGH_WATER)
    queue_high_water: Count | None = Field(None, alias="queueHighWater", ge=1, le=MAX_HIGH_WATER)
    min_video_seconds: Count = Field(30, alias="minVideoSeconds", ge=1, le=3600)
    # --- transcriber -------------------------------------------------------------------------------
    transcriber: str = Field("openai", alias="transcriber")
    # OpenAI shuts whisper-1 and the gpt-4o models down on 2027-02-26.
    openai_model: str = Field("gpt-transcribe", alias="openaiModel")
    openai_base_url: str | None = Field(None, alias="openaiBaseUrl")
    transcriber_batch_size: Count = Field(1, alias="transcriberBatchSize", ge=1, le=10)
    # from_context: 10,240 for transcriber=local
    transcriber_memory_mb: Count = Field(OPENAI_TRANSCRIBER_MEMORY_MB, alias="transcriberMemoryMb", ge=128, le=10_240)
    transcriber_timeout_seconds: Count = Field(900, alias="transcriberTimeoutSeconds", ge=60, le=LAMBDA_MAX_TIMEOUT)
    retry_backoff_seconds: Count = Field(60, alias="retryBackoffSeconds", ge=0, le=SQS_MAX_VISIBILITY)
    max_media_bytes: Count = Field(4 * 1024**3, alias="maxMediaBytes", ge=1, le=10**13)
    max_duration_seconds: Count = Field(4 * 3600, alias="maxDurationSeconds", ge=1, le=10**7)
    videos_table: str | None = Field(None, alias="videosTable")
    # The transcriber's LANGUAGE, TASK and KEYWORDS (unset: the core's defaults), checked by Settings.
    language: str | None = Field(None, alias="language")
    task: str | None = Field(None, alias="task")
    keywords: Names = Field((), alias="keywords")
    # S3 buckets whose objects the transcriber may read (s3://bucket/key sources): s3:GetObject on
    # exactly these, to the transcriber only.
    media_buckets: Names = Field((), alias="mediaBuckets")
    # The EventBridge bus that hears of every final outcome: None (no events), "create" (the stack
    # creates "<stackName>-events") or an existing bus's name or ARN ("default": the account's own).
    event_bus: str | None = Field(None, alias="eventBus", pattern=EVENT_BUS_PATTERN)
    # --- other functions ---------------------------------------------------------------------------
    fetcher_memory_mb: Count = Field(512, alias="fetcherMemoryMb", ge=128, le=10_240)
    fetcher_timeout_seconds: Count = Field(120, alias="fetcherTimeoutSeconds", ge=10, le=LAMBDA_MAX_TIMEOUT)
    dlq_consumer_memory_mb: Count = Field(512, alias="dlqConsumerMemoryMb", ge=128, le=10_240)
    dlq_consumer_timeout_seconds: Count = Field(60, alias="dlqConsumerTimeoutSeconds", ge=10, le=LAMBDA_MAX_TIMEOUT)
    log_level: LogLevel = Field("INFO", alias="logLevel")
    log_retention_days: Count = Field(30, alias="logRetentionDays", ge=1, le=3653)
    # --- queues ------------------------------------------------------------------------------------
    main_queue_retention_days: Count = Field(4, alias="mainQueueRetentionDays", ge=1, le=13)
    dlq_retention_days: Count = Field(14, alias="dlqRetentionDays", ge=2, le=14)
    # --- the database -----------------------------------------------------------------------------
    # TLS: verify-rds (verify-full against the RDS CAs shipped in the layer: RDS, Aurora, RDS Proxy),
    # verify-system (verify-full against the system CAs: a database with a public certificate), or
    # url (whatever the URL's sslmode says).
    database_tls: str = Field("verify-rds", alias="databaseTls")
    # IAM database authentication (RDS or RDS Proxy) instead of a URL with a password in a secret.
    database_iam_auth: bool = Field(False, alias="databaseIamAuth")
    database_host: str | None = Field(None, alias="databaseHost")  # e.g. an RDS Proxy endpoint
    database_port: Count = Field(5432, alias="databasePort", ge=1, le=65535)
    database_user: str | None = Field(None, alias="databaseUser")
    database_name: str | None = Field(None, alias="databaseName")
    # db-XXXX (instance) or prx-XXXX (proxy), for rds-db:connect
    database_iam_resource_id: str | None = Field(None, alias="databaseIamResourceId")
    # --- networking ------------------------------------------------------------------------------
    vpc_id: str | None = Field(None, alias="vpcId")
    subnet_ids: Names = Field((), alias="subnetIds")
    # None given: the stack creates one, egress in code. Also read from securityGroupIds.
    security_group_ids: Names = Field((), alias="securityGroupId")
    # The stack's group may reach it (ingress added) ...
    database_security_group_id: str | None = Field(None, alias="databaseSecurityGroupId")
    database_cidr: str | None = Field(None, alias="databaseCidr")  # ... or: where the database is, for egress
    # Interface endpoints for SQS, Secrets Manager, CloudWatch Logs, X-Ray.
    vpc_endpoints: bool = Field(False, alias="vpcEndpoints")
    nat_subnet_id: str | None = Field(None, alias="natSubnetId")  # a public subnet: a NAT gateway there ...
    route_table_ids: Names = Field((), alias="routeTableIds")  # ... and these route tables through it
    # --- secrets (existing ARNs; created empty when absent) ----------------------------------------
    database_secret_arn: str | None = Field(None, alias="databaseSecretArn")
    openai_secret_arn: str | None = Field(None, alias="openaiSecretArn")
    # --- alarms ------------------------------------------------------------------------------------
    alarm_email: str | None = Field(None, alias="alarmEmail")
    oldest_message_alarm_seconds: Count = Field(3 * 3600, alias="oldestMessageAlarmSeconds", ge=60, le=14 * 86_400)
    # --- build -------------------------------------------------------------------------------------
    layer_dir: str = Field(".package/layer", alias="layerDir")
    # transcriber=local: the image's build context (make package-image)
    image_dir: str = Field(".package/image", alias="imageDir")
    # transcriber=local: the named model baked in (base or tiny.en) or a CTranslate2 model directory
    whisper_model: str = Field("base", alias="whisperModel")
    whisper_model_dir: str | None = Field(None, alias="whisperModelDir")
    functions_dir: str = Field("functions", alias="functionsDir")
    nag: bool = Field(True, alias="nag")

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
        assert seconds is not None  # check_rules(): a cron schedule needs queueHighWater
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
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = _given(get(key))
            if value is None and name == "security_group_ids":
                value = _given(get("securityGroupIds"))
            if value is not None:
                values[key] = value
        if "transcriberMemoryMb" not in values and values.get("transcriber") == "local":
            values["transcriberMemoryMb"] = LOCAL_TRANSCRIBER_MEMORY_MB
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_problem(exc, values)) from None

    @model_validator(mode="after")
    def _rules_hold(self) -> StackConfig:
        self.check_rules()
        return self

    def check_rules(self) -> None:
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
        self._validate_transcription_hints()
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

    def _validate_transcription_hints(self) -> None:
        # The core's own rules (a language Whisper knows, an English-only model asked for English,
        # keywords gpt-transcribe accepts), so that a bad value stops the synth, not every cold start.
        hints = {"LANGUAGE": self.language, "TASK": self.task, "KEYWORDS": ",".join(self.keywords) or None}
        given = {name: value for name, value in hints.items() if value is not None}
        if not given:
            return
        try:
            Settings.from_env({"TRANSCRIBER": self.transcriber, "WHISPER_MODEL": self.whisper_model, **given})
        except ConfigurationError as exc:
            raise ConfigError(f"language, task, keywords: {exc}") from None

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


def _given(value: Any) -> Any:
    """A context value, or None where it means "not given" (blank, none, null)."""
    if isinstance(value, str):
        value = value.strip()
        if value == "" or value.lower() in ("none", "null"):
            return None
    return value


def _problem(exc: ValidationError, values: dict[str, Any]) -> str:
    """The first problem, naming its context key (and the value given: context holds no secrets)."""
    error = exc.errors()[0]
    if isinstance(error.get("ctx", {}).get("error"), ConfigError):
        return str(error["ctx"]["error"])  # check_rules' own message names its keys
    message = str(error["msg"]).removeprefix("Value error, ")
    key = str(error["loc"][0]) if error["loc"] else ""
    return f"{key}={values.get(key)!r}: {message}" if key else message
