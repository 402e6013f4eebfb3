-- vidscribe's own tables. The source of work is the table named by VIDEOS_TABLE (default "videos"),
-- which needs an "id" and a "url" column; point VIDEOS_TABLE at a view to adapt an existing table.
CREATE TABLE IF NOT EXISTS videos (
    id         text PRIMARY KEY,
    url        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per video: the text, timed segments ([{start, end, text}] in seconds) and where it came from.
CREATE TABLE transcripts (
    video_id         text PRIMARY KEY,
    text             text NOT NULL,
    segments         jsonb NOT NULL,
    language         text,
    duration_seconds double precision NOT NULL,
    backend          text NOT NULL,
    model            text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Job state per video. A live lease (lease_expires_at in the future) is what makes the fetcher skip
-- queued work and what stops two deliveries of one message from transcribing a video twice.
CREATE TABLE video_jobs (
    video_id         text PRIMARY KEY,
    url              text,
    state            text NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error_type  text,
    last_error       text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_jobs_state_lease ON video_jobs (state, lease_expires_at);

-- Persistent failure records: one open record per finally-failed video (video_id is NULL for a
-- message that named no usable video). A record is resolved when a later retry succeeds
-- ("transcribed") or when a newer final failure replaces it ("superseded"); nothing is deleted.
CREATE TABLE failures (
    id               bigserial PRIMARY KEY,
    video_id         text,
    error_type       text NOT NULL,
    message          text NOT NULL,
    attempts         integer NOT NULL,
    original_message text,
    failed_at        timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    resolution       text
);
CREATE UNIQUE INDEX failures_one_open_per_video ON failures (video_id)
    WHERE resolved_at IS NULL AND video_id IS NOT NULL;
CREATE INDEX failures_open_by_type ON failures (error_type) WHERE resolved_at IS NULL;
