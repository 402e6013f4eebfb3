"""The store's writes take a job only along the state module's transitions (``jobs/states.py``).

One video is walked through every operation that changes its job's state, in the order a video's
life can take them; after each, the job's state before and after must be an allowed transition.
"""

from __future__ import annotations

from psycopg2.extensions import cursor

from tests.support.database import PostgresUnderTest
from vidscribe.jobs.states import JobState, allowed
from vidscribe.models import Segment, Transcript

TRANSCRIPT = Transcript("hi", [Segment(0.0, 1.0, "hi")], "en", 1.0, "local", "tiny.en")


def _state(store: PostgresUnderTest, video_id: str) -> JobState | None:
    def work(cur: cursor) -> JobState | None:
        cur.execute("SELECT state FROM video_jobs WHERE video_id = %s", (video_id,))
        row = cur.fetchone()
        return JobState(row[0]) if row else None

    return store.database.run(work)


def test_every_write_follows_an_allowed_transition(store: PostgresUnderTest) -> None:
    store.add_videos([("v1", "https://media.example/v1.mp4")])
    steps = [
        ("reserve", lambda: store.reserve_pending(10, 60, queue_url="q")),
        ("claim", lambda: store.claim("v1", "https://media.example/v1.mp4", 60, queue_url="q", claimed_by="p")),
        ("retry", lambda: store.release_for_retry("v1", "FetchError", "503", 60)),
        ("claim", lambda: store.claim("v1", None, 60, queue_url="q", claimed_by="p")),
        ("release", lambda: store.release_claim("v1", "p", 60, refund_attempt=True)),
        ("claim", lambda: store.claim("v1", None, 60, queue_url="q", claimed_by="p")),
        ("permanent failure", lambda: store.record_failure("v1", "NotMedia", "html", None, None)),
        ("retry-failed", lambda: store.mark_queued("v1", None, 60, None)),
        ("transcript", lambda: store.save_transcript("v1", TRANSCRIPT)),
    ]
    walked = []
    for name, step in steps:
        before = _state(store, "v1")
        step()
        after = _state(store, "v1")
        assert after is not None
        walked.append((name, before, after))
        assert allowed(before, after), f"{name}: {before} -> {after}"
    assert [after for _, _, after in walked] == [
        JobState.QUEUED, JobState.PROCESSING, JobState.QUEUED, JobState.PROCESSING, JobState.QUEUED,
        JobState.PROCESSING, JobState.FAILED, JobState.QUEUED, JobState.DONE,
    ]
    assert not allowed(JobState.DONE, JobState.QUEUED)
    store.mark_queued("v1", None, 60, None)  # a transcript is final: enqueue by hand leaves it done
    assert _state(store, "v1") is JobState.DONE
