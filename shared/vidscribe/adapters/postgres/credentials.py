"""How the functions reach PostgreSQL: a URL from the environment or Secrets Manager, or IAM
database authentication (RDS, RDS Proxy), plus the TLS parameters that override the URL's."""

from __future__ import annotations

from collections.abc import Callable

from psycopg2.extensions import make_dsn, parse_dsn

from ...config import Settings
from ...errors import ConfigurationError, NotConfigured
from .database import Dsn


def looks_like_a_dsn(value: str) -> bool:
    """A PostgreSQL URL or a key=value connection string (what libpq accepts)."""
    if value.startswith(("postgres://", "postgresql://")):
        return True
    try:
        return bool(parse_dsn(value))
    except Exception:  # psycopg2.ProgrammingError for anything libpq cannot parse
        return False


def database_dsn(settings: Settings, read_secret: Callable[[str], str]) -> Dsn:
    """The DSN (or, with IAM authentication, what makes a fresh one per connection)."""
    if settings.database_iam_auth:
        return iam_dsn_factory(settings)
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if settings.database_secret_arn:
        value = read_secret(settings.database_secret_arn).strip()
        if not looks_like_a_dsn(value):
            # The placeholder the stack created: nothing to connect to until someone sets it.
            raise NotConfigured(
                "the database secret (DATABASE_SECRET_ARN) holds no PostgreSQL URL yet: set it with "
                "`aws secretsmanager put-secret-value --secret-id <DatabaseSecretArn> --secret-string "
                "postgresql://user:password@host:5432/dbname`"
            )
        return value
    raise ConfigurationError("no database configured: set DATABASE_URL (or DATABASE_SECRET_ARN in AWS)")


def connection_options(settings: Settings) -> dict[str, str]:
    """TLS parameters from the environment, overriding whatever the URL says."""
    options: dict[str, str] = {}
    if settings.database_sslmode:
        options["sslmode"] = settings.database_sslmode
    if settings.database_sslrootcert:
        options["sslrootcert"] = settings.database_sslrootcert
    return options


def iam_dsn_factory(settings: Settings) -> Callable[[], str]:
    """A DSN per connection with a fresh IAM authentication token (valid 15 minutes) as password."""
    host, user, name = settings.database_host, settings.database_user, settings.database_name
    port = settings.database_port
    if not (host and user and name):
        missing = [k for k, v in (("DATABASE_HOST", host), ("DATABASE_USER", user), ("DATABASE_NAME", name)) if not v]
        raise ConfigurationError(f"DATABASE_IAM_AUTH=true needs {', '.join(missing)}")

    def dsn() -> str:
        import boto3

        client = boto3.client("rds", region_name=settings.aws_region)
        token = client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=settings.aws_region)
        # IAM authentication requires TLS; verify-full is set by DATABASE_SSLMODE in the stack.
        return make_dsn(host=host, port=port, user=user, dbname=name, password=token, sslmode="require")

    return dsn
