"""The PostgreSQL adapters as the tests and benchmarks use them: one pool, the store, the reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vidscribe.adapters.postgres import Database, PostgresReports, PostgresStore, migrate
from vidscribe.models import FailureRecord, Transcript


class PostgresUnderTest(PostgresStore):
    """The Store port's adapter, plus the Reports, the migrations and raw SQL over the same pool, so
    that a test can set up, act and check through one object."""

    def __init__(
        self, url: str, *, videos_table: str = "videos", max_connections: int = 8, connection_factory: Any = None
    ) -> None:
        self.database = Database(url, max_connections=max_connections, connection_factory=connection_factory)
        super().__init__(self.database, videos_table=videos_table)
        self.reports = PostgresReports(self.database, videos_table=videos_table)

    def migrate(self) -> list[str]:
        return migrate(self.database)

    def execute(self, query: Any, params: Any = None) -> int:
        """One statement in its own transaction; returns the affected row count."""

        def work(cur: Any) -> int:
            cur.execute(query, params)
            return int(cur.rowcount)

        return self.database.run(work)

    def close(self) -> None:
        self.database.close()

    # --- the reports ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.reports.now()

    def status(self) -> dict[str, Any]:
        return self.reports.status()

    def run_report(self, since: datetime) -> dict[str, Any]:
        return self.reports.run_report(since)

    def failures(self, include_resolved: bool = False) -> list[FailureRecord]:
        return self.reports.failures(include_resolved)

    def transcript(self, video_id: str) -> Transcript | None:
        return self.reports.transcript(video_id)

    def transcripts(self, video_ids: Any = None) -> list[Transcript]:
        return self.reports.transcripts(video_ids)
