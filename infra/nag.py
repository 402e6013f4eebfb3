"""cdk-nag (v3) wiring and a readable report of its findings.

The app registers ``AwsSolutionsChecks`` as a CDK policy-validation plugin, so ``cdk synth`` itself
fails on any unacknowledged error. Every acknowledgment sits next to the resource it concerns, with its
reason, via ``Validations.of(construct).acknowledge(...)``; ``writeSuppressionsToCloudFormation`` copies
them into the template's Metadata (``cdk_nag.rules_to_suppress``) as an audit trail.

    python -m infra.nag            # synthesize into a temporary directory and print the report
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

REPORT_FILE = "validation-report.json"


def add_checks(app: App) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))


def read_report(outdir: str | Path) -> dict[str, Any]:
    """The policy-validation report CDK writes into the cloud assembly (absent when all plugins pass)."""
    path = Path(outdir) / REPORT_FILE
    return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


def violations(report: dict[str, Any], severity: str | None = "error") -> list[tuple[str, str, str]]:
    """(rule, construct path, description) for every violation of the given severity (None: all)."""
    found = []
    for plugin in report.get("pluginReports", []):
        for v in plugin.get("violations", []):
            if severity is None or v.get("severity") == severity:
                for c in v.get("violatingConstructs", []):
                    found.append((v["ruleName"], c.get("constructPath", "?"), v.get("description", "")))
    return found


def acknowledgments(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(logical id, rule, reason) for every acknowledgment written into the template's Metadata."""
    acks = []
    for logical_id, res in template.get("Resources", {}).items():
        for rule in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            acks.append((logical_id, rule.get("id", ""), rule.get("reason", "")))
    return acks


def main() -> int:
    from infra.app import build_app  # imported late: aws_cdk start-up is the slow part

    with tempfile.TemporaryDirectory(prefix="vidscribe-nag-") as outdir:
        app, stack = build_app(outdir=outdir)
        failed = None
        try:
            app.synth()
        except RuntimeError as exc:  # jsii surfaces the ValidationFailed error as RuntimeError
            failed = exc
        template = json.loads((Path(outdir) / stack.template_file).read_text())
        report = read_report(outdir)
    errors = violations(report, "error")
    others = [v for v in violations(report, None) if v not in errors]
    print(f"cdk-nag AwsSolutions on {stack.stack_name}: {len(errors)} unacknowledged error(s), "
          f"{len(others)} warning(s)")
    for rule, path, desc in errors + others:
        print(f"  {rule}  {path}\n      {desc}")
    acks = acknowledgments(template)
    print(f"{len(acks)} acknowledgment(s), each with its reason:")
    for logical_id, rule, reason in acks:
        print(f"  {rule}  on {logical_id}\n      {reason}")
    if failed is not None and not errors:
        print(f"synth failed: {failed}", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(main())
