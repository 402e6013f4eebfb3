"""cdk-nag (AWS Solutions) and cfn-lint on the synthesized templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.nag import acknowledgments, violations

# rule -> the only resource type it may be acknowledged on
EXPECTED_ACKNOWLEDGMENTS = {
    "AwsSolutions-L1": "AWS::Lambda::Function",  # runtime pinned to the layer's ABI
    "AwsSolutions-IAM5[Resource::*]": "AWS::IAM::Policy",  # X-Ray only, in its own policy
    "AwsSolutions-SMG4": "AWS::SecretsManager::Secret",  # externally issued credentials
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]":
        "AWS::IAM::Role",  # only with vpcId: ENI management for the VPC
}
MEDIA_BUCKET_ACK = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{}/*]"  # the objects of a mediaBucket


def test_cdk_nag_reports_no_unacknowledged_errors(synth):
    errors = violations(synth.report, "error")
    assert errors == [], "\n".join(f"{rule} at {path}: {desc}" for rule, path, desc in errors)
    # Warnings (from any validation plugin) are listed too: there are none to explain away.
    assert violations(synth.report, None) == []


def test_every_acknowledgment_has_a_reason_and_is_one_we_chose(synth):
    acks = acknowledgments(synth.data)
    assert acks, "cdk-nag did not run: no acknowledgments were written to the template"
    buckets = {MEDIA_BUCKET_ACK.format(b): "AWS::IAM::Policy" for b in synth.config.media_buckets}
    expected = {**EXPECTED_ACKNOWLEDGMENTS, **buckets}
    for logical_id, rule, reason in acks:
        assert rule in expected, (logical_id, rule)
        assert len(reason) >= 60, (logical_id, rule, reason)
        # Each sits on the one resource it is about, not on a whole subtree.
        assert synth.resources[logical_id]["Type"] == expected[rule], (logical_id, rule)
    iam5 = {lid for lid, rule, _ in acks if rule.startswith("AwsSolutions-IAM5[Resource::*]")}
    assert iam5 and all("TracingPolicy" in lid for lid in iam5), iam5
    media = {lid for lid, rule, _ in acks if rule in buckets}
    assert all("MediaBucketsPolicy" in lid for lid in media) and len(media) == (1 if buckets else 0), media
    iam4 = {rule for _, rule, _ in acks if rule.startswith("AwsSolutions-IAM4")}
    assert bool(iam4) == synth.config.uses_vpc


def test_cdk_nag_is_live_and_catches_a_violation(tmp_path):
    # Negative control: the same wiring on a queue without the TLS-only policy must fail the synth.
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from infra.nag import add_checks, read_report

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Control")
    sqs.Queue(stack, "Leaky", encryption=sqs.QueueEncryption.SQS_MANAGED)
    add_checks(app)
    try:
        app.synth()
        failed = False
    except RuntimeError as exc:
        failed = str(exc).startswith("ValidationFailed")
    assert failed
    assert "AwsSolutions-SQS4" in {rule for rule, _, _ in violations(read_report(tmp_path), "error")}


def test_cfn_lint_passes_both_templates(default, custom):
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run(
        [str(cfn_lint), str(default.template_path), str(custom.template_path)],
        capture_output=True, text=True, timeout=120,
    )
    # 0: clean; 4: warnings only.
    # 2 (errors) or anything else fails.
    assert proc.returncode in (0, 4), proc.stdout + proc.stderr
    codes = {line.split()[0] for line in proc.stdout.splitlines() if line[:1] in "EW" and line[1:5].isdigit()}
    assert not {c for c in codes if c.startswith("E")}, proc.stdout
    assert "W3005" not in codes, proc.stdout  # avoided on purpose (infra/lambdas.py); sam validate --lint needs it
