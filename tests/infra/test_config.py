"""The context rules, checked without synthesizing (fast): defaults, CLI-string parsing, rejections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import ConfigError, StackConfig
from tests.infra.helpers import CUSTOM_CONTEXT, REPO_ROOT, cdk_json_context


def config(**overrides) -> StackConfig:
    ctx = {**cdk_json_context(), **overrides}
    return StackConfig.from_context(ctx.get)


def test_cdk_json_defaults_are_the_documented_defaults():
    # Given cdk.json as shipped / When it is read / Then it equals the dataclass defaults, so the code,
    # cdk.json and docs/deploy.md describe the same deployment.
    assert config() == StackConfig()
    cfg = config()
    assert (cfg.max_workers, cfg.schedule, cfg.schedule_enabled) == (2, "rate(15 minutes)", True)
    assert (cfg.transcriber, cfg.openai_model) == ("openai", "gpt-transcribe")
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
        ({"transcriber": "whisper"}, "transcriber"),
        ({"transcriber": "local", "openaiSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf"},
         "openaiSecretArn"),
        ({"transcriber": "local", "openaiBaseUrl": "https://transcribe.example.com/v1"}, "openaiBaseUrl"),
        ({"transcriber": "local", "transcriberMemoryMb": 1024}, "transcriberMemoryMb"),
        ({"whisperModelDir": "/models/base.en"}, "whisperModelDir"),
        ({"whisperModel": "large-v3"}, "whisperModel=large-v3: give base or tiny.en"),
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


def test_language_task_and_keywords_are_checked_by_the_core_rules():
    # Given the transcriber's hints as context keys / Then they are parsed as the core parses them
    cfg = config(language="de", task="translate", keywords="Kubernetes, vidscribe")
    assert (cfg.language, cfg.task, cfg.keywords) == ("de", "translate", ("Kubernetes", "vidscribe"))
    assert config(keywords=["one", "two"]).keywords == ("one", "two")
    assert (config().language, config().task, config().keywords) == (None, None, ())
    # And what the core would refuse at every cold start stops the synth, naming the keys
    for bad, fragment in (({"language": "xx"}, "unknown language 'xx'"), ({"task": "summarize"}, "TASK"),
                          ({"keywords": "a<b"}, "keyword 1 contains '<'"),
                          ({"transcriber": "local", "whisperModel": "tiny.en", "language": "de"}, "English-only")):
        with pytest.raises(ConfigError, match=f"language, task, keywords: .*{fragment}"):
            config(**bad)


# --- transcriber=local -------------------------------------------------------------------------------
def test_a_local_transcriber_gets_the_most_memory_and_its_vcpus_as_threads():
    # Given transcriber=local and no memory setting: the 10,240 MB maximum, which gives 6 vCPUs
    cfg = config(transcriber="local")
    assert (cfg.transcriber_memory_mb, cfg.transcriber_cpu_threads) == (10_240, 6)
    # A memory setting still wins, and the threads follow it
    assert config(transcriber="local", transcriberMemoryMb="4096").transcriber_cpu_threads == 3
    # The OpenAI client keeps its 2,048 MB
    assert config().transcriber_memory_mb == 2048


@pytest.mark.parametrize(
    "memory, vcpus", [(128, 1), (1769, 1), (1770, 2), (3008, 2), (4096, 3), (8192, 5), (8846, 6), (10_240, 6)]
)
def test_threads_follow_the_vcpus_lambda_gives_the_memory(memory, vcpus):
    from vidscribe.contract import lambda_vcpu_share, lambda_vcpus

    # 1 vCPU per 1,769 MB, rounded up, at most 6
    assert lambda_vcpus(memory) == vcpus
    assert lambda_vcpu_share(memory) == pytest.approx(min(6, memory / 1769))


def test_a_missing_image_says_how_to_build_it(tmp_path, stand_in_layer):
    from infra.app import build_app

    with pytest.raises(ConfigError, match="make package-image"):
        build_app(context={**cdk_json_context(), "layerDir": str(stand_in_layer), "transcriber": "local",
                           "imageDir": str(tmp_path / "nope")})


def test_an_image_built_with_another_model_is_refused(tmp_path, stand_in_layer):
    from infra.app import build_app
    from tests.infra.helpers import make_stand_in_image

    # Given an image baked with another model than the context asks for
    image = make_stand_in_image(tmp_path / "image", whisper_model_dir="/models/faster-whisper-base.en")
    context = {**cdk_json_context(), "layerDir": str(stand_in_layer), "transcriber": "local", "imageDir": str(image)}
    # Then the stack refuses it and says how to rebuild
    with pytest.raises(ConfigError, match="rebuild it with the same context"):
        build_app(context=context)
    # And with the same whisperModelDir it is accepted
    _, stack = build_app(context={**context, "whisperModelDir": "/models/faster-whisper-base.en"})
    assert stack.functions.transcriber is not None


def test_a_baked_model_is_what_the_backend_loads(tmp_path):
    from infra.package_image import ImageManifest
    from infra.transcriber_image import local_backend_environment

    baked = ImageManifest("/var/task/models/base.en", "/models/base.en", "/var/task/models/base.en")
    env = local_backend_environment(config(transcriber="local", whisperModelDir="/models/base.en"), baked)
    assert env["WHISPER_MODEL"] == "/var/task/models/base.en"
    bundled = ImageManifest("tiny.en", None, None)
    tiny = local_backend_environment(config(transcriber="local", whisperModel="tiny.en"), bundled)
    assert tiny["WHISPER_MODEL"] == "tiny.en" and "WHISPER_MODEL_CACHE" not in tiny
    joined = ImageManifest("base", None, None, "/var/task/models")
    env = local_backend_environment(config(transcriber="local"), joined)
    assert (env["WHISPER_MODEL"], env["WHISPER_MODEL_CACHE"]) == ("base", "/var/task/models")


def test_an_image_baked_with_another_named_model_is_refused(tmp_path, stand_in_layer):
    from infra.app import build_app
    from tests.infra.helpers import make_stand_in_image

    image = make_stand_in_image(tmp_path / "image", whisper_model="tiny.en")
    context = {**cdk_json_context(), "layerDir": str(stand_in_layer), "transcriber": "local", "imageDir": str(image)}
    with pytest.raises(ConfigError, match="whisperModel is base, but .* was built with tiny.en"):
        build_app(context=context)
    _, stack = build_app(context={**context, "whisperModel": "tiny.en"})
    assert stack.functions.transcriber is not None


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("maxWorkers", "abc", "maxWorkers='abc': expected an integer"),
        ("transcriber", "whisper", "transcriber"),
        ("alarmEmail", "not-an-address", "alarmEmail 'not-an-address': not an e-mail address"),
    ],
)
def test_a_bad_context_value_is_one_line_from_cdk_synth(tmp_path, key: str, value: str, expected: str) -> None:
    # Given the pinned CDK CLI, as `make synth CDK_ARGS='-c key=value'` runs it
    venv_bin = Path(sys.executable).parent
    environ = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "CDK_DISABLE_VERSION_CHECK": "1",
               "CDK_DISABLE_CLI_TELEMETRY": "true", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    cdk = REPO_ROOT / "infra" / "node_modules" / ".bin" / "cdk"
    # When a context value cannot be deployed
    proc = subprocess.run(
        [str(cdk), "synth", "--no-notices", "--quiet", "--output", str(tmp_path / "cdk.out"), "-c", f"{key}={value}"],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )
    # Then the app says so in one line naming the key (the CLI adds its own line after it), no traceback
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("vidscribe stack: ")]
    assert len(ours) == 1 and ours[0].startswith("vidscribe stack: invalid context: ") and expected in ours[0], ours
    assert proc.stderr.strip().splitlines()[-1] == "python3 infra/app.py: Subprocess exited with error 2"
