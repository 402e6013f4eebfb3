"""Shared fixtures: a real PostgreSQL, a real SQS endpoint, and the real local model.

PostgreSQL: DATABASE_URL when set; else the server on 127.0.0.1:5432 when one answers (trust auth);
else an embedded server started from the pgserver wheel. Each test session works in a database of
its own, created here and dropped at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from pydantic import SecretStr

from tests.support.database import PostgresUnderTest
from tests.support.queues import unique_queue_name
from vidscribe.adapters.sqs import SqsQueue, create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer, start_embedded_postgres

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# boto3 wants credentials even for a local endpoint; never let tests reach a real account.
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
# pgserver (through platformdirs) wants a private runtime directory; a shared /tmp one is refused.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="vidscribe-run-"))


def _admin_url(tmp_root: Path) -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    try:
        psycopg2.connect(LOCAL_POSTGRES, connect_timeout=3).close()
        return LOCAL_POSTGRES
    except psycopg2.OperationalError:
        return start_embedded_postgres(tmp_root / "pgdata")


def _with_dbname(url: str, dbname: str) -> str:
    # Both URL shapes occur: ...host:port/db and pgserver's .../db?host=/socket/dir
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{dbname}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    admin = _admin_url(tmp_path_factory.mktemp("postgres"))
    name = f"vidscribe_test_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin, name)
    store = PostgresUnderTest(url)
    store.migrate()
    store.close()
    try:
        yield url
    finally:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.close()


@pytest.fixture()
def store(database_url: str) -> Iterator[PostgresUnderTest]:
    """A store over empty tables."""
    store = PostgresUnderTest(database_url)
    store.execute(
        "TRUNCATE videos, transcripts, transcript_versions, video_jobs, failures, video_part_plans, video_parts"
        " RESTART IDENTITY"
    )
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def sqs_server() -> Iterator[MotoSqsServer]:
    with MotoSqsServer() as server:
        yield server


@pytest.fixture()
def settings(database_url: str, sqs_server: MotoSqsServer) -> Settings:
    """Settings for one test: its own queue pair, fast retries, loopback media allowed."""
    base = Settings.from_env(
        {},
        DATABASE_URL=database_url,
        AWS_ENDPOINT_URL=sqs_server.endpoint_url,
        ALLOW_PRIVATE_URLS=True,
        RETRY_BACKOFF_SECONDS=0,
        VISIBILITY_TIMEOUT_SECONDS=30,
        MAX_WORKERS=2,
    )
    queue_url, dlq_url = create_queue_pair(sqs_client(base), unique_queue_name("test"), visibility_timeout=30)
    return base.replace(queue_url=queue_url, dlq_url=dlq_url, database_url=SecretStr(database_url))


@pytest.fixture()
def queue(settings: Settings) -> SqsQueue:
    return SqsQueue(sqs_client(settings), settings.queue_url)


@pytest.fixture()
def dlq(settings: Settings) -> SqsQueue:
    return SqsQueue(sqs_client(settings), settings.dlq_url)


@pytest.fixture(scope="session")
def local_model_settings() -> Settings:
    return Settings.from_env({}, MAX_WORKERS=2, WHISPER_MODEL="tiny.en")  # tests that need *a* model: the fast one


@pytest.fixture(scope="session")
def local_backend(local_model_settings: Settings):
    """The real tiny.en model, loaded once for the whole session."""
    from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend

    return LocalWhisperBackend(local_model_settings)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings.from_env({}, MAX_WORKERS=2, WHISPER_MODEL="base")


@pytest.fixture(scope="session")
def base_backend(base_settings: Settings):
    """The real multilingual base model (joined from its packages if need be), loaded once."""
    from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend

    return LocalWhisperBackend(base_settings)
