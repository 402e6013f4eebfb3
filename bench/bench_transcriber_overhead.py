"""What does the transcriber cost per message, apart from the model and the media?

Times Transcriber.process (the core every transcriber invocation runs) one message at a time against
a real PostgreSQL, with the media source and the backend replaced by instant in-memory stand-ins and
no queue, for each path a message can take:
- skip, already transcribed (a rerun, a duplicate delivered after the first one finished);
- skip, in flight elsewhere (a duplicate delivered while another worker holds the lease);
- claim and store (the work: claim, fetch + transcribe = the stand-ins, store the transcript);
each with the message as the fetcher sends it (video id and URL) and as sent by hand without a URL
(the URL is then looked up in the videos table).

Database round trips are counted, not guessed: every PostgreSQL connection of the store counts the
statements its cursors execute and the transactions it ends; psycopg2 sends BEGIN and COMMIT as
queries of their own, so round trips = statements + 2 x transactions. The baseline, measured in the
same run, is one bare round trip (SELECT 1 on an open autocommit connection), measured right before
each path: each path is also given in round trips' worth of time, which says how much of its cost
is the database's latency. Connections opened per message are counted too (the store's pool keeps
its connections, so after the warm-up this should read 0).

    .venv/bin/python bench/bench_transcriber_overhead.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the CLI's default; set before vidscribe creates its logger

from common import InstantBackend, InstantMedia, admin_url, create_database

from tests.support.database import PostgresUnderTest
from vidscribe.config import Settings
from vidscribe.models import VideoMessage
from vidscribe.workflow import Outcome, Transcriber


# --- counting round trips ------------------------------------------------------------------------
class Counter:
    statements = 0
    transactions = 0
    connections = 0

    @classmethod
    def snapshot(cls) -> tuple[int, int, int]:
        return cls.statements, cls.transactions, cls.connections


class CountingCursor(psycopg2.extensions.cursor):
    def execute(self, query: Any, vars: Any = None) -> Any:
        Counter.statements += 1
        return super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        vars_list = list(vars_list)
        Counter.statements += len(vars_list)
        return super().executemany(query, vars_list)


class CountingConnection(psycopg2.extensions.connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Counter.connections += 1
        super().__init__(*args, **kwargs)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", CountingCursor)
        return super().cursor(*args, **kwargs)

    def commit(self) -> None:
        Counter.transactions += 1
        super().commit()

    def rollback(self) -> None:
        Counter.transactions += 1
        super().rollback()


@contextmanager
def counting_store(url: str) -> Iterator[PostgresUnderTest]:
    """The real store, its connections opened as counting ones (the SQL, the pool and the
    transactions are untouched)."""
    store = PostgresUnderTest(url, connection_factory=CountingConnection)
    try:
        yield store
    finally:
        store.close()


# --- the database --------------------------------------------------------------------------------
def seed(url: str, prefix: str, n: int, state: str) -> list[tuple[str, str]]:
    """n videos named prefix-NNNNNN: 'done' with a transcript, 'processing' with a live lease, or
    'queued' with a live lease (as the fetcher leaves them)."""
    vid = f"'{prefix}-' || lpad(i::text, 6, '0')"
    url_of = f"'https://media.example.com/{prefix}/' || i || '.mp4'"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO videos (id, url) SELECT {vid}, {url_of} FROM generate_series(0, %s) i", (n - 1,))
        lease = "NULL" if state == "done" else "now() + interval '1 day'"
        cur.execute(
            "INSERT INTO video_jobs (video_id, url, state, attempts, lease_expires_at)"
            f" SELECT {vid}, {url_of}, %s, %s, {lease} FROM generate_series(0, %s) i",
            (state, 0 if state == "queued" else 1, n - 1),
        )
        if state == "done":
            cur.execute(
                "INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)"
                f" SELECT {vid}, 'hello world', '[]', 'en', 1.0, 'local', 'tiny.en' FROM generate_series(0, %s) i",
                (n - 1,),
            )
        cur.execute(f"SELECT {vid}, {url_of} FROM generate_series(0, %s) i", (n - 1,))
        rows = cur.fetchall()
        cur.execute("VACUUM (ANALYZE)")
    conn.close()
    return rows


# --- measuring -----------------------------------------------------------------------------------
class BareRoundTrip:
    """The baseline: SELECT 1 on an open autocommit connection, measured right before each path so
    that both see the same load on this shared machine."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True
        self.measure(200)  # warm up

    def measure(self, n: int = 1000) -> float:
        with self.conn.cursor() as cur:
            started = time.perf_counter()
            for _ in range(n):
                cur.execute("SELECT 1")
                cur.fetchone()
            return (time.perf_counter() - started) / n

    def measure_write(self, n: int = 300) -> float:
        """One small write transaction (BEGIN, UPDATE one row, COMMIT): 3 round trips, and the
        COMMIT waits for the WAL to reach the disk."""
        with self.conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_tick (id int PRIMARY KEY, n bigint NOT NULL)")
            cur.execute("INSERT INTO bench_tick VALUES (1, 0) ON CONFLICT DO NOTHING")
            started = time.perf_counter()
            for _ in range(n):
                cur.execute("BEGIN")
                cur.execute("UPDATE bench_tick SET n = n + 1 WHERE id = 1")
                cur.execute("COMMIT")
            return (time.perf_counter() - started) / n

    def close(self) -> None:
        self.conn.close()


