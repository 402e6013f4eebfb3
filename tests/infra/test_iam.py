"""Least privilege: each role holds exactly the queue and secret actions its function uses, on the
exact ARNs; the only wildcard resource is X-Ray's, alone in its own policy."""

from __future__ import annotations

import json

from tests.infra.helpers import (
    DB_SECRET_ARN,
    FUNCTION_NAMES,
    OPENAI_SECRET_ARN,
    as_list,
    getatt_arn,
    grants,
    role_statements,
)

CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
           "sqs:GetQueueUrl"}
SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
READ_SECRET = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


def secret(synth, which: str):
    if which == "db":
        return DB_SECRET_ARN if synth.config.database_secret_arn else {"Ref": synth.ids["DatabaseSecret"]}
    return OPENAI_SECRET_ARN if synth.config.openai_secret_arn else {"Ref": synth.ids["OpenAiSecret"]}


def test_transcriber_consumes_the_work_queue_and_cannot_send(synth):
    sqs = grants(synth, "TranscriberRole", "sqs")
    assert set(sqs) == CONSUME  # includes ChangeMessageVisibility (the retry backoff)
    assert all(res == [getatt_arn(synth.ids["WorkQueue"])] for res in sqs.values())
    assert "sqs:SendMessage" not in sqs


def test_fetcher_sends_and_reads_depth_and_cannot_receive_or_delete(synth):
    sqs = grants(synth, "FetcherRole", "sqs")
    assert set(sqs) == SEND
    assert all(res == [getatt_arn(synth.ids["WorkQueue"])] for res in sqs.values())
    assert not {"sqs:DeleteMessage", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"} & set(sqs)


def test_dlq_consumer_consumes_only_the_dead_letter_queue(synth):
    sqs = grants(synth, "DlqConsumerRole", "sqs")
    assert set(sqs) == CONSUME
    assert all(res == [getatt_arn(synth.ids["DeadLetterQueue"])] for res in sqs.values())


def test_secrets_are_read_only_by_whom_needs_them(synth):
    expected = {
        "FetcherRole": [secret(synth, "db")],
        "TranscriberRole": [secret(synth, "db"), secret(synth, "openai")],
        "DlqConsumerRole": [secret(synth, "db")],
    }
    for role, arns in expected.items():
        sm = grants(synth, role, "secretsmanager")
        assert set(sm) == READ_SECRET, role
        for resources in sm.values():
            assert sorted(map(str, resources)) == sorted(map(str, arns)), role
    # Only the transcriber can read the OpenAI key.
    readers = [
        r for r in expected
        if secret(synth, "openai") in grants(synth, r, "secretsmanager")["secretsmanager:GetSecretValue"]
    ]
    assert readers == ["TranscriberRole"]


def test_no_wildcards_on_queues_or_secrets(synth):
    for key in FUNCTION_NAMES:
        for st in role_statements(synth, f"{key}Role"):
            actions = as_list(st["Action"])
            if any(a.startswith(("sqs:", "secretsmanager:")) for a in actions):
                assert not any("*" in a for a in actions), st
                for res in as_list(st["Resource"]):
                    assert res != "*" and "*" not in str(res), st


def test_logs_only_to_the_functions_own_log_group(synth):
    for key in FUNCTION_NAMES:
        logs = grants(synth, f"{key}Role", "logs")
        assert set(logs) == {"logs:CreateLogStream", "logs:PutLogEvents"}
        log_group = synth.props(key)["LoggingConfig"]["LogGroup"]["Ref"]
        assert all(res == [getatt_arn(log_group)] for res in logs.values())


def test_the_only_wildcard_resource_is_xray_in_its_own_policy(synth):
    for key in FUNCTION_NAMES:
        role_ref = {"Ref": synth.ids[f"{key}Role"]}
        for logical_id, res in synth.of_type("AWS::IAM::Policy").items():
            if role_ref not in res["Properties"]["Roles"]:
                continue
            statements = res["Properties"]["PolicyDocument"]["Statement"]
            wild = [st for st in statements if "*" in as_list(st["Resource"])]
            if "TracingPolicy" in logical_id:
                assert statements == wild and len(statements) == 1
                assert sorted(as_list(statements[0]["Action"])) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
            else:
                assert wild == [], logical_id


def test_roles_trust_lambda_only_and_carry_managed_policies_only_for_vpc(default, custom):
    for synth, managed in ((default, None), (custom, "service-role/AWSLambdaVPCAccessExecutionRole")):
        for key in FUNCTION_NAMES:
            role = synth.props(f"{key}Role")
            (st,) = role["AssumeRolePolicyDocument"]["Statement"]
            assert st["Principal"] == {"Service": "lambda.amazonaws.com"} and st["Action"] == "sts:AssumeRole"
            arns = role.get("ManagedPolicyArns", [])
            if managed is None:
                assert arns == []
            else:
                assert len(arns) == 1 and managed in str(arns[0])
    # The stack creates no other roles or users.
    assert len(default.of_type("AWS::IAM::Role")) == 3
    assert default.of_type("AWS::IAM::User") == {}


def test_media_buckets_grant_get_object_on_exactly_those_buckets_to_the_transcriber_only(default, custom):
    # Given no mediaBuckets (cdk.json) and two (the custom context)
    # Then by default no role may read S3 at all
    for key in FUNCTION_NAMES:
        assert grants(default, f"{key}Role", "s3") == {}, key
    # And with mediaBuckets the transcriber may GetObject on the objects of exactly those buckets
    s3 = grants(custom, "TranscriberRole", "s3")
    assert set(s3) == {"s3:GetObject"}
    resources = sorted(json.dumps(r, sort_keys=True) for r in s3["s3:GetObject"])
    expected = sorted(
        json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket}/*"]]}, sort_keys=True)
        for bucket in ("lecture-media", "archive.example-videos")
    )
    assert resources == expected
    # And no other role can read S3
    assert grants(custom, "FetcherRole", "s3") == {} and grants(custom, "DlqConsumerRole", "s3") == {}
