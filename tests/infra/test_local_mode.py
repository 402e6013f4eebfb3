"""transcriber=local: the transcriber as a container-image function beside the zip functions.

The image function keeps every number of the zip one (reserved concurrency = the event source's
maximum concurrency = maxWorkers, the timeout, the queues, redrive, alarms and dashboard); it gets the
memory and threads for the model, no OpenAI secret and no grant to one; the fetcher and the DLQ
consumer are byte-for-byte the functions of the default stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra.nag import acknowledgments, violations
from tests.infra.helpers import REPO_ROOT, env, grants, role_statements
from tests.infra.test_functions import mappings


def test_the_transcriber_is_an_x86_image_function_with_the_image_handler(local):
    props = local.props("Transcriber")
    # Given transcriber=local: an image, not a zip on the layer
    assert props["PackageType"] == "Image"
    assert "ImageUri" in props["Code"] and "S3Key" not in props["Code"]
    assert not {"Runtime", "Handler", "Layers"} & set(props)
    assert props["ImageConfig"] == {"Command": ["app.handler"]}
    assert props["Architectures"] == ["x86_64"]
    assert props["TracingConfig"] == {"Mode": "Active"} and "LogGroup" in props["LoggingConfig"]
    # Its image is the bootstrap repository's, tagged with the staged asset's hash
    uri = json.dumps(props["Code"]["ImageUri"])
    assert "cdk-hnb659fds-container-assets" in uri


def test_memory_timeout_and_threads_for_the_model(local):
    props = local.props("Transcriber")
    assert (props["MemorySize"], props["Timeout"]) == (10_240, 900)
    e = env(local, "Transcriber")
    # 10,240 MB = 6 vCPUs: CTranslate2 runs 6 threads, one transcription at a time per instance
    assert (e["TRANSCRIBER"], e["WHISPER_CPU_THREADS"], e["WHISPER_WORKERS"]) == ("local", "6", "1")
    assert e["HF_HUB_OFFLINE"] == "1"
    assert (e["WHISPER_MODEL"], e["WHISPER_MODEL_CACHE"]) == ("base", "/var/task/models")  # baked joined
    # The CA bundle sits in the image's task root, not in a layer at /opt
    assert (e["DATABASE_SSLMODE"], e["DATABASE_SSLROOTCERT"]) == ("verify-full", "/var/task/rds-ca-bundle.pem")


def test_reserved_concurrency_equals_the_event_sources_maximum_concurrency_equals_max_workers(local):
    assert local.config.max_workers == 8
    assert local.props("Transcriber")["ReservedConcurrentExecutions"] == 8
    esm = mappings(local)["Transcriber"]
    assert esm["ScalingConfig"] == {"MaximumConcurrency": 8}
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["EventSourceArn"] == {"Fn::GetAtt": [local.ids["WorkQueue"], "Arn"]}


def test_no_openai_secret_is_created_read_or_named(local):
    # Only the database secret exists, and the transcriber reads only it
    assert len(local.of_type("AWS::SecretsManager::Secret")) == 1 and "OpenAiSecret" not in local.ids
    secret_grants = grants(local, "TranscriberRole", "secretsmanager")
    assert {json.dumps(r) for rs in secret_grants.values() for r in rs} == {
        json.dumps({"Ref": local.ids["DatabaseSecret"]})
    }
    e = env(local, "Transcriber")
    assert not [k for k in e if k.startswith("OPENAI")]
    assert "OpenAiSecretArn" not in local.data["Outputs"]
    # And the role holds nothing else new: no ECR or wildcard rights beyond X-Ray's own policy
    actions = {a for st in role_statements(local, "TranscriberRole") for a in
               (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert {a.split(":")[0] for a in actions} == {"logs", "sqs", "secretsmanager", "xray"}


# What depends on maxWorkers (8 here, 2 by default) rather than on the transcriber.
WORKER_DERIVED = {"MAX_WORKERS", "FETCH_BATCH_SIZE", "QUEUE_HIGH_WATER"}


def without_worker_derived(props: dict) -> dict:
    variables = {k: v for k, v in props["Environment"]["Variables"].items() if k not in WORKER_DERIVED}
    return {**props, "Environment": {"Variables": variables}}


def test_the_zip_functions_are_those_of_the_default_stack(local, default):
    # Fetcher and DLQ consumer: the same properties (code, layer, memory, environment, role) as without
    # transcriber=local, but for the numbers maxWorkers sets; and the layer is theirs alone now
    for name in ("Fetcher", "DlqConsumer"):
        assert without_worker_derived(local.props(name)) == without_worker_derived(default.props(name)), name
        assert local.props(name)["Layers"] == [{"Ref": local.ids["Layer"]}]
        assert env(local, name)["MAX_WORKERS"] == "8"
    # 8 workers x 900 s between runs / 30 s per video
    assert env(local, "Fetcher")["QUEUE_HIGH_WATER"] == "240"
    assert local.props("Layer") == default.props("Layer")
    assert grants(local, "FetcherRole", "sqs") == grants(default, "FetcherRole", "sqs")


def test_the_same_queues_redrive_alarms_and_dashboard(local, default):
    for key in ("WorkQueue", "DeadLetterQueue"):
        assert local.props(key) == default.props(key), key
    alarms = {k.removeprefix("Alarm:") for k in local.ids if k.startswith("Alarm:")}
    assert alarms == {k.removeprefix("Alarm:") for k in default.ids if k.startswith("Alarm:")}
    transcriber_alarms = [local.props(f"Alarm:{a}") for a in ("TranscriberErrors", "TranscriberThrottles")]
    assert all(a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": local.ids["Transcriber"]}}]
               for a in transcriber_alarms)
    body = json.dumps(local.props("Dashboard")["DashboardBody"])
    assert "transcriber **local**, 10240 MB" in body
    # The backend alarm's runbook speaks of the model, not of an API key
    assert "API key" not in local.props("Alarm:BackendErrorRate")["AlarmDescription"]


def test_the_image_asset_is_the_build_context_for_linux_amd64(local, stand_in_image):
    manifest = json.loads((local.outdir / f"{local.config.stack_name}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["platform"] == "linux/amd64"
    staged = local.outdir / image["source"]["directory"]
    assert (staged / "Dockerfile").read_text() == (REPO_ROOT / "infra" / "image" / "Dockerfile").read_text()
    assert (staged / "task" / "app.py").is_file()
    uri = json.dumps(local.props("Transcriber")["Code"]["ImageUri"])
    assert image["destinations"][next(iter(image["destinations"]))]["imageTag"] in uri


def test_the_dockerfile_only_copies_the_tree_onto_the_lambda_base_image():
    lines = [line for line in (REPO_ROOT / "infra" / "image" / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["FROM public.ecr.aws/lambda/python:3.12", "COPY task/ ${LAMBDA_TASK_ROOT}/",
                     'CMD ["app.handler"]']


def test_cdk_nag_and_cfn_lint_pass_in_local_mode(local):
    assert violations(local.report, "error") == [] and violations(local.report, None) == []
    acks = acknowledgments(local.data)
    # No runtime to pin on an image function: the L1 acknowledgment stays on the two zip functions
    pinned = {lid for lid, rule, _ in acks if rule == "AwsSolutions-L1"}
    assert pinned == {local.ids["Fetcher"], local.ids["DlqConsumer"]}
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run([str(cfn_lint), str(local.template_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 4), proc.stdout + proc.stderr
    assert not [line for line in proc.stdout.splitlines() if line[:1] == "E" and line[1:5].isdigit()]


def test_cdk_synth_stages_the_image_without_docker(tmp_path, stand_in_layer, stand_in_image):
    # Given a `docker` that records any call and fails, first on PATH (and as CDK_DOCKER)
    shim = tmp_path / "bin"
    shim.mkdir()
    calls = tmp_path / "docker-calls"
    (shim / "docker").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    (shim / "docker").chmod(0o755)
    venv_bin = Path(sys.executable).parent
    environ = {**os.environ, "PATH": f"{shim}:{venv_bin}:{os.environ['PATH']}", "CDK_DOCKER": str(shim / "docker"),
               "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"}
    out = tmp_path / "cdk.out"
    # When the pinned CDK CLI synthesizes the local mode
    cdk = REPO_ROOT / "infra" / "node_modules" / ".bin" / "cdk"
    proc = subprocess.run(
        [str(cdk), "synth", "--no-notices", "--quiet", "--output", str(out), "-c", "transcriber=local",
         "-c", f"layerDir={stand_in_layer}", "-c", f"imageDir={stand_in_image}"],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=300,
    )
    # Then it succeeds, staged the image's build context, and never ran Docker
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert not calls.exists(), calls.read_text()
    manifest = json.loads((out / "Vidscribe.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert (out / image["source"]["directory"] / "Dockerfile").is_file()
