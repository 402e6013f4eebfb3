"""Queues: redrive (one retry), visibility vs. timeout, retention, encryption, TLS-only policies."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.infra.helpers import getatt_arn


def test_one_retry_is_a_redrive_after_two_receives(synth):
    main = synth.props("WorkQueue")
    assert main["RedrivePolicy"] == {
        "deadLetterTargetArn": getatt_arn(synth.ids["DeadLetterQueue"]),
        "maxReceiveCount": 2,
    }
    assert "RedrivePolicy" not in synth.props("DeadLetterQueue")


def test_visibility_is_at_least_six_times_the_transcriber_timeout(synth):
    timeout = synth.props("Transcriber")["Timeout"]
    visibility = synth.props("WorkQueue")["VisibilityTimeout"]
    assert visibility >= 6 * timeout
    assert (timeout, visibility) == (
        (900, 5400) if synth.config.stack_name == "Vidscribe" else (600, 3600)
    )
    # The DLQ consumer's queue follows the same rule.
    assert synth.props("DeadLetterQueue")["VisibilityTimeout"] >= 6 * synth.props("DlqConsumer")["Timeout"]


def test_dlq_keeps_messages_14_days_longer_than_the_main_queue(synth):
    dlq = synth.props("DeadLetterQueue")["MessageRetentionPeriod"]
    main = synth.props("WorkQueue")["MessageRetentionPeriod"]
    assert dlq == 14 * 86_400
    assert dlq > main
    assert main == 4 * 86_400


def test_both_queues_are_encrypted_at_rest(synth):
    for key in ("WorkQueue", "DeadLetterQueue"):
        props = synth.props(key)
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, key


def test_queue_policies_deny_requests_without_tls(synth):
    for key in ("WorkQueue", "DeadLetterQueue"):
        synth.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": synth.ids[key]}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Action": "sqs:*",
                                "Resource": getatt_arn(synth.ids[key]),
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ]
                    )
                },
            },
        )
    assert len(synth.of_type("AWS::SQS::Queue")) == 2