def measure(
    label: str,
    transcriber: Transcriber,
    rows: list[tuple[str, str]],
    with_url: bool,
    expect: Outcome,
    baseline: BareRoundTrip,
    verify: Callable[[], None] | None = None,
) -> None:
    bodies = [VideoMessage(video_id=v, url=u if with_url else None).body() for v, u in rows]
    # Warm up on the first few (they are then excluded from the counts and timings).
    warm = min(50, len(bodies) // 10)
    for body in bodies[:warm]:
        transcriber.process(body)
    round_trip = baseline.measure()
    statements0, transactions0, connections0 = Counter.snapshot()
    times = []
    outcomes: dict[str, int] = {}
    for body in bodies[warm:]:
        started = time.perf_counter()
        result = transcriber.process(body)
        times.append(time.perf_counter() - started)
        outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
    statements1, transactions1, connections1 = Counter.snapshot()
    n = len(times)
    if outcomes != {expect.value: n}:
        raise SystemExit(f"{label}: expected {n} x {expect.value}, got {outcomes}")
    if verify:
        verify()
    if statements1 == statements0:
        raise SystemExit(f"{label}: no statement was counted: the store no longer opens its connections "
                         "with psycopg2.connect, update counting_store()")
    statements = (statements1 - statements0) / n
    transactions = (transactions1 - transactions0) / n
    trips = statements + 2 * transactions
    connections = (connections1 - connections0) / n
    times.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (n - 1))]
    mean = statistics.fmean(times)
    print(
        f"  {label:<44} {median * 1e6:7.0f} {p95 * 1e6:7.0f} {1 / mean:7.0f}"
        f"   {statements:4.1f} {transactions:4.1f} {trips:5.1f} {connections:5.1f}"
        f"   {round_trip * 1e6:5.0f} {median / round_trip:5.0f} {median / (trips * round_trip):5.1f}"
    )


LEGEND = """
  trip: one bare round trip (SELECT 1 on an open autocommit connection), measured right before the path;
  ÷trip: the median in bare round trips; ÷all: the median over trips/msg bare round trips (near 1: the
  path costs its round trips and little else; well above 1: connecting, WAL flushes, server work, Python).
  Writing transactions (each COMMIT waits for a WAL flush): skip already transcribed 0; skip in flight 1
  (the claim's upsert locks the job row even when its WHERE refuses the update); claim + store 2."""


def transcripts_for(url: str, prefix: str, expected: int) -> Callable[[], None]:
    """After the claim + store path: one transcript and a done job per video."""

    def verify() -> None:
        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE j.state = 'done') FROM transcripts t"
                " JOIN video_jobs j USING (video_id) WHERE t.video_id LIKE %s AND t.backend = 'instant'",
                (f"{prefix}-%",),
            )
            got = cur.fetchone()
        conn.close()
        assert got == (expected, expected), f"{prefix}: {got} transcripts/done jobs, expected {expected}"

    return verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per path")
    args = parser.parse_args()
    n = args.messages

    with tempfile.TemporaryDirectory() as tmp:
        admin, name = admin_url(Path(tmp)), f"vidscribe_bench_transcriber_{os.getpid()}"
        url = create_database(admin, name)
        try:
            settings = Settings.from_env({}, DATABASE_URL=url)
            baseline = BareRoundTrip(url)
            print(f"baselines: one bare round trip {baseline.measure(2000) * 1e6:.0f} µs; one small write transaction "
                  f"(3 round trips, its COMMIT waits for the WAL flush) {baseline.measure_write() * 1e6:.0f} µs")
            with counting_store(url) as store:
                transcriber = Transcriber(settings, store, None, InstantMedia(), InstantBackend())
                print(f"\nTranscriber.process, one message at a time, {n:,} messages per path")
                print(f"  {'path':<44} {'median':>7} {'p95':>7} {'msg/s':>7}   {'stmt':>4} {'txn':>4} {'trips':>5}"
                      f" {'conns':>5}   {'trip':>5} {'':>5} {'':>5}")
                print(f"  {'':<44} {'µs':>7} {'µs':>7} {'':>7}   {'/msg':>4} {'/msg':>4} {'/msg':>5} {'/msg':>5}"
                      f"   {'µs':>5} {'÷trip':>5} {'÷all':>5}")
                for with_url in (True, False):
                    tag = "URL in the message" if with_url else "no URL: looked up"
                    p = "u" if with_url else "n"
                    measure(f"skip: already transcribed ({tag})", transcriber, seed(url, f"done{p}", n, "done"),
                            with_url, Outcome.SKIPPED, baseline)
                    measure(f"skip: in flight elsewhere ({tag})", transcriber, seed(url, f"busy{p}", n, "processing"),
                            with_url, Outcome.SKIPPED, baseline)
                    measure(f"claim + store ({tag})", transcriber, seed(url, f"work{p}", n, "queued"),
                            with_url, Outcome.TRANSCRIBED, baseline, verify=transcripts_for(url, f"work{p}", n))
            baseline.close()
            print(LEGEND)
        finally:
            conn = psycopg2.connect(admin)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.close()


if __name__ == "__main__":
    main()
