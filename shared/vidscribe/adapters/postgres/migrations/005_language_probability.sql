-- How sure the model was of a transcript's language (issue 20).
--
--   language_probability  the detection's probability for `language`, weighted by the audio of each
--                         model call that heard it; NULL: the language was set (LANGUAGE), or the
--                         backend does not report one, or the row was stored before this column.
--
-- Segments may now carry "language": the language of their text, where it changes within a video.
-- Rows stored before keep segments without it. Only the transcripts table changes.
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS language_probability double precision;
