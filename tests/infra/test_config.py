"""The context rules, checked without synthesizing (fast): defaults, CLI-string parsing, rejections."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, StackConfig
from tests.infra.helpers import CUSTOM_CONTEXT, cdk_json_context


def config(**overrides) -> StackConfig:
    ctx = {**cdk_json_context(), **overrides}
    return StackConfig.from_context(ctx.get)


def test_cdk_json_defaults_are_the_documented_defaults():
    # Given cdk.json as shipped / When it is read / Then it equals the dataclass defaults, so the code,
    # cdk.json and docs/deploy.md describe the same deployment.
    assert config() == StackConfig()
    cfg = config()
    assert (cfg.max_workers, cfg.schedule, cfg.schedule_enabled) == (2, "rate(15 minutes)", True)
    assert (cfg.transcriber, cfg.openai_model) == ("openai", "whisper-1")
    assert cfg.transcriber_timeout_seconds <= 900
    assert cfg.database_secret_arn is None and cfg.openai_secret_arn is None and cfg.alarm_email is None


def test_command_line_strings_are_parsed():
    cfg = config(**CUSTOM_CONTEXT)
    assert cfg.max_workers == 5 and cfg.schedule_enabled is False
    assert cfg.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
    assert cfg.security_group_ids == ("sg-0123456789abcdef0",)
    assert cfg.log_level == "DEBUG"
    assert cfg.main_queue_visibility_seconds == 6 * 600


@pytest.mark.parametrize("workers", [1, "1", 0])
def test_fewer_than_two_workers_is_rejected_with_the_reason(workers):
    # Decision: reject, do not silently deploy 2 workers when 1 was asked for.
    with pytest.raises(ConfigError) as err:
        config(maxWorkers=workers)
    msg = str(err.value)
    assert "maxWorkers" in msg and "at least 2" in msg
    assert "MaximumConcurrency" in msg and "dead-letter queue" in msg


def test_the_app_refuses_one_worker_before_synthesizing(stand_in_layer):
    from infra.app import build_app

    with pytest.raises(ConfigError, match="maxWorkers=1: must be at least 2"):
        build_app(context={**cdk_json_context(), "layerDir": str(stand_in_layer), "maxWorkers": "1"})


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"maxWorkers": 1001}, "maxWorkers"),
        ({"transcriberTimeoutSeconds": 901}, "transcriberTimeoutSeconds"),
        ({"transcriberBatchSize": 11}, "transcriberBatchSize"),
        ({"schedule": "every 15 minutes"}, "schedule"),
        ({"scheduleEnabled": "maybe"}, "scheduleEnabled"),
        ({"transcriber": "local"}, "transcriber"),
        ({"databaseSecretArn": "my-secret"}, "databaseSecretArn"),
        ({"openaiSecretArn": "arn:aws:ssm:eu-west-1:123456789012:parameter/x"}, "openaiSecretArn"),
        ({"databaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db"}, "complete"),
        ({"vpcId": "vpc-0123456789abcdef0"}, "vpcId and subnetIds"),
        ({"alarmEmail": "not-an-address"}, "alarmEmail"),
        ({"dlqRetentionDays": 4}, "dlqRetentionDays"),
        ({"logRetentionDays": 31}, "logRetentionDays"),
        ({"openaiBaseUrl": "ftp://x"}, "openaiBaseUrl"),
        ({"fetchBatchSize": "many"}, "fetchBatchSize"),
    ],
)
def test_bad_values_name_their_context_key(overrides, key):
    with pytest.raises(ConfigError, match=key):
        config(**overrides)


@pytest.mark.parametrize("expr", ["rate(1 hour)", "rate(5 minutes)", "cron(0/15 * * * ? *)", "rate(1 day)"])
def test_schedule_expressions_accepted(expr):
    high_water = {"queueHighWater": 40} if expr.startswith("cron") else {}
    assert config(schedule=expr, **high_water).schedule == expr


def test_a_cron_schedule_needs_an_explicit_high_water_mark():
    # A cron() expression has no interval to size the queue from: the error says what to give.
    with pytest.raises(ConfigError, match="queueHighWater"):
        config(schedule="cron(0/15 * * * ? *)")


def test_missing_layer_says_how_to_build_it(tmp_path):
    from infra.app import build_app

    with pytest.raises(ConfigError, match="make package"):
        build_app(context={**cdk_json_context(), "layerDir": str(tmp_path / "nope")})


def test_media_buckets_are_bucket_names():
    assert config(mediaBuckets="a-bucket, b.bucket").media_buckets == ("a-bucket", "b.bucket")
    assert config(mediaBuckets=["one-bucket"]).media_buckets == ("one-bucket",)
    assert config().media_buckets == ()
    for bad in ("s3://a-bucket", "arn:aws:s3:::a-bucket", "Upper_Case", "ab"):
        with pytest.raises(ConfigError, match="mediaBuckets"):
            config(mediaBuckets=bad)
