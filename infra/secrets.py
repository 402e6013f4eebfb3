"""The two Secrets Manager secrets the functions read at cold start (Powertools Parameters, cached).

* ``databaseSecretArn``: SecretString = the PostgreSQL URL (``postgresql://user:pass@host:5432/db``).
* ``openaiSecretArn``: SecretString = the OpenAI (or compatible server's) API key.

Give existing secrets' full ARNs in cdk.json, or leave them out and the stack creates both with a random
placeholder value for you to overwrite (``aws secretsmanager put-secret-value``, docs/deploy.md); until
then the fetcher reports "not configured yet" instead of failing. Created secrets are retained when
the stack is deleted (their values were set by hand). Only the ARN reaches a function's environment;
the value never appears in the template. With ``databaseIamAuth`` there is no database secret, and
with ``transcriber=local`` no OpenAI secret.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from infra.cfn import l1
from infra.config import StackConfig

ROTATION_REASON = (
    "Rotation cannot be automated here: the value is an externally issued credential (a PostgreSQL URL "
    "owned by the database's operators, or a third-party API key); its owner rotates it and writes the "
    "new value with put-secret-value, which the functions pick up within the 5-minute cache."
)


class PipelineSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        # With IAM database authentication the functions' roles are the credentials: no secret.
        self.database: sm.ISecret | None = None if config.database_iam_auth else self._secret(
            "DatabaseUrl",
            config.database_secret_arn,
            "vidscribe: the PostgreSQL URL (postgresql://user:password@host:5432/dbname). Replace this "
            "placeholder with put-secret-value.",
        )
        # transcriber=local sends no audio out and needs no key: no secret, no grant.
        self.openai: sm.ISecret | None = None if config.transcriber == "local" else self._secret(
            "OpenAiApiKey",
            config.openai_secret_arn,
            "vidscribe: the OpenAI API key used by the transcriber. Replace this placeholder with "
            "put-secret-value.",
        )

    def _secret(self, construct_id: str, arn: str | None, description: str) -> sm.ISecret:
        if arn is not None:
            # A complete ARN (with the 6-character suffix) so that IAM grants name exactly this secret.
            return sm.Secret.from_secret_complete_arn(self, construct_id, arn)
        secret = sm.Secret(
            self,
            construct_id,
            description=description,
            # No value in the template: Secrets Manager generates a random placeholder at creation.
            generate_secret_string=sm.SecretStringGenerator(exclude_punctuation=True, password_length=32),
            # The value someone set by hand outlives the stack: `cdk destroy` then redeploy keeps it.
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(l1(secret)).acknowledge(
            Acknowledgment(id="AwsSolutions-SMG4", reason=ROTATION_REASON)
        )
        return secret
