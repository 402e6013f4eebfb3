-- Indexes for the web page's catalogue filters (issue 24; PostgresCatalogue.page).
--
-- The catalogue pages through the videos in id order (keyset: id > the last id shown). Without a
-- filter it walks videos_pkey and probes the job and the transcript of each row it shows. A filter
-- on a state, a language or a model that few videos have would make that walk pass most of a
-- million rows to fill one page; with these, the filtered rows come straight from an index in id
-- order (bench/bench_web.py measures both).
CREATE INDEX IF NOT EXISTS video_jobs_state_video ON video_jobs (state, video_id);
CREATE INDEX IF NOT EXISTS transcripts_language_video ON transcripts (language, video_id);
CREATE INDEX IF NOT EXISTS transcripts_model_video ON transcripts (model, video_id);
