"""Functions: concurrency (the throttling trap), event sources, schedule, runtime, layer, environment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.infra.helpers import (
    DB_SECRET_ARN,
    FUNCTION_NAMES,
    OPENAI_SECRET_ARN,
    REPO_ROOT,
    env,
    getatt_arn,
)

FOLDERS = {"Fetcher": "fetcher", "Transcriber": "transcriber", "DlqConsumer": "dlq_consumer"}


def mappings(synth) -> dict[str, dict]:
    """function key -> its event source mapping's properties."""
    by_fn = {}
    for res in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        fn_ref = res["Properties"]["FunctionName"]["Ref"]
        key = next(k for k in FUNCTION_NAMES if synth.ids[k] == fn_ref)
        assert key not in by_fn, f"{key} has two event sources"
        by_fn[key] = res["Properties"]
    return by_fn


def test_reserved_concurrency_and_event_source_maximum_concurrency_are_both_max_workers(synth):
    workers = synth.config.max_workers
    assert workers == (2 if synth.config.stack_name == "Vidscribe" else 5)
    assert synth.props("Transcriber")["ReservedConcurrentExecutions"] == workers
    esm = mappings(synth)["Transcriber"]
    assert esm["ScalingConfig"] == {"MaximumConcurrency": workers}
    # Never more pollers than Lambda will run: reserved >= maximum concurrency >= 2.
    assert synth.props("Transcriber")["ReservedConcurrentExecutions"] >= esm["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_transcriber_reads_the_work_queue_and_reports_partial_batch_failures(synth):
    esm = mappings(synth)["Transcriber"]
    assert esm["EventSourceArn"] == getatt_arn(synth.ids["WorkQueue"])
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["BatchSize"] == (1 if synth.config.stack_name == "Vidscribe" else 2)
    assert "MaximumBatchingWindowInSeconds" not in esm


def test_dlq_consumer_reads_the_dead_letter_queue(synth):
    esm = mappings(synth)
    assert set(esm) == {"Transcriber", "DlqConsumer"}  # the fetcher is scheduled, not queue-driven
    dlq = esm["DlqConsumer"]
    assert dlq["EventSourceArn"] == getatt_arn(synth.ids["DeadLetterQueue"])
    assert dlq["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert dlq["ScalingConfig"]["MaximumConcurrency"] >= 2
    assert "ReservedConcurrentExecutions" not in synth.props("DlqConsumer")


def test_default_schedule_runs_the_fetcher_every_15_minutes(default):
    rule = default.props("Schedule")
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == getatt_arn(default.ids["Fetcher"])
    # 2 workers x 900 s between runs / 30 s per video at the fastest: every run tops the queue up to 60.
    assert env(default, "Fetcher")["FETCH_BATCH_SIZE"] == env(default, "Fetcher")["QUEUE_HIGH_WATER"] == "60"


def test_schedule_can_be_changed_and_disabled(custom):
    rule = custom.props("Schedule")
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["State"] == "DISABLED"
    assert env(custom, "Fetcher")["FETCH_BATCH_SIZE"] == "25"


def test_fetcher_is_not_retried_by_lambda_between_scheduled_runs(synth):
    (cfg,) = synth.of_type("AWS::Lambda::EventInvokeConfig").values()
    assert cfg["Properties"]["FunctionName"] == {"Ref": synth.ids["Fetcher"]}
    assert cfg["Properties"]["MaximumRetryAttempts"] == 0


def test_runtime_handler_tracing_and_one_shared_layer(synth):
    layer = {"Ref": synth.ids["Layer"]}
    for key in FUNCTION_NAMES:
        props = synth.props(key)
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == "app.handler"
        assert props["Architectures"] == ["x86_64"]
        assert props["Layers"] == [layer]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "LogGroup" in props["LoggingConfig"]
    layer_props = synth.props("Layer")
    assert layer_props["CompatibleRuntimes"] == ["python3.12"]
    assert layer_props["CompatibleArchitectures"] == ["x86_64"]
    assert len(synth.of_type("AWS::Lambda::LayerVersion")) == 1


def test_transcriber_memory_and_timeout(synth):
    props = synth.props("Transcriber")
    expected = (2048, 900) if synth.config.stack_name == "Vidscribe" else (3008, 600)
    assert (props["MemorySize"], props["Timeout"]) == expected
    assert props["Timeout"] <= 900


def test_each_function_ships_its_own_folder_as_the_code_root(synth):
    manifest = json.loads((synth.outdir / f"{synth.config.stack_name}.assets.json").read_text())
    staged = {h: a["source"]["path"] for h, a in manifest["files"].items()}
    for key, folder in FOLDERS.items():
        asset_hash = synth.props(key)["Code"]["S3Key"].removesuffix(".zip")
        asset_dir = synth.outdir / staged[asset_hash]
        shipped = {p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*") if p.is_file()}
        source = REPO_ROOT / "functions" / folder
        expected = {
            p.relative_to(source).as_posix()
            for p in source.rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and p.suffix not in (".pyc", ".md")
            and not {"events", "tests"} & set(p.relative_to(source).parts)
        }
        assert shipped == expected, key
        assert "__init__.py" in shipped
    layer_asset = Path(synth.outdir, staged[synth.props("Layer")["Content"]["S3Key"].removesuffix(".zip")])
    assert (layer_asset / "python" / "vidscribe" / "__init__.py").is_file()  # the layer's python/ at its root


def test_the_layer_ships_only_what_lambda_runs(tmp_path):
    # Given the core copied into a layer the way `make package` does
    from infra.lambda_packaging import copy_core

    core = tmp_path / "vidscribe"
    copy_core(REPO_ROOT / "shared" / "vidscribe", core)
    # Then it holds what the handlers import, and neither the local runtime nor the command line
    needed_files = (
        "services.py", "contract.py", "workflow/transcribing.py", "adapters/postgres/migrations/001_initial.sql",
        "adapters/media/source.py", "adapters/backends/openai_backend.py",
    )
    for needed in needed_files:
        assert (core / needed).is_file(), needed
    assert not (core / "local").exists() and not (core / "cli").exists()
    assert not list(core.rglob("media_server.py")) and not list(core.rglob("samples.py"))
    assert not list(core.rglob("__pycache__"))


def test_powertools_settings_are_the_same_everywhere(synth):
    level = "INFO" if synth.config.stack_name == "Vidscribe" else "DEBUG"
    for key in FUNCTION_NAMES:
        e = env(synth, key)
        assert e["POWERTOOLS_SERVICE_NAME"] == "vidscribe"
        assert e["POWERTOOLS_METRICS_NAMESPACE"] == "Vidscribe"
        assert e["POWERTOOLS_LOG_LEVEL"] == e["LOG_LEVEL"] == level
        assert e["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
        # The fetcher and the transcriber agree on when a queued video counts as lost: the retention.
        assert e["QUEUED_LEASE_SECONDS"] == str(synth.props("WorkQueue")["MessageRetentionPeriod"])


def test_transcriber_settings(synth):
    e = env(synth, "Transcriber")
    props = synth.props("Transcriber")
    assert e["PROCESSING_LEASE_SECONDS"] == str(props["Timeout"])
    assert e["TRANSCRIBER_TIMEOUT_SECONDS"] == str(props["Timeout"])  # the time budget's ceiling
    assert 0 < int(e["FETCH_TOTAL_TIMEOUT_SECONDS"]) < props["Timeout"]  # a slow download fails, not the Lambda
    assert e["MAX_WORKERS"] == str(synth.config.max_workers)
    assert e["TRANSCRIBER"] == "openai"
    assert e["ALLOW_PRIVATE_URLS"] == "false"
    assert e["QUEUE_URL"] == {"Ref": synth.ids["WorkQueue"]}
    assert int(e["RETRY_BACKOFF_SECONDS"]) < synth.props("WorkQueue")["VisibilityTimeout"]
    assert int(e["MAX_MEDIA_BYTES"]) > 0 and int(e["MAX_DURATION_SECONDS"]) > 0
    if synth.config.stack_name == "Vidscribe":
        assert e["OPENAI_MODEL"] == "gpt-transcribe" and "OPENAI_BASE_URL" not in e
    else:
        assert e["OPENAI_MODEL"] == "gpt-4o-mini-transcribe"
        assert e["OPENAI_BASE_URL"] == "https://transcribe.example.com/v1"
    assert env(synth, "Fetcher")["QUEUE_URL"] == {"Ref": synth.ids["WorkQueue"]}
    assert env(synth, "DlqConsumer")["DLQ_URL"] == {"Ref": synth.ids["DeadLetterQueue"]}


SECRET_LOOKING = ("DATABASE_URL", "OPENAI_API_KEY", "PASSWORD", "TOKEN")


def test_no_secret_values_in_the_environment_only_arns(synth):
    for key in FUNCTION_NAMES:
        e = env(synth, key)
        for name in e:
            assert name.endswith("_SECRET_ARN") or not any(s in name for s in SECRET_LOOKING), (key, name)
        if synth.config.database_secret_arn:
            assert e["DATABASE_SECRET_ARN"] == DB_SECRET_ARN
        else:
            assert e["DATABASE_SECRET_ARN"] == {"Ref": synth.ids["DatabaseSecret"]}
    # Only the transcriber knows where the OpenAI key is.
    assert [k for k in FUNCTION_NAMES if "OPENAI_API_KEY_SECRET_ARN" in env(synth, k)] == ["Transcriber"]
    arn = env(synth, "Transcriber")["OPENAI_API_KEY_SECRET_ARN"]
    assert arn == (OPENAI_SECRET_ARN if synth.config.openai_secret_arn else {"Ref": synth.ids["OpenAiSecret"]})


def test_created_secrets_hold_no_value_in_the_template(default, custom):
    secrets = default.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for res in secrets.values():
        assert "SecretString" not in res["Properties"]
        assert "GenerateSecretString" in res["Properties"]
    assert custom.of_type("AWS::SecretsManager::Secret") == {}  # existing secrets are referenced, not created


def test_vpc_settings_apply_to_every_function(default, custom):
    for key in FUNCTION_NAMES:
        assert "VpcConfig" not in default.props(key)
        assert custom.props(key)["VpcConfig"] == {
            "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
        }
    assert custom.of_type("AWS::EC2::SecurityGroup") == {}  # the given group is used as is


def test_functions_wait_for_their_policies_not_redundantly_for_their_roles(synth):
    # The role is implied by the Role GetAtt; an explicit DependsOn on it is cfn-lint W3005, which makes
    # `sam validate --lint` fail. The policies must exist before Lambda checks the event source's access.
    for key in FUNCTION_NAMES:
        depends = synth.resources[synth.ids[key]]["DependsOn"]
        assert synth.ids[f"{key}Role"] not in depends
        role_ref = {"Ref": synth.ids[f"{key}Role"]}
        policies = sorted(
            k for k, r in synth.of_type("AWS::IAM::Policy").items() if role_ref in r["Properties"]["Roles"]
        )
        media = key == "Transcriber" and bool(synth.config.media_buckets)  # + the mediaBuckets grant
        assert sorted(depends) == policies and len(policies) == (3 if media else 2)


def test_the_layer_ships_the_rds_certificates_the_functions_verify_against(tmp_path):
    # Given the CA bundle written the way `make package` writes it into the layer (/opt/ in Lambda)
    from infra.lambda_packaging import write_ca_bundle

    count = write_ca_bundle(tmp_path / "rds-ca-bundle.pem")
    pem = (tmp_path / "rds-ca-bundle.pem").read_text()
    # Then it holds every region's RDS root CAs (2048, 4096 and ECC G1) and Amazon's roots (RDS Proxy)
    assert count == pem.count("-----BEGIN CERTIFICATE-----") >= 100
    import warnings

    from cryptography import x509

    with warnings.catch_warnings():  # one of AWS's 2015-era certificates has a non-positive serial
        warnings.simplefilter("ignore")
        names = {c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(pem.encode())}
    assert any("Amazon RDS us-east-1 Root CA RSA2048 G1" in n for n in names)
    assert any("Amazon RDS eu-west-1 Root CA ECC384 G1" in n for n in names)
    assert any("CN=Amazon Root CA 1" in n for n in names)
