-- Re-transcription with history (issue 23, item 4).
--
--   video_jobs.retranscribe  a re-transcription was requested for a video that has a transcript: its
--                            job waits or runs like any other, and the current transcript stays
--                            readable until the new one is stored (then the flag is cleared)
--   transcripts.version      the current transcript's number: 1 for the first, +1 per replacement
--   transcript_versions      every replaced transcript, as it was, under its number
ALTER TABLE video_jobs ADD COLUMN IF NOT EXISTS retranscribe boolean NOT NULL DEFAULT false;
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS transcript_versions (
    video_id             text NOT NULL,
    version              integer NOT NULL,
    text                 text NOT NULL,
    segments             jsonb NOT NULL,
    language             text,
    duration_seconds     double precision NOT NULL,
    backend              text NOT NULL,
    model                text NOT NULL,
    created_at           timestamptz NOT NULL,
    speech_seconds       double precision,
    no_speech            boolean NOT NULL,
    model_audio_seconds  double precision,
    cost_usd             numeric(14, 6),
    language_probability double precision,
    replaced_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, version)
);
-- The few jobs with a re-transcription requested (status counts them; the fetcher's stale-job scan
-- reads the flag from rows it already has).
CREATE INDEX IF NOT EXISTS video_jobs_retranscribe ON video_jobs (video_id) WHERE retranscribe;
