"""The database as the stack reaches it: verified TLS, one connection per instance, IAM tokens, and
a first deploy whose secret is still the placeholder. Real PostgreSQL servers and a real Secrets
Manager endpoint (moto)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest

from tests.support.faults import PrivatePostgres
from tests.support.tls import issue
from vidscribe.adapters.postgres import migrate
from vidscribe.adapters.postgres.credentials import connection_options, iam_dsn_factory
from vidscribe.config import Settings
from vidscribe.errors import NotConfigured
from vidscribe.services import Services


@pytest.fixture(scope="module")
def tls_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivatePostgres, Path, Path]]:
    """A PostgreSQL that speaks TLS with a certificate for localhost from a CA of its own, plus
    that CA's file and another CA's file (which did not sign the server's certificate)."""
    server = PrivatePostgres()
    good = issue(server.root / "tls")  # inside the cluster's own folder: the server must read it
    for path in (good.cert_file.parent, good.cert_file, good.key_file):
        server.own(path)
    other = issue(tmp_path_factory.mktemp("tls") / "other", ca_name="someone else's CA")
    server.extra_options = f"-c ssl=on -c ssl_cert_file={good.cert_file} -c ssl_key_file={good.key_file}"
    server.start()
    try:
        yield server, good.ca_file, other.ca_file
    finally:
        server.stop()


def url_of(server: PrivatePostgres) -> str:
    return f"postgresql://postgres@localhost:{server.port}/postgres"


def test_verify_full_connects_to_the_server_its_ca_signed(tls_postgres) -> None:
    # Given a server whose certificate our CA signed, and the settings the stack gives a function
    server, ca_file, _ = tls_postgres
    settings = Settings.from_env(
        {}, DATABASE_URL=url_of(server), DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(ca_file)
    )
    services = Services(settings)
    try:
        # When the core connects and migrates
        migrate(services.database)
        # Then the session is encrypted, and the certificate was checked against that CA
        ssl_in_use = services.database.run(
            lambda cur: (cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"), cur.fetchone())[1]
        )
        assert ssl_in_use == (True,)
    finally:
        services.close()


def test_verify_full_refuses_a_certificate_another_ca_signed(tls_postgres) -> None:
    server, _, other_ca = tls_postgres
    settings = Settings.from_env({}, DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(other_ca))
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(url_of(server), connect_timeout=5, **connection_options(settings))


def test_the_url_cannot_weaken_the_configured_tls(tls_postgres) -> None:
    # The URL asks for no verification; DATABASE_SSLMODE (set by the stack) wins.
    server, _, other_ca = tls_postgres
    settings = Settings.from_env({}, DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(other_ca))
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        psycopg2.connect(url_of(server) + "?sslmode=require", connect_timeout=5, **connection_options(settings))


def test_one_connection_per_instance(database_url: str) -> None:
    # DATABASE_POOL_SIZE=1 (the stack's setting): every unit of work shares one connection.
    services = Services(Settings.from_env({}, DATABASE_URL=database_url, DATABASE_POOL_SIZE=1, MAX_WORKERS=50))
    try:
        backends = {services.database.run(lambda cur: (cur.execute("SELECT pg_backend_pid()"), cur.fetchone())[1])
                    for _ in range(5)}
        assert len(backends) == 1
        assert services.database.max_connections == 1
    finally:
        services.close()


def test_iam_authentication_makes_a_fresh_token_per_connection(monkeypatch) -> None:
    # Given IAM authentication settings (the token is a SigV4-presigned URL made locally)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    settings = Settings.from_env(
        {}, DATABASE_IAM_AUTH=True, DATABASE_HOST="proxy.example.com", DATABASE_USER="vidscribe",
        DATABASE_NAME="videos", DATABASE_PORT=5433, AWS_REGION="eu-west-1",
    )
    dsn = iam_dsn_factory(settings)
    # When two connections are made
    first, second = psycopg2.extensions.parse_dsn(dsn()), psycopg2.extensions.parse_dsn(dsn())
    # Then each carries a token for exactly that host, port and user, over TLS
    assert (first["host"], first["port"], first["user"], first["dbname"]) == ("proxy.example.com", "5433",
                                                                             "vidscribe", "videos")
    assert first["sslmode"] == "require"
    token = first["password"]
    assert token.startswith("proxy.example.com:5433/?Action=connect&DBUser=vidscribe")
    assert "X-Amz-Signature=" in token and "X-Amz-Expires=900" in token
    assert second["password"].startswith("proxy.example.com:5433/?Action=connect")


def test_iam_authentication_names_what_is_missing() -> None:
    with pytest.raises(Exception, match="DATABASE_HOST, DATABASE_USER"):
        iam_dsn_factory(Settings.from_env({}, DATABASE_IAM_AUTH=True, DATABASE_NAME="videos"))


def test_a_first_deploy_reports_not_configured_once_instead_of_failing(sqs_server, monkeypatch, caplog) -> None:
    # Given the database secret the stack created, still holding its random placeholder
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=sqs_server.endpoint_url)
    arn = client.create_secret(Name="vidscribe-db-placeholder", SecretString="Yq3w8JbTzR1kX0vN5mC7aLpE2sD4fG6h")["ARN"]
    from vidscribe.handlers import fetcher_handler
    from vidscribe.local.lambda_emulation import LocalLambdaContext

    services = Services(Settings.from_env({}, DATABASE_SECRET_ARN=arn, QUEUE_URL="http://unused"))
    handler = fetcher_handler(lambda: services)  # as functions/fetcher/app.py binds it, once per environment
    # When the schedule runs the fetcher twice
    with caplog.at_level(logging.WARNING):
        results = [handler({}, LocalLambdaContext("fetcher")) for _ in range(2)]
    # Then it fetches nothing, fails nothing, and says so once, naming what to do
    assert results == [{"enqueued": 0, "queue_depth": 0, "configured": False}] * 2
    said = [r for r in caplog.records if "not configured yet" in r.getMessage()]
    assert len(said) == 1
    assert "put-secret-value" in str(said[0].__dict__.get("reason"))
    assert "Yq3w8JbTzR1kX0vN5mC7aLpE2sD4fG6h" not in caplog.text


def test_a_secret_that_holds_a_url_is_used(sqs_server, database_url, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=sqs_server.endpoint_url)
    arn = client.create_secret(Name="vidscribe-db-set", SecretString=database_url)["ARN"]
    services = Services(Settings.from_env({}, DATABASE_SECRET_ARN=arn, AWS_REGION="us-east-1"))
    try:
        assert services.database.run(lambda cur: (cur.execute("SELECT 1"), cur.fetchone())[1]) == (1,)
    finally:
        services.close()


def test_not_configured_is_a_configuration_error() -> None:
    from vidscribe.errors import ConfigurationError

    assert issubclass(NotConfigured, ConfigurationError)
