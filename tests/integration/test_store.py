"""The PostgreSQL store against a real server: selection, claims, leases, failure records."""

from __future__ import annotations

import threading

from tests.support.database import PostgresUnderTest
from vidscribe.models import ClaimOutcome, Segment, Transcript

Q = "http://sqs.local/000000000000/this-fetchers-queue"


def transcript(text: str = "hello world") -> Transcript:
    return Transcript(text, [Segment(0.0, 1.5, text)], "en", 1.5, "local", "tiny.en")


def test_migrate_is_idempotent(store: PostgresUnderTest) -> None:
    # Given a migrated database, When migrating again, Then nothing is applied twice.
    assert store.migrate() == []


def test_reserve_pending_skips_done_and_queued(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a"), ("b", "http://x/b"), ("c", "http://x/c")])
    store.claim("a", None, 60)
    store.save_transcript("a", transcript())

    first = store.reserve_pending(10, queued_lease_seconds=600, queue_url=Q)
    second = store.reserve_pending(10, queued_lease_seconds=600, queue_url=Q)

    assert sorted(v.video_id for v in first) == ["b", "c"]
    assert second == []  # queued with a live lease: a rerun queues nothing


def test_stale_queued_job_becomes_eligible_again(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a")])
    assert len(store.reserve_pending(10, queued_lease_seconds=0, queue_url=Q)) == 1  # lease already expired
    again = store.reserve_pending(10, queued_lease_seconds=600, queue_url=Q)
    assert [v.video_id for v in again] == ["a"]


def test_stale_processing_job_is_requeued_with_its_url(store: PostgresUnderTest) -> None:
    # A video injected by hand (not in the videos table) whose worker died keeps its URL in the job.
    assert store.claim("manual", "http://x/m", processing_lease_seconds=0).outcome is ClaimOutcome.CLAIMED
    pending = store.reserve_pending(10, queued_lease_seconds=600, queue_url=Q)
    assert [(v.video_id, v.url) for v in pending] == [("manual", "http://x/m")]


def test_concurrent_fetchers_never_reserve_the_same_video(store: PostgresUnderTest, database_url: str) -> None:
    store.add_videos([(f"v{i:04d}", f"http://x/{i}") for i in range(500)])
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def fetch() -> None:
        own = PostgresUnderTest(database_url)
        barrier.wait()
        got: list[str] = []
        while batch := own.reserve_pending(37, queued_lease_seconds=600, queue_url=Q):
            got.extend(v.video_id for v in batch)
        results.append(got)
        own.close()

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    everything = [v for got in results for v in got]
    assert len(everything) == 500
    assert len(set(everything)) == 500


def test_claim_outcomes(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a")])
    first = store.claim("a", None, 600)
    duplicate = store.claim("a", None, 600)
    assert (first.outcome, first.attempts) == (ClaimOutcome.CLAIMED, 1)
    assert duplicate.outcome is ClaimOutcome.IN_FLIGHT

    store.release_for_retry("a", "FetchError", "503", queued_lease_seconds=600)
    second = store.claim("a", None, 600)
    assert (second.outcome, second.attempts) == (ClaimOutcome.CLAIMED, 2)

    assert store.save_transcript("a", transcript()) is True
    assert store.save_transcript("a", transcript("other")) is False
    assert store.claim("a", None, 600).outcome is ClaimOutcome.ALREADY_DONE
    assert store.transcript("a").text == "hello world"


def test_failure_record_is_idempotent_and_resolved_by_a_later_success(store: PostgresUnderTest) -> None:
    store.claim("a", "http://x/a", 600)
    store.release_for_retry("a", "FetchError", "server said 503", 600)
    store.claim("a", None, 600)
    store.release_for_retry("a", "FetchError", "server said 503", 600)

    etype, message, attempts = store.job_error("a")
    first = store.record_failure("a", etype, message, attempts, '{"video_id": "a"}')
    again = store.record_failure("a", etype, message, attempts, '{"video_id": "a"}')  # DLQ redelivery

    assert first is not None and again is None  # recorded once
    [record] = store.failures()
    assert (record.video_id, record.error_type, record.attempts) == ("a", "FetchError", 2)
    assert store.claim("a", None, 600).outcome is ClaimOutcome.FAILED

    # retry-failed: queued again, the record stays open until the retry succeeds.
    store.mark_queued("a", None, 600, Q)
    assert len(store.failures()) == 1
    assert store.claim("a", None, 600).outcome is ClaimOutcome.CLAIMED
    store.save_transcript("a", transcript())
    assert store.failures() == []
    [history] = store.failures(include_resolved=True)
    assert history.resolved_at is not None


def test_malformed_message_records_have_no_video(store: PostgresUnderTest) -> None:
    store.record_failure(None, "MalformedMessage", "not JSON", 1, "garbage")
    store.record_failure(None, "MalformedMessage", "not JSON", 1, "garbage")
    assert [r.video_id for r in store.failures()] == [None, None]


def test_sql_metacharacters_are_data(store: PostgresUnderTest) -> None:
    evil = "x'); DROP TABLE videos; --"
    store.add_videos([(evil, "http://x/evil")])
    assert store.video_url(evil) == "http://x/evil"
    assert store.status()["videos"] == 1


def test_status_counts_states_and_oldest_in_flight(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a"), ("b", "http://x/b")])
    store.reserve_pending(10, 600, queue_url=Q)
    store.claim("a", None, 600)
    status = store.status()
    assert status["videos"] == 2 and status["untranscribed"] == 2
    assert status["jobs"]["queued"]["count"] == 1
    assert status["jobs"]["processing"]["count"] == 1
    assert status["oldest_in_flight"]["video_id"] in {"a", "b"}


def test_claim_refuses_a_third_attempt(store: PostgresUnderTest) -> None:
    # Given a video whose two attempts failed (say a duplicate delivery took the second one)
    store.add_videos([("a", "http://x/a")])
    for _ in range(2):
        assert store.claim("a", None, 600).outcome is ClaimOutcome.CLAIMED
        store.release_for_retry("a", "FetchError", "503", 600)

    # When another delivery arrives, Then it may not start a third attempt
    claim = store.claim("a", None, 600)
    assert (claim.outcome, claim.attempts) == (ClaimOutcome.EXHAUSTED, 2)


def test_the_store_survives_its_connections_dying(store: PostgresUnderTest, database_url: str) -> None:
    # Given pooled connections that the server has closed (as a restart does)
    import psycopg2

    store.add_videos([("a", "http://x/a")])
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    admin.close()

    # When the store is used again, Then it reconnects instead of failing
    assert store.video_url("a") == "http://x/a"


# --- the queue a job is on ---------------------------------------------------------------------------
OTHER = "http://sqs.local/000000000000/an-earlier-runs-queue"


def test_a_job_queued_on_another_queue_is_eligible_at_once(store: PostgresUnderTest) -> None:
    # Given a video queued with a day's lease on another queue (an earlier run's embedded queue),
    # one queued by hand for the next run (on no queue), and one on this fetcher's own queue
    store.add_videos([("elsewhere", "http://x/e")])
    assert [v.video_id for v in store.reserve_pending(10, 86_400, queue_url=OTHER)] == ["elsewhere"]
    store.add_videos([("by-hand", "http://x/h"), ("here", "http://x/o")])
    store.mark_queued("by-hand", None, 0, None)
    store.mark_queued("here", None, 86_400, Q)

    # When this fetcher reserves, Then what is not on its own queue is sent again at once, once
    assert sorted(v.video_id for v in store.reserve_pending(10, 86_400, queue_url=Q)) == ["by-hand", "elsewhere"]
    assert store.reserve_pending(10, 86_400, queue_url=Q) == []
    queues = store.database.run(lambda c: (c.execute("SELECT DISTINCT queue_url FROM video_jobs"), c.fetchall())[1])
    assert queues == [(Q,)]


def test_a_processing_job_stays_with_its_worker_whatever_its_queue(store: PostgresUnderTest) -> None:
    store.add_videos([("busy", "http://x/b")])
    assert store.claim("busy", None, 600, queue_url=OTHER).outcome is ClaimOutcome.CLAIMED
    assert store.reserve_pending(10, 600, queue_url=Q) == []


def test_concurrent_fetchers_on_one_queue_never_reserve_a_job_left_on_another(
    store: PostgresUnderTest, database_url: str
) -> None:
    # Given 300 videos an earlier run left queued on its own queue
    store.add_videos([(f"v{i:04d}", f"http://x/{i}") for i in range(300)])
    while store.reserve_pending(100, 86_400, queue_url=OTHER):
        pass
    results: list[list[str]] = []
    barrier = threading.Barrier(3)

    def fetch() -> None:
        own = PostgresUnderTest(database_url)
        barrier.wait()
        got: list[str] = []
        while batch := own.reserve_pending(23, 86_400, queue_url=Q):
            got.extend(v.video_id for v in batch)
        results.append(got)
        own.close()

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [v for got in results for v in got]
    assert len(everything) == 300 and len(set(everything)) == 300


# --- claims: tokens, release, recovery ---------------------------------------------------------------
def test_a_late_worker_cannot_undo_a_release(store: PostgresUnderTest) -> None:
    # Given a claim given back at a shutdown, and the video claimed again by the next run
    store.add_videos([("a", "http://x/a")])
    first = store.claim("a", None, 600, queue_url=Q, claimed_by="run-1")
    assert store.release_claim("a", "run-1", 600, refund_attempt=True) is True
    assert store.job_error("a").attempts == 0  # the stopped attempt does not count
    second = store.claim("a", None, 600, queue_url=Q, claimed_by="run-2")
    assert (second.outcome, second.attempts) == (ClaimOutcome.CLAIMED, 1) and second.token != first.token

    # When the first worker's model call ends in a failure after all
    assert store.release_for_retry("a", "FetchError", "503", 600, claim_token=first.token) is False
    assert store.record_failure("a", "NotMedia", "html", 1, "{}", claim_token=first.token) is None

    # Then the second claim is untouched
    assert store.in_flight("a") and store.failures() == []
    assert store.release_for_retry("a", "FetchError", "503", 600, claim_token=second.token) is True


def test_release_claim_only_touches_its_own_claims(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a")])
    store.claim("a", None, 600, claimed_by="run-1")
    assert store.release_claim("a", "run-2", 600, refund_attempt=True) is False
    assert store.in_flight("a")
    assert [c.video_id for c in store.held_claims("run-")] == ["a"]
    assert store.held_claims("other-") == []
    assert store.release_claim("a", "run-1", 600, refund_attempt=False) is True
    assert store.job_error("a").attempts == 1  # a crash spends its attempt
    assert store.claim("a", None, 600).outcome is ClaimOutcome.CLAIMED  # the redelivery may take it at once


# --- failure records: the open one is the latest --------------------------------------------------------
def test_a_retried_video_that_fails_again_gets_a_new_open_record(store: PostgresUnderTest) -> None:
    # Given a video that failed finally once
    store.add_videos([("a", "http://x/a")])
    store.claim("a", None, 600)
    first = store.record_failure("a", "FetchRefused", "404", 1, '{"video_id": "a"}')
    store.execute("UPDATE failures SET failed_at = now() - interval '1 day'")

    # When retry-failed queues it and it fails again the same way
    store.mark_queued("a", None, 0, None)
    since = store.now()
    claim = store.claim("a", None, 600)
    body = '{"video_id": "a"}'
    second = store.record_failure("a", "FetchRefused", "404", claim.attempts, body, claim_token=claim.token)

    # Then the open record describes the new failure, the old one is history, and the run counts it
    assert second is not None and second != first
    [open_record] = store.failures()
    assert open_record.id == second and open_record.failed_at >= since and open_record.attempts == 1
    history = {r.id: r.resolved_at for r in store.failures(include_resolved=True)}
    assert history[first] is not None
    assert store.run_report(since)["failed"] == {"FetchRefused": 1}


def test_failure_records_keep_no_secret(store: PostgresUnderTest) -> None:
    body = '{"video_id": "a", "url": "https://viewer:Pa55word99@media.example/v.mp4?token=T0ken77&x=1"}'
    store.record_failure("a", "FetchRefused", "refused https://viewer:Pa55word99@media.example/v.mp4", 1, body)
    [record] = store.failures()
    assert "Pa55word99" not in record.message + record.original_message
    assert "T0ken77" not in record.original_message
    assert "media.example/v.mp4" in record.original_message


def test_status_tells_waiting_from_lease_expired(store: PostgresUnderTest) -> None:
    store.add_videos([("w", "http://x/w"), ("q", "http://x/q"), ("lost", "http://x/l")])
    store.mark_queued("w", None, 0, None)  # enqueued without a queue: for the next run
    store.mark_queued("q", None, 600, Q)
    store.mark_queued("lost", None, 0, Q)  # on a queue, and its lease is over: a lost message
    queued = store.status()["jobs"]["queued"]
    assert queued == {"count": 3, "waiting": 1, "lease_expired": 1, "retranscription": 0}  # none transcribed before


def test_videos_table_check_names_the_variable(store: PostgresUnderTest, database_url: str) -> None:
    import pytest

    from vidscribe.adapters.postgres import PostgresStore
    from vidscribe.errors import ConfigurationError

    store.execute("DROP VIEW IF EXISTS no_url_view")
    store.execute("CREATE VIEW no_url_view AS SELECT id, created_at FROM videos")
    try:
        PostgresStore(store.database, videos_table="videos").check_videos_table()
        with pytest.raises(ConfigurationError, match=r"^VIDEOS_TABLE: there is no table or view 'nope'"):
            PostgresStore(store.database, videos_table="nope").check_videos_table()
        with pytest.raises(ConfigurationError, match=r"^VIDEOS_TABLE: 'no_url_view' has no url column"):
            PostgresStore(store.database, videos_table="no_url_view").check_videos_table()
    finally:
        store.execute("DROP VIEW no_url_view")
