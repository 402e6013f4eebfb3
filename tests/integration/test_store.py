"""The PostgreSQL store against a real server: selection, claims, leases, failure records."""

from __future__ import annotations

import threading

from tests.support.database import PostgresUnderTest
from vidscribe.models import ClaimOutcome, Segment, Transcript


def transcript(text: str = "hello world") -> Transcript:
    return Transcript(text, [Segment(0.0, 1.5, text)], "en", 1.5, "local", "tiny.en")


def test_migrate_is_idempotent(store: PostgresUnderTest) -> None:
    # Given a migrated database, When migrating again, Then nothing is applied twice.
    assert store.migrate() == []


def test_reserve_pending_skips_done_and_queued(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a"), ("b", "http://x/b"), ("c", "http://x/c")])
    store.claim("a", None, 60)
    store.save_transcript("a", transcript())

    first = store.reserve_pending(10, queued_lease_seconds=600)
    second = store.reserve_pending(10, queued_lease_seconds=600)

    assert sorted(v.video_id for v in first) == ["b", "c"]
    assert second == []  # queued with a live lease: a rerun queues nothing


def test_stale_queued_job_becomes_eligible_again(store: PostgresUnderTest) -> None:
    store.add_videos([("a", "http://x/a")])
    assert len(store.reserve_pending(10, queued_lease_seconds=0)) == 1  # lease already expired
    again = store.reserve_pending(10, queued_lease_seconds=600)
    assert [v.video_id for v in again] == ["a"]


def test_stale_processing_job_is_requeued_with_its_url(store: PostgresUnderTest) -> None:
    # A video injected by hand (not in the videos table) whose worker died keeps its URL in the job.
    assert store.claim("manual", "http://x/m", processing_lease_seconds=0).outcome is ClaimOutcome.CLAIMED
    pending = store.reserve_pending(10, queued_lease_seconds=600)
    assert [(v.video_id, v.url) for v in pending] == [("manual", "http://x/m")]


def test_concurrent_fetchers_never_reserve_the_same_video(store: PostgresUnderTest, database_url: str) -> None:
    store.add_videos([(f"v{i:04d}", f"http://x/{i}") for i in range(500)])
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def fetch() -> None:
        own = PostgresUnderTest(database_url)
        barrier.wait()
        got: list[str] = []
        while batch := own.reserve_pending(37, queued_lease_seconds=600):
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

    assert first == again
    [record] = store.failures()
    assert (record.video_id, record.error_type, record.attempts) == ("a", "FetchError", 2)
    assert store.claim("a", None, 600).outcome is ClaimOutcome.FAILED

    # retry-failed: queued again, the record stays open until the retry succeeds.
    store.mark_queued("a", None, 600)
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
    store.reserve_pending(10, 600)
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
