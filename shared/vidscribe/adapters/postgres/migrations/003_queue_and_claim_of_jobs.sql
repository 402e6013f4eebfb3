-- Which queue a job was sent to, and which claim (and whose) a processing job is under.
--
-- queue_url: the queue the job's message is on. A job queued on another queue than the one a fetcher
--   uses (the embedded queue of an earlier run, a different QUEUE_URL) is eligible for that fetcher
--   at once instead of waiting out its queued lease; NULL means "on no queue": waiting for the next
--   fetcher (queued by hand without QUEUE_URL, released at shutdown, or a send that failed). Jobs
--   queued before this migration have no recorded queue and so are sent once more; the claim drops
--   the duplicate delivery.
-- claim_token: a new number for every claim. A worker's writes about its attempt (a failed attempt,
--   a permanent failure) apply only while the job is still under its claim, so a worker that
--   finishes after its claim was released (a shutdown, a recovered crash) cannot undo what happened
--   since.
-- claimed_by: the process that holds the claim (host, pid and start time, in the local runtime), so
--   that a run on the same machine can give back at once the videos of a process that was killed.
ALTER TABLE video_jobs
    ADD COLUMN IF NOT EXISTS queue_url   text,
    ADD COLUMN IF NOT EXISTS claim_token bigint,
    ADD COLUMN IF NOT EXISTS claimed_by  text;
CREATE SEQUENCE IF NOT EXISTS video_jobs_claim_token_seq;

-- The fetcher's "no live job on this queue" probe reads the state and the queue next to the lease,
-- so that it stays an index-only lookup (see 002).
DROP INDEX IF EXISTS video_jobs_in_flight;
CREATE INDEX video_jobs_in_flight ON video_jobs (video_id) INCLUDE (lease_expires_at, state, queue_url)
    WHERE state IN ('queued', 'processing');

-- Finding the claims of processes that died on this machine.
CREATE INDEX IF NOT EXISTS video_jobs_claimed_by ON video_jobs (claimed_by)
    WHERE state = 'processing' AND claimed_by IS NOT NULL;
