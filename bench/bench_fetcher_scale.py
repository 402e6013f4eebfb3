"""Does the fetcher hold up with a million videos?

Measures, in one run on this machine, against a fresh database and moto's SQS server:
1. the plan of the fetcher's selection (the exact statement PostgresUnderTest.reserve_pending runs, for
   a limit of --batch) with --rows videos of which --untranscribed have no transcript, from
   EXPLAIN (ANALYZE, BUFFERS) in a transaction that is rolled back, and whether it is index-driven;
2. one Fetcher.run reserving --batch videos from that table, twice in a row: what the fetcher
   itself costs (the database and the messages; the queue here is an in-memory stand-in that only
   records what it is given, so that moto's cost is left out) and that the second run queues
   nothing the first one queued;
3. Fetcher.run enqueueing --moto-batch videos into a fresh moto queue, against a bare
   send_message_batch loop of the same number of messages into a fresh queue of the same endpoint,
   so that both see the same depth profile (moto's every call costs time proportional to the
   queue's depth); --rounds fetcher runs, each between two bare loops, compared by their medians,
   because the machine is shared and one run can be slowed by someone else's;
4. --fetchers fetchers (threads, each with its own store and SQS client) started together over a
   fresh set of --concurrent-videos videos, each running until it finds nothing three times, then
   one more run that must queue nothing; every message is received back: distinct video ids must
   equal messages received, and cover the whole set.

    .venv/bin/python bench/bench_fetcher_scale.py [--rows 1000000] [--untranscribed 100000]
        [--batch 10000] [--moto-batch 1000] [--rounds 2] [--layout newest|spread]
        [--fetchers 4] [--concurrent-videos 1000] [--concurrent-batch 50]

moto makes --moto-batch 10000 slow: every send scans the whole queue, so filling one queue to
10,000 took 15-17 minutes per run here (--moto-batch 10000 --rounds 1: about 48 minutes in all).
By default step 3 runs at 1,000 and also prints what moto's best rate implies for the ratio at
--batch. Exits non-zero when a check fails (a Seq Scan in the plan, a video queued twice, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # before vidscribe creates its logger

from common import admin_url, create_database, drop_database

from tests.support.database import PostgresUnderTest
from tests.support.queues import unique_queue_name
from tests.support.sql_capture import statement_of
from vidscribe.adapters.sqs import SqsQueue, create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer
from vidscribe.workflow import Fetcher

HIGH_WATER = 10_000_000  # "large": the fetcher's batch size, not the queue's depth, is the limit
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  check: {what}: {'ok' if ok else 'FAILED'}")
    if not ok:
        failures.append(what)


# --- databases ---------------------------------------------------------------------------------------
def load(url: str, rows: int, untranscribed: int, layout: str) -> float:
    """rows videos; all but ``untranscribed`` of them with a transcript and a 'done' job, as the
    pipeline leaves them. ``newest``: the untranscribed are the last ids (the id-ordered walk passes
    every transcribed video first: the worst case); ``spread``: every (rows/untranscribed)-th."""
    if layout == "newest":
        transcribed = f"i < {rows - untranscribed}"
    else:
        transcribed = f"mod(i, {max(1, rows // max(1, untranscribed))}) <> 0"
    vid = "'v' || lpad(i::text, 7, '0')"
    started = time.perf_counter()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO videos (id, url) SELECT {vid}, 'https://media.example.com/' || i || '.mp4'"
            " FROM generate_series(0, %s) i",
            (rows - 1,),
        )
        cur.execute(
            "INSERT INTO transcripts (video_id, text, segments, language, duration_seconds, backend, model)"
            f" SELECT {vid}, 'hello world', '[{{\"start\": 0, \"end\": 1.5, \"text\": \"hello world\"}}]',"
            f" 'en', 1.5, 'local', 'tiny.en' FROM generate_series(0, %s) i WHERE {transcribed}",
            (rows - 1,),
        )
        cur.execute(
            "INSERT INTO video_jobs (video_id, url, state, attempts)"
            f" SELECT {vid}, 'https://media.example.com/' || i || '.mp4', 'done', 1"
            f" FROM generate_series(0, %s) i WHERE {transcribed}",
            (rows - 1,),
        )
        for table in ("videos", "transcripts", "video_jobs"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
        cur.execute(
            "SELECT (SELECT count(*) FROM videos), (SELECT count(*) FROM transcripts),"
            " (SELECT count(*) FROM video_jobs)"
        )
        counts = cur.fetchone()
    conn.close()
    assert counts[0] == rows and counts[0] - counts[1] == untranscribed, counts
    return time.perf_counter() - started


def explain(url: str, statement: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement that writes, in a transaction rolled back after."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
            lines = [row[0] for row in cur.fetchall()]
        return lines
    finally:
        conn.rollback()
        conn.close()


def scans(plan: Sequence[str]) -> list[str]:
    found = []
    for line in plan:
        m = re.search(r"((?:Parallel )?(?:Seq|Index Only|Index|Bitmap Heap|Bitmap Index) Scan\S*.*?) \(", line)
        if m:
            rows = re.search(r"actual time=\S+ rows=(\d+) loops=(\d+)", line)
            what = m.group(1).replace("->  ", "")
            found.append(f"{what} [rows={rows.group(1)} loops={rows.group(2)}]" if rows else f"{what} [never executed]")
    return found


# --- queues ----------------------------------------------------------------------------------------
class RecordingQueue:
    """In-memory stand-in for step 2: accepts everything at once and remembers it."""

    url = "memory://recording"

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, bodies: Sequence[str]) -> int:
        self.bodies.extend(bodies)
        return len(bodies)

    def depth(self) -> tuple[int, int]:
        return len(self.bodies), 0


class TimedSqsQueue(SqsQueue):
    """The real SQS adapter, noting the time spent in send() and what was accepted."""

    def __init__(self, client: Any, url: str) -> None:
        super().__init__(client, url)
        self.send_seconds = 0.0
        self.sent: list[str] = []

    def send(self, bodies: Sequence[str]) -> int:
        started = time.perf_counter()
        n = super().send(bodies)
        self.send_seconds += time.perf_counter() - started
        self.sent.extend(bodies[:n])
        return n


def fresh_queue(settings: Settings, prefix: str) -> str:
    url, _ = create_queue_pair(sqs_client(settings), unique_queue_name(prefix), visibility_timeout=600)
    return url


def bare_send(settings: Settings, bodies: Sequence[str], *, first: int = 100) -> tuple[float, float]:
    """send_message_batch in tens, nothing else; returns (seconds, seconds for the first ``first``)."""
    client = sqs_client(settings)
    url = fresh_queue(settings, "bare")
    started = time.perf_counter()
    head = 0.0
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        response = client.send_message_batch(QueueUrl=url, Entries=entries)
        assert len(response.get("Successful", [])) == len(entries)
        if start + 10 == first:
            head = time.perf_counter() - started
    return time.perf_counter() - started, head


def drain(settings: Settings, url: str) -> list[str]:
    """Receive (and delete) every message of a queue; returns the bodies."""
    queue = SqsQueue(sqs_client(settings), url)
    bodies: list[str] = []
    while True:
        got = queue.receive(10, wait_seconds=0)
        if not got:
            visible, in_flight = queue.depth()
            if visible == 0:
                return bodies
            continue
        bodies.extend(m.body for m in got)
        queue.delete([m.receipt_handle for m in got])


def ids_of(bodies: Sequence[str]) -> list[str]:
    return [json.loads(b)["video_id"] for b in bodies]


# --- the steps ---------------------------------------------------------------------------------------
def step_plan(url: str, args: argparse.Namespace) -> None:
    print(f"\n1. the selection's plan: reserve_pending(limit={args.batch}) over {args.rows:,} videos, "
          f"{args.untranscribed:,} untranscribed ({args.layout} layout)")
    statement = statement_of(url, lambda s: s.reserve_pending(args.batch, 86_400, queue_url="q"))
    explain(url, statement)  # warm the cache; the second run is the one shown
    plan = explain(url, statement)
    print("   " + "\n   ".join(plan))
    found = scans(plan)
    print("  scans: " + "\n         ".join(found))
    check(not any("Seq Scan" in s for s in found), "no Seq Scan: the selection is index-driven")
    execution = next((line for line in plan if line.startswith("Execution Time")), "")
    print(f"  {execution}")
    if args.batch != 100:
        small = explain(url, statement_of(url, lambda s: s.reserve_pending(100, 86_400, queue_url="q")))
        found = scans(small)
        execution = next((line for line in small if line.startswith("Execution Time")), "")
        print("  the same at the default FETCH_BATCH_SIZE=100: " + "; ".join(found) + f"; {execution}")
        check(not any("Seq Scan" in s for s in found), "no Seq Scan at limit 100 either")


def step_fetch_own_cost(url: str, args: argparse.Namespace, base: Settings) -> None:
    print(f"\n2. Fetcher.run with FETCH_BATCH_SIZE={args.batch}, twice, queue = in-memory recorder "
          "(times the database and the messages, not SQS)")
    settings = base.replace(fetch_batch_size=args.batch, queue_high_water=HIGH_WATER)
    store = PostgresUnderTest(url)
    runs = []
    for n in (1, 2):
        queue = RecordingQueue()
        started = time.perf_counter()
        result = Fetcher(settings, store, queue).run()
        elapsed = time.perf_counter() - started
        runs.append((elapsed, ids_of(queue.bodies)))
        print(f"  run {n}: enqueued {result.enqueued:,} in {elapsed:.2f} s ({result.enqueued / elapsed:,.0f} videos/s)")
    store.close()
    first, second = set(runs[0][1]), set(runs[1][1])
    check(len(first) == args.batch == len(runs[0][1]), f"run 1 queued {args.batch:,} distinct videos")
    check(not first & second, f"run 2 right after queued none of run 1's videos (overlap {len(first & second)})")
    args.own_cost = runs[0][0]


def step_against_moto(url: str, args: argparse.Namespace, base: Settings) -> None:
    n = args.moto_batch
    print(f"\n3. Fetcher.run enqueueing {n:,} into moto vs a bare send_message_batch loop of {n:,}, "
          f"{args.rounds} round(s), each run into a fresh queue on the same endpoint")
    print("   (bare, fetch, bare, ...: each fetch between two bare loops, the one after it sending the very "
          "messages it sent, the first one messages of the same shape)")
    bodies = [json.dumps({"video_id": f"w{i:07d}", "url": f"https://media.example.com/{i}.mp4"},
                         separators=(",", ":")) for i in range(900_000, 900_000 + n)]
    settings = base.replace(fetch_batch_size=n, queue_high_water=HIGH_WATER)
    store = PostgresUnderTest(url)
    bare: list[float] = []
    fetch: list[float] = []
    own: list[float] = []
    head = float("inf")
    for r in range(args.rounds + 1):
        seconds, first = bare_send(base, bodies)
        bare.append(seconds)
        head = min(head, first)
        print(f"  bare loop: {seconds:6.2f} s ({n / seconds:,.0f} msg/s; its first 100 at {100 / first:,.0f} msg/s)")
        if r == args.rounds:
            break
        queue = TimedSqsQueue(sqs_client(settings), fresh_queue(settings, "fetch"))
        started = time.perf_counter()
        result = Fetcher(settings, store, queue).run()
        fetch.append(time.perf_counter() - started)
        own.append(fetch[-1] - queue.send_seconds)
        print(f"  Fetcher.run: {fetch[-1]:6.2f} s ({result.enqueued:,} enqueued; SqsQueue.send "
              f"{queue.send_seconds:.2f} s, everything else {own[-1]:.2f} s)")
        check(result.enqueued == n, f"the fetcher enqueued {n:,}")
        bodies = queue.sent
    store.close()
    ratio = statistics.median(fetch) / statistics.median(bare)
    print(f"  ratio Fetcher.run / bare loop, medians: {ratio:.2f}; fastest vs fastest: {min(fetch) / min(bare):.2f} "
          "(goal <= 1.5)")
    check(ratio <= 1.5, "ratio <= 1.5")

    if n < args.batch:
        # moto's best rate (a shallow queue) bounds how fast any loop sends args.batch messages.
        best_rate = 100 / head
        floor = args.batch / best_rate
        bound = (args.own_cost + floor) / floor
        print(f"  at {args.batch:,}: the fetcher's own cost is {args.own_cost:.2f} s (step 2); a bare loop "
              f"needs at least {floor:.1f} s even at moto's best rate ({best_rate:,.0f} msg/s, a shallow "
              f"queue), so the ratio at {args.batch:,} is at most {bound:.2f}")


def step_concurrent(admin: str, name: str, args: argparse.Namespace, base: Settings) -> None:
    print(f"\n4. {args.fetchers} concurrent fetchers (threads, own store and SQS client each) over a fresh set of "
          f"{args.concurrent_videos:,} videos, FETCH_BATCH_SIZE={args.concurrent_batch}")
    url = create_database(admin, name)
    seeder = PostgresUnderTest(url)
    seeder.add_videos((f"c{i:06d}", f"https://media.example.com/c{i}.mp4") for i in range(args.concurrent_videos))
    settings = base.replace(fetch_batch_size=args.concurrent_batch, queue_high_water=HIGH_WATER)
    queue_url = fresh_queue(settings, "concurrent")
    barrier = threading.Barrier(args.fetchers)
    counts: list[tuple[int, int]] = [(0, 0)] * args.fetchers
    errors: list[BaseException] = []

    def fetcher(k: int) -> None:
        try:
            store = PostgresUnderTest(url)
            fetch = Fetcher(settings, store, SqsQueue(sqs_client(settings), queue_url))
            barrier.wait()
            enqueued = runs = empty = 0
            while empty < 3:
                got = fetch.run().enqueued
                runs += 1
                enqueued += got
                empty = empty + 1 if got == 0 else 0
            counts[k] = (enqueued, runs)
            store.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=fetcher, args=(k,)) for k in range(args.fetchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    for k, (enqueued, runs) in enumerate(counts):
        print(f"  fetcher {k}: enqueued {enqueued:,} in {runs} runs")
    print(f"  all fetchers done in {elapsed:.1f} s")
    last = Fetcher(settings, seeder, SqsQueue(sqs_client(settings), queue_url)).run().enqueued
    seeder.close()
    print(f"  one more Fetcher.run after them: enqueued {last}")
    check(last == 0, "a run after the set is queued enqueues 0")

    started = time.perf_counter()
    received = ids_of(drain(settings, queue_url))
    print(f"  received back {len(received):,} messages ({len(set(received)):,} distinct video ids) "
          f"in {time.perf_counter() - started:.1f} s")
    check(len(received) == len(set(received)), "no video was enqueued twice (distinct == received)")
    check(set(received) == {f"c{i:06d}" for i in range(args.concurrent_videos)}, "every video was enqueued")
    check(sum(e for e, _ in counts) == len(received), "the fetchers' counts add up to the messages received")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--untranscribed", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000, help="the selection's limit (steps 1 and 2)")
    parser.add_argument("--moto-batch", type=int, default=1_000, help="videos enqueued into moto in step 3")
    parser.add_argument("--rounds", type=int, default=2, help="fetcher runs in step 3, each between two bare loops")
    parser.add_argument("--layout", choices=("newest", "spread"), default="newest")
    parser.add_argument("--fetchers", type=int, default=4)
    parser.add_argument("--concurrent-videos", type=int, default=1_000)
    parser.add_argument("--concurrent-batch", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the databases (for poking at them)")
    args = parser.parse_args()
    if not 0 < args.batch <= args.untranscribed <= args.rows:
        parser.error("need 0 < --batch <= --untranscribed <= --rows")
    if args.moto_batch < 100 or args.moto_batch % 10 or args.rounds < 1:
        parser.error("--moto-batch: a multiple of 10, at least 100; --rounds: at least 1")
    if 2 * args.batch + args.rounds * args.moto_batch > args.untranscribed:
        parser.error("steps 2 and 3 need 2 x --batch + --rounds x --moto-batch <= --untranscribed")

    started = time.perf_counter()
    scale_db, concurrent_db = f"vidscribe_bench_scale_{os.getpid()}", f"vidscribe_bench_concurrent_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp, MotoSqsServer() as sqs:
        admin = admin_url(Path(tmp))
        url = create_database(admin, scale_db)
        try:
            seconds = load(url, args.rows, args.untranscribed, args.layout)
            print(f"loaded {args.rows:,} videos, {args.rows - args.untranscribed:,} transcripts and done jobs "
                  f"in {seconds:.1f} s")
            base = Settings.from_env({}, AWS_ENDPOINT_URL=sqs.endpoint_url, DATABASE_URL=url)
            step_plan(url, args)
            step_fetch_own_cost(url, args, base)
            step_against_moto(url, args, base)
            step_concurrent(admin, concurrent_db, args, base)
        finally:
            if not args.keep:
                drop_database(admin, scale_db)
                drop_database(admin, concurrent_db)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; "
          + ("all checks passed" if not failures else f"FAILED: {'; '.join(failures)}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
