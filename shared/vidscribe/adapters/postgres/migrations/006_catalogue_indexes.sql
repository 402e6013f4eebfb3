-- Indexes for the web page's catalogue (issue 24; PostgresCatalogue).
--
-- The catalogue lists the languages and the models the transcripts carry, for its filters, on every
-- page. Each list is a walk from value to value along one of these indexes (a loose index scan: a
-- few probes); without them each step reads every transcript (about 3 s per page on 1,000,000
-- videos, bench/bench_web.py). They also answer a language or model filter in id order.
-- Transcripts are written once per video, so they cost little; video_jobs, written on every state
-- change, gets no new index (a rare state is found through video_jobs_state_lease and sorted).
CREATE INDEX IF NOT EXISTS transcripts_language_video ON transcripts (language, video_id);
CREATE INDEX IF NOT EXISTS transcripts_model_video ON transcripts (model, video_id);
