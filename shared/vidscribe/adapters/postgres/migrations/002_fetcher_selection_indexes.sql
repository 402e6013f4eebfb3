-- Indexes for the fetcher's selection (PostgresStore.reserve_pending) at scale.
--
-- With 1,000,000 videos of which 900,000 are transcribed (each with a 'done' job), the selection's
-- one "no finished or live job" condition, (state IN ('done','failed') OR lease_expires_at > now()),
-- could only be checked against the job rows themselves: the planner either hashed all 900,000 job
-- rows after a Seq Scan of videos and video_jobs, or walked video_jobs_pkey reading every job's
-- heap row (~0.9 s, and which of the two it picked flipped with the statistics). The selection now
-- asks the two halves separately, and each has an index ordered by video id that answers it without
-- visiting the heap, so the index-driven plan is the cheap one by a wide margin
-- (bench/bench_fetcher_scale.py prints it):
--   * finished jobs (done or failed): merged with videos_pkey in id order;
--   * jobs in flight (queued or processing) with their lease: probed per candidate. Being partial,
--     it holds only the work in flight, so it stays small however long the history grows.
CREATE INDEX IF NOT EXISTS video_jobs_finished ON video_jobs (video_id)
    WHERE state IN ('done', 'failed');
CREATE INDEX IF NOT EXISTS video_jobs_in_flight ON video_jobs (video_id) INCLUDE (lease_expires_at)
    WHERE state IN ('queued', 'processing');
