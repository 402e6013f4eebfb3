-- What voice activity detection found and what the model was paid for, per transcript (issue 10).
--
--   speech_seconds       seconds of speech the detector found; NULL: stored before it existed
--   no_speech            the video holds no words (silence, music, noise): empty text, no segments,
--                        and no model was called for it
--   model_audio_seconds  seconds of audio sent to the model (only the speech, joined by short pauses)
--   cost_usd             its estimated price (0 for the local model; NULL: no price known)
--
-- Segments may now carry "words": [{start, end, word}]; rows stored before keep their segments
-- without words and every export still reads them. Only the transcripts table changes.
ALTER TABLE transcripts
    ADD COLUMN IF NOT EXISTS speech_seconds double precision,
    ADD COLUMN IF NOT EXISTS no_speech boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS model_audio_seconds double precision,
    ADD COLUMN IF NOT EXISTS cost_usd numeric(14, 6);
