"""Inputs that once lost videos, leaked secrets or stored what a terminal obeys: each ends in a
recorded, readable outcome, and nothing from outside is stored or printed raw.

Real parts throughout: the test PostgreSQL (a view over a table, as a user adapts an existing
catalogue), moto's SQS server, loopback HTTP servers that answer as a hostile server would, and the
command line as separate processes where what matters is what a person sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from tests.support.service import cli_env, run_cli
from vidscribe.adapters.sqs import SqsQueue
from vidscribe.cli import main
from vidscribe.config import Settings
from vidscribe.local.runtime import LocalRuntime
from vidscribe.services import Services
from vidscribe.workflow import Fetcher

RAW_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what a terminal obeys (tab and newline aside)


# --- a videos table that is a view over someone's catalogue -------------------------------------------------
@pytest.fixture()
def catalogue(store: PostgresUnderTest, database_url: str) -> Iterator[dict[str, str | None]]:
    """A view ``catalogue_view`` (id, url) over a table, with good rows, an id of 3,000 characters
    (random, so that PostgreSQL cannot compress it under the 2,704-byte index entry limit) and a row
    whose url is NULL. Yields the rows by id."""
    long_id = os.urandom(1500).hex()
    rows: dict[str, str | None] = {
        "cat-a": "http://media.example/a.mp4",
        long_id: "http://media.example/long.mp4",
        "cat-b": "http://media.example/b.mp4",
        "cat-no-url": None,
        "cat-c": "http://media.example/c.mp4",
    }
    store.execute("DROP VIEW IF EXISTS catalogue_view")
    store.execute("DROP TABLE IF EXISTS catalogue")
    # keyed by a number of its own: no index could hold such an id either
    store.execute("CREATE TABLE catalogue (n serial PRIMARY KEY, ref text, link text)")
    for video_id, url in rows.items():
        store.execute("INSERT INTO catalogue (ref, link) VALUES (%s, %s)", (video_id, url))
    store.execute("CREATE VIEW catalogue_view AS SELECT ref AS id, link AS url FROM catalogue")
    try:
        yield rows
    finally:
        store.execute("DROP VIEW catalogue_view")
        store.execute("DROP TABLE catalogue")


def test_an_over_long_id_in_a_view_blocks_nothing_and_gets_its_record(
    catalogue: dict[str, str | None], database_url: str, settings: Settings, queue: SqsQueue
) -> None:
    # Given a view whose rows include an id longer than an index entry may be, and a NULL url
    long_id = next(v for v in catalogue if len(v) > 256)
    view_store = PostgresUnderTest(database_url, videos_table="catalogue_view")
    fetcher = Fetcher(settings.replace(videos_table="catalogue_view"), view_store, queue)
    try:
        # When the fetcher runs
        started = time.monotonic()
        first = fetcher.run()
        seconds = time.monotonic() - started

        # Then the good rows are queued in that same run
        sent = sorted(json.loads(m.body)["video_id"] for m in queue.receive(10))
        assert (first.enqueued, sent) == (3, ["cat-a", "cat-b", "cat-c"])
        # and each bad row has one record that says what is true, the long id under a stand-in that
        # names its start, with the whole row kept in the original message
        records = {r.video_id: r for r in view_store.failures()}
        stand_in = long_id[:64] + "…#" + hashlib.md5(long_id.encode()).hexdigest()
        assert set(records) == {stand_in, "cat-no-url"}
        assert records[stand_in].error_type == records["cat-no-url"].error_type == "MalformedMessage"
        assert records[stand_in].message.startswith(
            "the videos table row cannot be queued: video_id is 3,000 characters long (at most 256); "
            f"recorded as '{stand_in}'"
        )
        assert json.loads(records[stand_in].original_message) == {"video_id": long_id, "url": catalogue[long_id]}
        assert records["cat-no-url"].message == "the videos table row cannot be queued: its url is NULL"
        print(f"\nfetch with a 3,000-character id in the view: {seconds * 1000:.0f} ms, 3 queued, 2 recorded")

        # When it runs again, and again after the operator dismissed the long id's record
        assert view_store.reserve_pending(10, 60, queue_url=queue.url) == []  # the bad rows are not candidates
        second = fetcher.run()
        assert view_store.dismiss_failures([records[stand_in].id]).dismissed == [records[stand_in].id]
        third = fetcher.run()

        # Then nothing is sent twice and nothing is recorded twice: the bad rows are passed over
        assert second.enqueued == third.enqueued == 0
        assert len(view_store.failures(include_resolved=True)) == 2
    finally:
        view_store.close()


def test_enqueue_of_a_row_whose_url_is_null_says_so(
    catalogue: dict[str, str | None], database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VIDEOS_TABLE", "catalogue_view")
    assert main(["enqueue", "cat-no-url"]) == 1
    assert capsys.readouterr().err == (
        "vidscribe: video 'cat-no-url' has no url in the videos table (it is NULL): give its --url\n"
    )
    assert main(["enqueue", "not-a-row"]) == 1
    assert "video 'not-a-row' is not in the videos table: give its --url" in capsys.readouterr().err


# --- a message whose id no database can hold ------------------------------------------------------------------
def test_a_lone_surrogate_through_the_dlq_consumer_ends_in_one_record(
    settings: Settings, store: PostgresUnderTest, queue: SqsQueue, dlq: SqsQueue, local_backend
) -> None:
    # Given messages that reached the dead-letter queue with a lone UTF-16 surrogate, in the id and in
    # the url: plain ASCII JSON ("\ud800"), which SQS accepts
    bodies = [json.dumps({"video_id": "\ud800", "url": "http://media.example/v.mp4"}), json.dumps(
        {"video_id": "sur-url", "url": "http://media.example/\udc00.mp4"}
    )]
    assert bodies[0] == '{"video_id": "\\ud800", "url": "http://media.example/v.mp4"}'
    dlq.send(bodies)

    # When the local runtime's DLQ consumer takes them
    services = Services(settings, backend=local_backend)
    try:
        report = LocalRuntime(services, poll_interval=0.1).run(once=True)
    finally:
        services.close()

    # Then each is one MalformedMessage record that says why, the DLQ is empty, and the original
    # message is kept whole: it still parses, to the very same id
    assert report.dead_letters == 2 and sum(dlq.depth()) == 0
    records = sorted(store.failures(), key=lambda r: r.video_id or "")
    assert [(r.video_id, r.error_type) for r in records] == [
        (None, "MalformedMessage"), ("sur-url", "MalformedMessage")
    ]
    assert records[0].message == "invalid message: video_id contains a lone UTF-16 surrogate (not valid Unicode text)"
    assert records[1].message == "invalid message: url contains a lone UTF-16 surrogate (not valid Unicode text)"
    assert [r.original_message for r in records] == bodies
    assert json.loads(records[0].original_message)["video_id"] == "\ud800"


# --- secrets in query strings, whatever their names --------------------------------------------------------
QUERY_SECRETS = {
    "auth_key": "AuthKeyPlanted1",
    "hdnts": "exp=1~acl=/*~hmac=HdntsPlanted2",
    "md5": "Md5Planted3",
    "zq_madeup": "MadeUpPlanted4",
}
QUERY = "&".join(f"{name}={value}" for name, value in QUERY_SECRETS.items())


def leaks(text: str) -> list[str]:
    return [value for value in QUERY_SECRETS.values() if value in text]


def closed_port() -> int:
    """A loopback port nothing listens on (a connection there is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stored_text(store: PostgresUnderTest) -> str:
    def work(cur) -> str:
        cur.execute("SELECT coalesce(string_agg(concat_ws(' ', message, original_message), ' '), '') FROM failures")
        records = cur.fetchone()[0]
        cur.execute("SELECT coalesce(string_agg(concat_ws(' ', last_error, queue_url), ' '), '') FROM video_jobs")
        return records + " " + cur.fetchone()[0]

    return store.database.run(work)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_in_any_query_key_never_leave_the_process(
    log_format: str, store: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    # Given videos whose URLs carry tokens under names no list knows: one on a port where nothing
    # listens (urllib3 then names the relative URL, query and all), one the server refuses, and one
    # queued by hand (its message body becomes the failure record's original message)
    with FaultyMediaServer() as media:
        media.always_fail("gone.mp4", 404)
        refused = f"http://127.0.0.1:{closed_port()}/v.mp4?{QUERY}"
        env = cli_env(
            tmp_path, DATABASE_URL=database_url, ALLOW_PRIVATE_URLS="true", RETRY_BACKOFF_SECONDS="0",
            HTTP_CONNECT_TIMEOUT="2", LOG_FORMAT=log_format,
        )
        outputs, stdout = [], {}
        for argv in (
            ["-v", "videos", "add", "q-refused", refused],
            ["-v", "videos", "add", "q-gone", f"{media.url('gone.mp4')}?{QUERY}"],
            ["-v", "enqueue", "q-hand", "--url", f"{media.url('gone.mp4')}?{QUERY}"],
            ["-v", "run", "--once", "--json"],
            ["-v", "failures", "--all"],
            ["-v", "failures", "--json"],
            ["-v", "status", "--json"],
        ):
            done = run_cli(argv, env)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout + done.stderr)
            stdout[" ".join(argv[1:])] = done.stdout

    # Then the run did what it should, the connection error was recorded with its relative URL, and
    # no secret is in any output, failure record or job error: only the names are left
    records = {r["video_id"]: r for r in json.loads(stdout["failures --json"])}
    assert {v: r["error_type"] for v, r in records.items()} == {
        "q-refused": "FetchError", "q-gone": "FetchRefused", "q-hand": "FetchRefused"
    }
    assert "with url: /v.mp4?auth_key=***&hdnts=***&md5=***&zq_madeup=***" in records["q-refused"]["message"]
    for record in records.values():  # the original message is still the JSON message it was
        assert json.loads(record["original_message"])["url"].endswith("?auth_key=***&hdnts=***&md5=***&zq_madeup=***")
    assert leaks("\n".join(outputs)) == [] and leaks(stored_text(store)) == []
    # (the URL itself stays where it is fetched from: the user's own data)
    assert store.video_url("q-refused") == refused


# --- a server that sends terminal escape codes -----------------------------------------------------------------
ESCAPED_REASON = "Forbidden\x1b[2J\x1b]0;owned\x07"


class _HostileHandler(BaseHTTPRequestHandler):
    """403 with escape codes in the reason phrase for /reason.mp4; an HTML page whose Content-Type
    carries them for anything else."""

    def do_GET(self) -> None:
        if self.path.startswith("/reason"):
            self.send_response(403, ESCAPED_REASON)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<!doctype html><html><body>sign in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html\x1b[31m\x1b]8;;http://evil.example\x07")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def hostile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_escape_codes_from_a_server_are_never_stored_or_printed_raw(
    hostile_server: str, store: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    # Given videos on a server whose reason phrase and Content-Type carry terminal escape codes
    env = cli_env(tmp_path, DATABASE_URL=database_url, ALLOW_PRIVATE_URLS="true", RETRY_BACKOFF_SECONDS="0")
    store.add_videos([("esc-reason", f"{hostile_server}/reason.mp4"), ("esc-type", f"{hostile_server}/page.mp4")])

    # When the pipeline runs, an operator reads the failures, and someone transcribes the URL directly
    outputs = [run_cli(argv, env) for argv in (
        ["-v", "run", "--once"], ["failures"], ["failures", "--json"], ["transcribe", f"{hostile_server}/reason.mp4"],
        ["transcribe", f"{hostile_server}/page.mp4"],
    )]

    # Then every outcome is recorded with the server's words, inert: no escape code reaches a
    # terminal or the database, and each shows as a readable \u001b
    assert [o.returncode for o in outputs] == [0, 0, 0, 1, 1], [o.stderr[-500:] for o in outputs]
    records = {r.video_id: r for r in store.failures()}
    assert {v: r.error_type for v, r in records.items()} == {"esc-reason": "FetchRefused", "esc-type": "NotMedia"}
    assert "Forbidden\\u001b[2J\\u001b]0;owned\\u0007" in records["esc-reason"].message
    assert "text/html\\u001b[31m" in records["esc-type"].message
    printed = "".join(o.stdout + o.stderr for o in outputs)
    assert "Forbidden\\u001b[2J" in outputs[1].stdout and "Forbidden\\u001b[2J" in outputs[3].stderr
    assert RAW_ESCAPES.findall(printed) == [] and RAW_ESCAPES.findall(stored_text(store)) == []
