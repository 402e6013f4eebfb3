"""VPC mode: the functions in the database's private subnets, and what they need to reach from there.

From inside the VPC the functions must still reach SQS, Secrets Manager, CloudWatch Logs and X-Ray
(AWS APIs), the media hosts and the transcription API (the internet). Private subnets reach them
through a NAT gateway, or the AWS APIs through VPC endpoints (the internet still needs a NAT):

* ``natSubnetId`` + ``routeTableIds``: a NAT gateway in that public subnet, with a default route in
  each given route table (the functions' subnets');
* ``vpcEndpoints``: interface endpoints for SQS, Secrets Manager, CloudWatch Logs and X-Ray, plus an
  S3 gateway endpoint on ``routeTableIds`` when given (S3 media sources);
* the functions' security group: given (``securityGroupId``), or created here with its egress in
  code -- HTTPS and HTTP anywhere (media, the API, AWS endpoints) and PostgreSQL to the database
  only (``databaseSecurityGroupId``, which gets the matching ingress rule, or ``databaseCidr``).

Nothing is looked up at synth time: the ids are taken as given.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Tags
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from infra.config import StackConfig

INTERFACE_ENDPOINTS = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
}


class PipelineNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        if config.vpc_id is None:
            raise ValueError("PipelineNetwork is for VPC mode (vpcId)")
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=config.vpc_id,
            availability_zones=[f"az-of-{s}" for s in config.subnet_ids],
            private_subnet_ids=list(config.subnet_ids),
        )
        self.subnets = [ec2.Subnet.from_subnet_id(self, f"Subnet{i}", s) for i, s in enumerate(config.subnet_ids)]
        self.security_groups = self._security_groups(config)
        if config.nat_subnet_id:
            self._nat_gateway(config)
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        if config.vpc_endpoints:
            self._endpoints(config)

    @property
    def function_props(self) -> dict[str, Any]:
        """What each function needs to run in the VPC."""
        return {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnets=self.subnets),
            "security_groups": self.security_groups,
        }

    def _security_groups(self, config: StackConfig) -> list[ec2.ISecurityGroup]:
        if config.security_group_ids:
            return [
                ec2.SecurityGroup.from_security_group_id(self, f"SecurityGroup{i}", g, mutable=False)
                for i, g in enumerate(config.security_group_ids)
            ]
        group = ec2.SecurityGroup(
            self,
            "FunctionsSecurityGroup",
            vpc=self.vpc,
            description="vidscribe functions: HTTPS/HTTP out (media, API, AWS), PostgreSQL to the database",
            allow_all_outbound=False,
        )
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: media, transcription API, AWS APIs")
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "HTTP media URLs")
        database_port = ec2.Port.tcp(config.database_port)
        if config.database_security_group_id:
            database = ec2.SecurityGroup.from_security_group_id(
                self, "DatabaseSecurityGroup", config.database_security_group_id, mutable=True
            )
            group.add_egress_rule(database, database_port, "PostgreSQL")
            database.add_ingress_rule(group, database_port, "vidscribe functions")
        if config.database_cidr:
            group.add_egress_rule(ec2.Peer.ipv4(config.database_cidr), database_port, "PostgreSQL")
        return [group]

    def _nat_gateway(self, config: StackConfig) -> None:
        address = ec2.CfnEIP(self, "NatAddress", domain="vpc")
        Tags.of(address).add("Name", "vidscribe-nat")
        self.nat = ec2.CfnNatGateway(
            self, "NatGateway", subnet_id=config.nat_subnet_id, allocation_id=address.attr_allocation_id
        )
        for i, table in enumerate(config.route_table_ids):
            ec2.CfnRoute(
                self, f"DefaultRoute{i}", route_table_id=table, destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat.ref,
            )

    def _endpoints(self, config: StackConfig) -> None:
        # The endpoints answer HTTPS from the functions' security groups only.
        endpoint_group = ec2.SecurityGroup(
            self, "EndpointsSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="vidscribe VPC endpoints: HTTPS from the functions",
        )
        for group in self.security_groups:
            endpoint_group.add_ingress_rule(group, ec2.Port.tcp(443), "vidscribe functions")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.endpoints[name] = ec2.InterfaceVpcEndpoint(
                self, f"{name}Endpoint", vpc=self.vpc, service=service, private_dns_enabled=True, open=False,
                subnets=ec2.SubnetSelection(subnets=self.subnets), security_groups=[endpoint_group],
            )
        if config.route_table_ids:
            # A gateway endpoint lives in route tables, which imported subnets do not name: L1.
            self.s3_endpoint = ec2.CfnVPCEndpoint(
                self, "S3Endpoint", vpc_id=self.vpc.vpc_id, vpc_endpoint_type="Gateway",
                service_name=f"com.amazonaws.{Aws.REGION}.s3", route_table_ids=list(config.route_table_ids),
            )
