"""The job state machine: the states of a video's job row, the transitions allowed between them,
and the eligibility rules, each defined once.

Every query that reads or changes ``video_jobs.state`` is rendered from here
(``adapters/postgres/job_sql.py``); ``tests/unit/test_job_states.py`` fails on a state literal
anywhere else and checks the partial indexes of migrations 002 and 003 against these groups.

Eligibility, in words (the SQL is rendered from these groups in ``job_sql``):

- a job in flight (``IN_FLIGHT``) is **stale** when its lease has expired (a lost message, a
  crashed worker);
- a job that waits on a queue (``QUEUE_BOUND``) is **elsewhere** when it was queued on another
  queue than the fetcher's, or on none: the fetcher's queue does not hold its message;
- a job that a worker holds (``WORKER_HELD``) stays with its worker whatever queue it came from;
- the fetcher reserves a video with no transcript whose job is absent, stale or elsewhere; the
  transcriber claims a job that waits, or is held under an expired lease (``CLAIMABLE``).
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for a worker: on a queue (queue_url), or on none for the next fetcher
    PROCESSING = "processing"  # a worker holds it under a claim (token, process, lease)
    DONE = "done"  # it has a transcript
    FAILED = "failed"  # finally failed, with a failure record; only retry-failed brings it back


#: Jobs that still have work ahead: each has a lease (the partial index ``video_jobs_in_flight``).
IN_FLIGHT = (JobState.QUEUED, JobState.PROCESSING)
#: Jobs with nothing ahead: the fetcher passes them over (the partial index ``video_jobs_finished``).
FINISHED = (JobState.DONE, JobState.FAILED)
#: The state whose message sits on a queue: it is eligible again when that queue is not the fetcher's.
QUEUE_BOUND = JobState.QUEUED
#: The state a worker holds: its claim stands until its lease ends, whatever queue it came from.
WORKER_HELD = JobState.PROCESSING

#: What each state may become, and by which operation. ``None`` is "no job row yet".
TRANSITIONS: dict[tuple[JobState | None, JobState], tuple[str, ...]] = {
    (None, JobState.QUEUED): ("reserve", "enqueue by hand"),
    (None, JobState.PROCESSING): ("claim",),
    (None, JobState.FAILED): ("refused row",),
    (JobState.QUEUED, JobState.QUEUED): (
        "reserve again (stale or elsewhere)",
        "enqueue by hand",
        "release reservation",
    ),
    (JobState.QUEUED, JobState.PROCESSING): ("claim",),
    (JobState.QUEUED, JobState.FAILED): ("dead letter",),
    (JobState.QUEUED, JobState.DONE): ("transcript stored",),
    (JobState.PROCESSING, JobState.PROCESSING): ("claim after the lease expired", "held for its parts"),
    (JobState.PROCESSING, JobState.QUEUED): (
        "retry",
        "release (a stop, a dead process)",
        "reserve again (lease expired)",
        "enqueue by hand",
    ),
    (JobState.PROCESSING, JobState.DONE): ("transcript stored",),
    (JobState.PROCESSING, JobState.FAILED): ("permanent failure", "dead letter"),
    (JobState.FAILED, JobState.QUEUED): ("retry-failed", "enqueue by hand", "retranscribe"),
    (JobState.FAILED, JobState.DONE): ("transcript stored",),
    (JobState.FAILED, JobState.FAILED): ("failure recorded again",),
    (JobState.DONE, JobState.DONE): ("transcript stored again",),
    # A re-transcription (migration 010's retranscribe flag): the transcript stays until a new one is stored.
    (JobState.DONE, JobState.QUEUED): ("retranscribe",),
}

#: A part of a long video (``video_parts``, issue 22) has a job's states and a job's claim, lease and
#: one retry; it is never reserved by the fetcher (its video's job is), and it ends in DONE until the
#: part that completes the set assembles the transcript and deletes every part of the video.
PART_TRANSITIONS: dict[tuple[JobState | None, JobState], tuple[str, ...]] = {
    (None, JobState.QUEUED): ("planned",),
    (JobState.QUEUED, JobState.PROCESSING): ("part claimed",),
    (JobState.PROCESSING, JobState.PROCESSING): ("part claimed after the lease expired",),
    (JobState.PROCESSING, JobState.QUEUED): ("part retry", "missing parts sent again"),
    (JobState.QUEUED, JobState.QUEUED): ("missing parts sent again",),
    (JobState.PROCESSING, JobState.DONE): ("part stored",),
    (JobState.PROCESSING, JobState.FAILED): ("part failed twice, or permanently",),
    (JobState.QUEUED, JobState.FAILED): ("part's attempts used up",),
    (JobState.FAILED, JobState.QUEUED): ("retry-failed: missing parts sent again",),
}

#: The states a claim may take: waiting, or held under a lease that has expired (checked in SQL).
CLAIMABLE = (JobState.QUEUED, JobState.PROCESSING)
#: The states enqueue-by-hand may not overwrite: a transcript is final.
NOT_REQUEUEABLE = (JobState.DONE,)
#: The states a failure record may not overwrite: a transcript is final.
NOT_FAILABLE = (JobState.DONE,)


def allowed(before: JobState | None, after: JobState) -> bool:
    """Whether a job may go from ``before`` (None: no row yet) to ``after``."""
    return (before, after) in TRANSITIONS
