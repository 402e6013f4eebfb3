"""What the benchmarks share: a fresh, migrated database and instant stand-ins for media and model."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psycopg2
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.database import PostgresUnderTest
from vidscribe.local.embedded import start_embedded_postgres
from vidscribe.models import AudioSink, DecodedAudio, Segment, Span, Transcript

AUDIO = DecodedAudio(np.zeros(16_000, dtype=np.float32), source_bytes=1)


class InstantMedia:
    """Stands in for the media source where a benchmark times everything but the fetch."""

    def fetch_audio(self, url: str, sink: AudioSink | None = None) -> DecodedAudio:
        return AUDIO.stream_into(sink)


class InstantBackend:
    """Stands in for the model where a benchmark times everything but the transcription."""

    name, model = "instant", "none"

    def seconds_for(self, audio_seconds: float) -> float:
        return 0.0

    def transcribe(self, audio: DecodedAudio, speech: Sequence[Span] | None = None) -> Transcript:
        return Transcript("hello world", [Segment(0.0, 1.0, "hello world")], "en", 1.0, self.name, self.model)


def admin_url(tmp: Path) -> str:
    """DATABASE_URL, else the server on 127.0.0.1:5432, else an embedded one under ``tmp``."""
    admin = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg2.connect(admin, connect_timeout=3).close()
    except psycopg2.OperationalError:
        admin = start_embedded_postgres(tmp / "pgdata")
    return admin


def create_database(admin: str, name: str) -> str:
    """A new, migrated database ``name`` on the server of ``admin``; returns its URL."""
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    base, _, query = admin.partition("?")
    url = f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
    store = PostgresUnderTest(url)
    store.migrate()
    store.close()
    return url


def drop_database(admin: str, name: str) -> None:
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


def fresh_database(tmp: Path, name: str) -> str:
    return create_database(admin_url(tmp), name)
