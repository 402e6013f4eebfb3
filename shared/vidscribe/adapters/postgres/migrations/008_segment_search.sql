-- Full-text search over the transcripts' segments (issue 23; adapters/postgres/search.py).
--
-- One row per segment, its text indexed with its language's text-search configuration (the
-- segment's own language where it has one, else its transcript's). A trigger on transcripts keeps
-- the rows current on every write, whichever code writes the transcript, and this migration indexes
-- the transcripts stored before it.
--
-- search_languages: which configuration reads which ISO 639-1 code; only configurations this server
--   has are listed (PostgreSQL 15 and 16 ship the same 29). A language not listed reads as 'simple'
--   (lower-cased words, no stemming, no stop words).
CREATE TABLE search_languages (
    code   text PRIMARY KEY,
    config regconfig NOT NULL
);
INSERT INTO search_languages (code, config)
SELECT m.code, c.oid::regconfig
FROM (VALUES ('ar', 'arabic'), ('hy', 'armenian'), ('eu', 'basque'), ('ca', 'catalan'), ('da', 'danish'),
             ('nl', 'dutch'), ('en', 'english'), ('fi', 'finnish'), ('fr', 'french'), ('de', 'german'),
             ('el', 'greek'), ('hi', 'hindi'), ('hu', 'hungarian'), ('id', 'indonesian'), ('ga', 'irish'),
             ('it', 'italian'), ('lt', 'lithuanian'), ('ne', 'nepali'), ('no', 'norwegian'),
             ('nb', 'norwegian'), ('nn', 'norwegian'), ('pt', 'portuguese'), ('ro', 'romanian'),
             ('ru', 'russian'), ('sr', 'serbian'), ('es', 'spanish'), ('sv', 'swedish'), ('ta', 'tamil'),
             ('tr', 'turkish'), ('yi', 'yiddish')) AS m(code, name)
JOIN pg_ts_config c ON c.cfgname = m.name AND c.cfgnamespace = 'pg_catalog'::regnamespace;

-- A language code as the transcripts carry it ('en', 'EN', 'pt-BR', 'zh_Hant') to its configuration.
CREATE FUNCTION vidscribe_search_config(language text) RETURNS regconfig
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT config FROM search_languages
         WHERE code = lower(split_part(replace(language, '_', '-'), '-', 1))),
        'pg_catalog.simple'::regconfig)
$$;

-- created_at is the transcript's, copied so that --since filters without a join. No foreign key: it
-- would refuse a TRUNCATE of transcripts; the triggers below follow deletes and truncates instead.
CREATE TABLE transcript_segments (
    video_id      text NOT NULL,
    n             integer NOT NULL,
    start_seconds double precision NOT NULL,
    end_seconds   double precision NOT NULL,
    language      text,
    config        regconfig NOT NULL,
    text          text NOT NULL,
    document      tsvector NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (video_id, n)
);

CREATE FUNCTION vidscribe_index_segments() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE transcript_segments;
        RETURN NULL;
    END IF;
    DELETE FROM transcript_segments WHERE video_id = OLD.video_id;  -- NULL on INSERT: deletes nothing
    IF TG_OP = 'DELETE' THEN
        RETURN NULL;
    END IF;
    DELETE FROM transcript_segments WHERE video_id = NEW.video_id;
    INSERT INTO transcript_segments (video_id, n, start_seconds, end_seconds, language, config, text, document,
                                     created_at)
    SELECT NEW.video_id, s.n, s.start_seconds, s.end_seconds, s.language, s.config, s.text,
           to_tsvector(s.config, s.text), NEW.created_at
    FROM (
        SELECT e.n::integer AS n,
               coalesce((e.segment->>'start')::float8, 0) AS start_seconds,
               coalesce((e.segment->>'end')::float8, (e.segment->>'start')::float8, 0) AS end_seconds,
               coalesce(e.segment->>'language', NEW.language) AS language,
               vidscribe_search_config(coalesce(e.segment->>'language', NEW.language)) AS config,
               e.segment->>'text' AS text
        FROM jsonb_array_elements(CASE jsonb_typeof(NEW.segments) WHEN 'array' THEN NEW.segments
                                       ELSE '[]'::jsonb END) WITH ORDINALITY AS e(segment, n)
    ) s
    WHERE coalesce(btrim(s.text), '') <> '';
    RETURN NULL;
END
$$;

CREATE TRIGGER transcripts_index_segments
    AFTER INSERT OR UPDATE OF video_id, segments, language, created_at OR DELETE ON transcripts
    FOR EACH ROW EXECUTE FUNCTION vidscribe_index_segments();
CREATE TRIGGER transcripts_truncate_segments
    AFTER TRUNCATE ON transcripts
    FOR EACH STATEMENT EXECUTE FUNCTION vidscribe_index_segments();

-- The transcripts stored before this migration: the trigger's work once for each, in one statement.
UPDATE transcripts SET segments = segments;

CREATE INDEX transcript_segments_document ON transcript_segments USING gin (document);
