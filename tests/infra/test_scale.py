"""Running at scale: the fetcher's high-water mark, the database's connection budget and TLS, IAM
authentication, VPC networking, retained secrets, and the alarms that warn before things break."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra.nag import violations
from tests.infra.helpers import FUNCTION_NAMES, as_list, env, grants, role_statements

RDS_CA = "/opt/rds-ca-bundle.pem"


def outputs(synth) -> dict[str, object]:
    return {k: v["Value"] for k, v in synth.data["Outputs"].items()}


# --- the fetcher keeps up -------------------------------------------------------------------------
def test_the_high_water_mark_covers_every_worker_until_the_next_run(default, network):
    # 2 workers (default) and 200 workers (network), rate(15 minutes), >= 30 s per video.
    for synth, expected in ((default, 60), (network, 6000)):
        fetcher = env(synth, "Fetcher")
        assert fetcher["QUEUE_HIGH_WATER"] == str(expected) == fetcher["FETCH_BATCH_SIZE"]


def test_one_fetcher_at_a_time(synth):
    assert synth.props("Fetcher")["ReservedConcurrentExecutions"] == 1


# --- the database -----------------------------------------------------------------------------------
def test_each_instance_holds_one_connection_and_the_budget_is_an_output(synth, network):
    for s in (synth, network):
        for name in FUNCTION_NAMES:
            assert env(s, name)["DATABASE_POOL_SIZE"] == "1", name
        # maxWorkers transcribers + 1 fetcher + the DLQ consumer's maximum concurrency of 2
        assert outputs(s)["DatabaseConnectionBudget"] == str(s.config.max_workers + 3)


def test_tls_verifies_the_database_against_the_rds_certificates_by_default(default, network):
    for s in (default, network):
        for name in FUNCTION_NAMES:
            e = env(s, name)
            assert (e["DATABASE_SSLMODE"], e["DATABASE_SSLROOTCERT"]) == ("verify-full", RDS_CA), name


def test_iam_authentication_needs_no_database_secret_and_grants_connect_as_one_user(network):
    e = env(network, "Transcriber")
    assert e["DATABASE_IAM_AUTH"] == "true" and "DATABASE_SECRET_ARN" not in e
    assert (e["DATABASE_HOST"], e["DATABASE_USER"], e["DATABASE_NAME"], e["DATABASE_PORT"]) == (
        "vidscribe.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com", "vidscribe", "videos", "5432"
    )
    assert "DatabaseSecretArn" not in outputs(network)
    secrets = network.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 1  # the OpenAI key only
    for name in FUNCTION_NAMES:
        connect = grants(network, f"{name}Role", "rds-db")
        (resource,) = connect["rds-db:connect"]
        text = json.dumps(resource)
        assert text.endswith(':dbuser:prx-0123456789abcdef0/vidscribe"]]}'), text
        assert grants(network, f"{name}Role", "secretsmanager").keys() <= ({"secretsmanager:GetSecretValue",
                                                                           "secretsmanager:DescribeSecret"}
                                                                          if name == "Transcriber" else set())


def test_created_secrets_outlive_the_stack(default):
    secrets = default.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"


# --- the network ----------------------------------------------------------------------------------
def test_the_functions_security_group_allows_only_what_they_use(network):
    groups = network.of_type("AWS::EC2::SecurityGroup")
    (functions_group_id,) = [
        k for k, g in groups.items() if g["Properties"]["GroupDescription"].startswith("vidscribe functions")
    ]
    egress = groups[functions_group_id]["Properties"]["SecurityGroupEgress"]
    assert {(r["IpProtocol"], r["FromPort"], r.get("CidrIp")) for r in egress} == {
        ("tcp", 443, "0.0.0.0/0"), ("tcp", 80, "0.0.0.0/0"),
    }
    # PostgreSQL goes to the database's security group only, which lets the functions in.
    rules = {**network.of_type("AWS::EC2::SecurityGroupEgress"), **network.of_type("AWS::EC2::SecurityGroupIngress")}
    by_type = {(r["Type"], r["Properties"]["FromPort"]): r["Properties"] for r in rules.values()}
    out = by_type[("AWS::EC2::SecurityGroupEgress", 5432)]
    assert out["DestinationSecurityGroupId"] == "sg-0a1b2c3d4e5f60718"
    assert out["GroupId"] == {"Fn::GetAtt": [functions_group_id, "GroupId"]}
    into = by_type[("AWS::EC2::SecurityGroupIngress", 5432)]
    assert into["GroupId"] == "sg-0a1b2c3d4e5f60718"
    assert into["SourceSecurityGroupId"] == {"Fn::GetAtt": [functions_group_id, "GroupId"]}
    for name in FUNCTION_NAMES:
        vpc = network.props(name)["VpcConfig"]
        assert vpc["SecurityGroupIds"] == [{"Fn::GetAtt": [functions_group_id, "GroupId"]}]
        assert vpc["SubnetIds"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]


def test_vpc_endpoints_for_the_aws_apis_and_a_nat_gateway_for_the_internet(network):
    endpoints = network.of_type("AWS::EC2::VPCEndpoint")
    interface = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints.values()
                 if e["Properties"].get("VpcEndpointType") == "Interface"}
    for service in ("sqs", "secretsmanager", "logs", "xray"):
        assert any(f".{service}" in name for name in interface), (service, interface)
    for e in endpoints.values():
        if e["Properties"].get("VpcEndpointType") == "Interface":
            assert e["Properties"]["PrivateDnsEnabled"] is True
    (s3,) = [e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Gateway"]
    assert s3["Properties"]["RouteTableIds"] == ["rtb-0a1b2c3d4e5f60718", "rtb-0a1b2c3d4e5f60719"]
    (nat_id, nat), = network.of_type("AWS::EC2::NatGateway").items()
    assert nat["Properties"]["SubnetId"] == "subnet-0a1b2c3d4e5f60720"
    routes = network.of_type("AWS::EC2::Route").values()
    assert sorted(r["Properties"]["RouteTableId"] for r in routes) == ["rtb-0a1b2c3d4e5f60718", "rtb-0a1b2c3d4e5f60719"]
    assert all(r["Properties"]["NatGatewayId"] == {"Ref": nat_id} for r in routes)
    assert all(r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def test_no_vpc_resources_without_vpc_mode(default):
    for kind in ("AWS::EC2::SecurityGroup", "AWS::EC2::VPCEndpoint", "AWS::EC2::NatGateway"):
        assert default.of_type(kind) == {}


# --- operations -------------------------------------------------------------------------------------
def alarm(synth, name: str) -> dict:
    return synth.props(f"Alarm:{name}")


def test_an_alarm_warns_before_transcriptions_reach_the_timeout(synth):
    props = alarm(synth, "TranscriberDurationNearTimeout")
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", "Duration", "Maximum")
    assert props["Threshold"] == 0.8 * synth.config.transcriber_timeout_seconds * 1000


def test_an_alarm_watches_the_backends_error_rate(synth):
    props = alarm(synth, "BackendErrorRate")
    (expression, *inputs) = props["Metrics"]
    assert expression["Expression"] == "100 * errors / (errors + transcribed)"
    names = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in inputs}
    assert names == {"errors": "BackendErrors", "transcribed": "VideosTranscribed"}
    assert props["Threshold"] == 10


def test_every_alarm_says_what_to_do(synth, network):
    for s in (synth, network):
        for res in s.of_type("AWS::CloudWatch::Alarm").values():
            description = res["Properties"]["AlarmDescription"]
            assert "Runbook: " in description and len(description.split("Runbook: ")[1]) > 40, description


# --- checks -----------------------------------------------------------------------------------------
def test_the_network_stack_passes_cdk_nag_and_cfn_lint(network):
    assert violations(network.report, "error") == [] and violations(network.report, None) == []
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run([str(cfn_lint), str(network.template_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 4), proc.stdout + proc.stderr
    assert not [line for line in proc.stdout.splitlines() if line[:1] == "E" and line[1:5].isdigit()]


def test_the_network_roles_reach_only_their_own_resources(network):
    # The transcriber still cannot send, the fetcher cannot receive: VPC mode adds no queue rights.
    send = {a for st in role_statements(network, "TranscriberRole") for a in as_list(st["Action"])}
    assert "sqs:SendMessage" not in send
