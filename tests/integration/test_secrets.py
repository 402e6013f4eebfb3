"""Secrets never printed or stored in the clear, whatever form they come in.

A secret is planted in each form the database URL takes (a ``postgresql://`` URL, a key=value DSN,
garbage that is neither) and in a media URL (``user:password@`` and a token in the query string).
The command line then runs as a person would (separate processes, their real stdout and stderr,
with ``-v`` log lines both as text and as JSON), and no secret may appear in any output, in any
failure record or job error, or anywhere else vidscribe writes in the database except where the
URL itself must live to be fetched (the videos table's url and the job's copy of it).
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2
import pytest

from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.service import cli_env, run_cli

DB_SECRET = "DbPassw0rdPlanted"
MEDIA_PASSWORD = "MediaPassw0rdPlanted"
MEDIA_TOKEN = "MediaT0kenPlanted"
SECRETS = (DB_SECRET, MEDIA_PASSWORD, MEDIA_TOKEN)


def with_password_url(url: str) -> str:
    """The test database's URL with a password (trust auth ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1) if "@" in rest else ("postgres", rest)
    return f"{scheme}://{user.split(':')[0]}:{DB_SECRET}@{host}"


def as_key_value(url: str) -> str:
    params = psycopg2.extensions.parse_dsn(url)
    params["password"] = DB_SECRET
    return " ".join(f"{k}={v}" for k, v in params.items())


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("form, log_format", [("url", "text"), ("key-value", "json")])
def test_no_secret_in_any_output_or_record(
    form: str, log_format: str, store: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    # Given the database URL with a password, and videos whose URLs carry a password and a token
    dsn = with_password_url(database_url) if form == "url" else as_key_value(database_url)
    assert DB_SECRET in dsn
    with FaultyMediaServer() as media:
        media.always_fail("private.mp4", 404)
        media.always_fail("flaky.mp4", 503)
        host = media.base_url.split("://", 1)[1]
        refused = f"http://viewer:{MEDIA_PASSWORD}@{host}/private.mp4?token={MEDIA_TOKEN}&v=2"
        retried = f"http://{host}/flaky.mp4?X-Amz-Signature={MEDIA_TOKEN}"
        env = cli_env(
            tmp_path,
            DATABASE_URL=dsn,
            ALLOW_PRIVATE_URLS="true",
            RETRY_BACKOFF_SECONDS="0",
            TRANSCRIBER="openai",
            OPENAI_API_KEY="sk-unused-0123456789",
            LOG_FORMAT=log_format,
        )

        # When a person adds them, queues one by hand, runs, and reads the failures and the status
        outputs, stdout = [], {}
        for argv in (
            ["-v", "videos", "add", "private", refused],
            ["-v", "enqueue", "flaky", "--url", retried],
            ["-v", "run", "--once", "--json"],
            ["-v", "failures", "--all", "--json"],
            ["-v", "status", "--json"],
        ):
            done = run_cli(argv, env)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout + done.stderr)
            stdout[argv[1]] = done.stdout

    # Then the run did what it should, and said so without a secret
    assert json.loads(stdout["run"])["failed_by_type"] == {"FetchError": 1, "FetchRefused": 1}
    records = json.loads(stdout["failures"])
    assert {r["video_id"]: r["error_type"] for r in records} == {"private": "FetchRefused", "flaky": "FetchError"}
    assert all(r["original_message"] for r in records)
    everything = "\n".join(outputs)
    assert "private.mp4" in everything and leaks(everything) == []

    # And nothing vidscribe wrote keeps one: failure records, job errors, transcripts
    stored = store.database.run(
        lambda cur: (
            cur.execute(
                "SELECT coalesce(string_agg(concat_ws(' ', error_type, message, original_message), ' '), '')"
                " FROM failures"
            ),
            cur.fetchone()[0]
            + "".join(
                str(row)
                for row in (
                    cur.execute("SELECT last_error_type, last_error, claimed_by, queue_url FROM video_jobs"),
                    cur.fetchall(),
                )[1]
            ),
        )[1]
    )
    assert "FetchRefused" in stored and leaks(stored) == []
    # (the URL itself must stay where it is fetched from: that is the user's own data)
    assert store.video_url("private") == refused


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://app:{DB_SECRET}@127.0.0.1:1/prod",
        f"host=127.0.0.1 port=1 user=app password={DB_SECRET} dbname=prod",
        f"host=127.0.0.1 password = '{DB_SECRET}' dbname",
        f"postgres//app:{DB_SECRET}@db/x",
        DB_SECRET,
        f"{DB_SECRET} garbage",
    ],
    ids=["url", "key-value", "key-value-malformed", "url-malformed", "bare", "garbage"],
)
def test_no_database_secret_in_a_connection_error(dsn: str, tmp_path: Path) -> None:
    # psycopg2 echoes parts of a malformed DSN in its message: 'missing "=" after "<password>"'
    for argv in (["-v", "run", "--once"],):
        done = run_cli(argv, cli_env(tmp_path, DATABASE_URL=dsn, LOG_FORMAT="json"))
        assert done.returncode == 2
        assert done.stderr.strip().splitlines()[-1].startswith("vidscribe: DATABASE_URL"), done.stderr
        assert leaks(done.stdout + done.stderr) == [], done.stderr
