-- Long videos in parts (issue 22): a video whose work would not fit one invocation, or that is longer
-- than PART_SECONDS, is planned as time ranges, one queue message each; the part that completes the
-- set assembles the transcript in the transaction that stores it, and the plan and its parts go.
--
-- video_part_plans: one row per video in parts; the row every part's completion locks, so that
--   exactly one of them sees the set complete.
-- video_parts: one row per part: its nominal range, the cut chosen at its start (in the quietest
--   moment near start_seconds, chosen once: whichever neighbour reaches the boundary first records
--   it, the other reads it), its own claim and attempts (the one retry is per part), and its result
--   until the transcript is assembled.
CREATE TABLE IF NOT EXISTS video_part_plans (
    video_id         text PRIMARY KEY,
    duration_seconds double precision NOT NULL,
    part_count       integer NOT NULL CHECK (part_count > 1),
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS video_parts (
    video_id         text NOT NULL REFERENCES video_part_plans (video_id) ON DELETE CASCADE,
    part_index       integer NOT NULL CHECK (part_index >= 0),
    start_seconds    double precision NOT NULL,
    end_seconds      double precision NOT NULL,
    cut_seconds      double precision,
    state            text NOT NULL,  -- a job's states (jobs/states.py, PART_TRANSITIONS)
    attempts         integer NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    claim_token      bigint,
    last_error_type  text,
    last_error       text,
    result           jsonb,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, part_index)
);
