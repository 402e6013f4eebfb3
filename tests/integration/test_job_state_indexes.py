"""The partial indexes of migrations 002 and 003 hold the state module's groups.

The fetcher's NOT EXISTS are answered by ``video_jobs_finished`` and ``video_jobs_in_flight`` only
while their predicates are the conditions the queries render (``job_sql``): each index's predicate,
read from the migrated database, is compared with the same condition rendered from
``jobs/states.py`` and normalised by PostgreSQL the same way (an index on a scratch copy of the table).
"""

from __future__ import annotations

from typing import Any

import pytest
from psycopg2 import sql

from tests.support.database import PostgresUnderTest
from vidscribe.adapters.postgres import job_sql
from vidscribe.jobs.states import FINISHED, IN_FLIGHT, WORKER_HELD

RULES = {
    "video_jobs_finished": job_sql.in_states(FINISHED),
    "video_jobs_in_flight": job_sql.in_states(IN_FLIGHT),
    "video_jobs_claimed_by": sql.SQL("{} AND claimed_by IS NOT NULL").format(job_sql.is_state(WORKER_HELD)),
}


def _predicate(cur: Any, index: str) -> str:
    cur.execute(
        "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", (index,)
    )
    row = cur.fetchone()
    assert row is not None, f"no index {index}"
    return str(row[0])


def _rendered(cur: Any, name: str, condition: sql.Composable) -> str:
    """``condition`` as PostgreSQL writes an index predicate, on a scratch copy of video_jobs."""
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS scratch_jobs (LIKE video_jobs)")
    scratch = f"scratch_{name}"
    cur.execute(
        sql.SQL("CREATE INDEX {} ON scratch_jobs (video_id) WHERE {}").format(sql.Identifier(scratch), condition)
    )
    return _predicate(cur, f"pg_temp.{scratch}")


@pytest.mark.parametrize("index", sorted(RULES))
def test_a_partial_index_holds_the_state_module_condition(store: PostgresUnderTest, index: str) -> None:
    def work(cur: Any) -> tuple[str, str]:
        predicate = _predicate(cur, index)
        rendered = _rendered(cur, index, RULES[index])
        cur.connection.rollback()  # the scratch table goes with the transaction
        return predicate, rendered

    predicate, rendered = store.database.run(work)
    assert "state" in predicate
    assert predicate == rendered


def test_a_changed_group_would_not_match(store: PostgresUnderTest) -> None:
    def work(cur: Any) -> tuple[str, str]:
        predicate = _predicate(cur, "video_jobs_finished")
        rendered = _rendered(cur, "changed", job_sql.in_states(IN_FLIGHT))
        cur.connection.rollback()
        return predicate, rendered

    predicate, rendered = store.database.run(work)
    assert predicate != rendered
