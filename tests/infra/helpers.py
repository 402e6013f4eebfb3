"""What the infra tests share: the synthesis routine and small template-reading helpers.

The session-scoped fixtures that call ``synthesize`` live in conftest.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

DB_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/vidscribe/database-AbCdEf"
OPENAI_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/vidscribe/openai-GhIjKl"
CUSTOM_CONTEXT = {
    "stackName": "VidscribeCustom",
    "maxWorkers": "5",
    "schedule": "cron(0 3 * * ? *)",
    "scheduleEnabled": "false",
    "fetchBatchSize": "25",
    "queueHighWater": "50",  # a cron schedule has no interval to derive it from
    "transcriberBatchSize": "2",
    "transcriberMemoryMb": "3008",
    "transcriberTimeoutSeconds": "600",
    "openaiModel": "gpt-4o-mini-transcribe",
    "openaiBaseUrl": "https://transcribe.example.com/v1",
    "logLevel": "debug",
    "databaseSecretArn": DB_SECRET_ARN,
    "openaiSecretArn": OPENAI_SECRET_ARN,
    "vpcId": "vpc-0123456789abcdef0",
    "subnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "securityGroupId": "sg-0123456789abcdef0",
    "alarmEmail": "ops@example.com",
    "oldestMessageAlarmSeconds": "7200",
    "mediaBuckets": "lecture-media,archive.example-videos",
    "eventBus": "arn:aws:events:eu-west-1:123456789012:event-bus/analytics",  # an existing bus, by ARN
}
# VPC mode with everything the stack can create for it, and IAM authentication through an RDS Proxy.
NETWORK_CONTEXT = {
    "stackName": "VidscribeNetwork",
    "maxWorkers": "200",
    "vpcId": "vpc-0a1b2c3d4e5f60718",
    "subnetIds": "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719",
    "databaseSecurityGroupId": "sg-0a1b2c3d4e5f60718",
    "vpcEndpoints": "true",
    "natSubnetId": "subnet-0a1b2c3d4e5f60720",
    "routeTableIds": "rtb-0a1b2c3d4e5f60718,rtb-0a1b2c3d4e5f60719",
    "databaseIamAuth": "true",
    "databaseHost": "vidscribe.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com",
    "databaseUser": "vidscribe",
    "databaseName": "videos",
    "databaseIamResourceId": "prx-0123456789abcdef0",
    "eventBus": "create",  # the stack's own bus
}
# transcriber=local: the transcriber as a container-image function (the image's tree is a stand-in).
LOCAL_CONTEXT = {
    "stackName": "VidscribeLocal",
    "transcriber": "local",
    "maxWorkers": "8",
}
# What the transcriber is told to expect (-c language=de -c task=translate -c keywords=...).
HINTS_CONTEXT = {
    "stackName": "VidscribeHints", "language": "de", "task": "translate", "keywords": "Kubernetes, vidscribe"
}
FUNCTION_NAMES = ("Fetcher", "Transcriber", "DlqConsumer")


@dataclass
class Synth:
    """One synthesized stack: the assertions Template, the raw JSON, and what the tests need to find
    their way around it (logical ids of the interesting resources, the parsed config)."""

    template: Any  # aws_cdk.assertions.Template
    data: dict[str, Any]
    outdir: Path
    template_path: Path
    report: dict[str, Any]
    config: Any  # infra.config.StackConfig
    ids: dict[str, str]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.data["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def props(self, key: str) -> dict[str, Any]:
        return self.resources[self.ids[key]]["Properties"]


def make_stand_in_image(path: Path, whisper_model_dir: str | None = None, whisper_model: str = "base") -> Path:
    """An image build context as infra/package_image.py leaves it, with a one-file task/ tree."""
    (path / "task").mkdir(parents=True)
    (path / "task" / "app.py").write_text("# stand-in for the tree `make package-image` builds\n")
    shutil.copy(REPO_ROOT / "infra" / "image" / "Dockerfile", path / "Dockerfile")
    model_path = None if whisper_model_dir is None else "/var/task/models/" + Path(whisper_model_dir).name
    manifest = {"model": model_path or whisper_model, "whisper_model_dir": whisper_model_dir,
                "whisper_model_path": model_path,
                "whisper_model_cache": "/var/task/models" if model_path is None and whisper_model == "base" else None}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def synthesize(outdir: Path, layer: Path, overrides: dict[str, Any]) -> Synth:
    from aws_cdk.assertions import Template

    from infra.app import build_app
    from infra.nag import read_report

    context = {**cdk_json_context(), "layerDir": str(layer), **overrides}
    app, stack = build_app(context=context, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError as exc:  # policy validation failed: the nag test reports the findings
        if not str(exc).startswith("ValidationFailed"):
            raise
    template_path = outdir / stack.template_file
    data = json.loads(template_path.read_text())

    def lid(construct) -> str:
        return stack.resolve(stack.get_logical_id(construct.node.default_child))

    f, q, s, o = stack.functions, stack.queues, stack.secrets, stack.observability
    ids = {
        "Fetcher": lid(f.fetcher),
        "Transcriber": lid(f.transcriber),
        "DlqConsumer": lid(f.dlq_consumer),
        "Layer": lid(f.layer),
        "Schedule": lid(f.schedule),
        "WorkQueue": lid(q.main),
        "DeadLetterQueue": lid(q.dlq),
        "Topic": lid(o.topic),
        "TopicKey": lid(o.key),
        "Dashboard": lid(o.dashboard),
        **{f"{name}Role": lid(fn.role) for name, fn in f.all.items()},
        **{f"Alarm:{name}": lid(alarm) for name, alarm in o.alarms.items()},
    }
    if stack.event_bus is not None and stack.event_bus.node.default_child is not None:  # created
        ids["EventBus"] = lid(stack.event_bus)
    for key, secret in (("DatabaseSecret", s.database), ("OpenAiSecret", s.openai)):
        if secret is not None and secret.node.default_child is not None:  # created, not imported by ARN
            ids[key] = lid(secret)
    return Synth(
        template=Template.from_json(data),
        data=data,
        outdir=outdir,
        template_path=template_path,
        report=read_report(outdir),
        config=stack.config,
        ids=ids,
    )


# ---- helpers shared by the test modules ------------------------------------------------------------
def getatt_arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(s: Synth, role_key: str) -> list[dict[str, Any]]:
    """Every Allow statement of every inline policy attached to the role (default policy and others)."""
    role_ref = {"Ref": s.ids[role_key]}
    statements = []
    for res in s.of_type("AWS::IAM::Policy").values():
        if role_ref in res["Properties"].get("Roles", []):
            statements.extend(res["Properties"]["PolicyDocument"]["Statement"])
    return statements


def grants(s: Synth, role_key: str, service: str) -> dict[str, list[Any]]:
    """action -> resources granted to the role, for actions of one service (e.g. "sqs")."""
    out: dict[str, list[Any]] = {}
    for st in role_statements(s, role_key):
        assert st["Effect"] == "Allow", st
        for action in as_list(st["Action"]):
            if action.split(":")[0] == service:
                out.setdefault(action, []).extend(as_list(st["Resource"]))
    return out


def env(s: Synth, function_key: str) -> dict[str, Any]:
    return s.props(function_key)["Environment"]["Variables"]
