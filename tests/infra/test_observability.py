"""Alarms (to an encrypted SNS topic, optional e-mail) and the dashboard's metrics."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra.observability import CUSTOM_METRICS

PRODUCT_METRICS = ("VideosTranscribed", "VideosWithoutSpeech", "VideosSkipped", "VideosFailed", "AudioSeconds",
                   "SpeechSeconds", "BytesStreamed", "TranscriptionLatency", "FailureRecords")


def alarm(synth, name: str) -> dict:
    return synth.props(f"Alarm:{name}")


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(synth):
    alarms = synth.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 6
    topic = {"Ref": synth.ids["Topic"]}
    for res in alarms.values():
        props = res["Properties"]
        assert props["AlarmActions"] == [topic] and props["OKActions"] == [topic]
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"


def test_dlq_depth_alarm_uses_messages_visible_not_messages_sent(synth):
    props = alarm(synth, "DlqMessagesVisible")
    assert props["Namespace"] == "AWS/SQS"
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synth.ids["DeadLetterQueue"], "QueueName"]}}
    ]
    assert props["Threshold"] == 0 and props["Statistic"] == "Maximum"
    assert not any(
        r["Properties"].get("MetricName") == "NumberOfMessagesSent"
        for r in synth.of_type("AWS::CloudWatch::Alarm").values()
    )


def test_oldest_message_age_alarms(synth):
    props = alarm(synth, "QueueOldestMessage")
    assert props["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert props["Dimensions"][0]["Value"] == {"Fn::GetAtt": [synth.ids["WorkQueue"], "QueueName"]}
    assert props["Threshold"] == (10_800 if synth.config.stack_name == "Vidscribe" else 7_200)
    dlq = alarm(synth, "DlqOldestMessage")
    assert dlq["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": [synth.ids["DeadLetterQueue"], "QueueName"]}


def test_transcriber_errors_and_throttles_alarms(synth):
    for name, metric in (("TranscriberErrors", "Errors"), ("TranscriberThrottles", "Throttles")):
        props = alarm(synth, name)
        assert props["Namespace"] == "AWS/Lambda" and props["MetricName"] == metric
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": synth.ids["Transcriber"]}}]
        assert props["Threshold"] == 0 and props["Statistic"] == "Sum"


def test_failure_records_alarm_reads_the_product_metric(synth):
    props = alarm(synth, "FailureRecords")
    assert (props["Namespace"], props["MetricName"]) == ("Vidscribe", "FailureRecords")
    assert props["Dimensions"] == [{"Name": "service", "Value": "vidscribe"}]


def test_topic_is_encrypted_tls_only_and_open_to_cloudwatch(synth):
    topic = synth.props("Topic")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [synth.ids["TopicKey"], "Arn"]}
    key = synth.props("TopicKey")
    assert key["EnableKeyRotation"] is True
    assert any(
        st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(st["Action"])
        for st in key["KeyPolicy"]["Statement"]
    )
    synth.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": synth.ids["Topic"]}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        ),
                        Match.object_like(
                            {"Effect": "Allow", "Action": "sns:Publish",
                             "Principal": {"Service": "cloudwatch.amazonaws.com"}}
                        ),
                    ]
                )
            },
        },
    )


def test_email_subscription_only_when_configured(default, custom):
    assert default.of_type("AWS::SNS::Subscription") == {}
    (sub,) = custom.of_type("AWS::SNS::Subscription").values()
    assert sub["Properties"]["Protocol"] == "email"
    assert sub["Properties"]["Endpoint"] == "ops@example.com"
    assert sub["Properties"]["TopicArn"] == {"Ref": custom.ids["Topic"]}


def dashboard_body(synth) -> str:
    body = synth.props("Dashboard")["DashboardBody"]
    if isinstance(body, str):
        return body
    # {"Fn::Join": ["", [str | token, ...]]}: keep the literal parts, name the tokens.
    return "".join(part if isinstance(part, str) else json.dumps(part) for part in body["Fn::Join"][1])


def test_dashboard_shows_queues_functions_and_product_metrics(synth):
    body = dashboard_body(synth)
    for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
                   "ApproximateAgeOfOldestMessage"):
        assert f'"{metric}"' in body, metric
    for queue in ("WorkQueue", "DeadLetterQueue"):
        assert synth.ids[queue] in body
    for metric in ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"):
        assert f'"AWS/Lambda","{metric}"' in body, metric
    for fn in ("Fetcher", "Transcriber", "DlqConsumer"):
        assert synth.ids[fn] in body
    for metric in PRODUCT_METRICS:
        assert f'"Vidscribe","{metric}","service","vidscribe"' in body, metric
    assert synth.props("Dashboard")["DashboardName"] == synth.config.stack_name


def test_dashboard_metric_names_match_the_core(synth):
    # The names the core emits (vidscribe.observability.MetricName) are the names the dashboard reads.
    from vidscribe.observability import MetricName

    core = {v for k, v in vars(MetricName).items() if not k.startswith("_") and isinstance(v, str)}
    assert set(PRODUCT_METRICS) <= core
    assert set(CUSTOM_METRICS) == core
