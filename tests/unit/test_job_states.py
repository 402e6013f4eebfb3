"""The job state machine is defined once (``vidscribe/jobs/states.py``): no state literal elsewhere.

Two checks over the package's syntax trees and SQL files:

- no string anywhere under ``shared/vidscribe`` holds a state as an SQL literal (``'queued'``),
  except the migrations that predate the state module (``PREDATING_MIGRATIONS``);
- no module of the PostgreSQL adapter holds a state as a Python string (``"queued"``), other than
  as a report's field name (a dict key such as ``{"failed": 3}`` counts failures, not a state).

And the table itself: every state is reachable and none is a dead end but by design.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vidscribe.jobs.states import FINISHED, IN_FLIGHT, TRANSITIONS, JobState, allowed

CORE = Path(__file__).resolve().parents[2] / "shared" / "vidscribe"
STATE_MODULE = CORE / "jobs" / "states.py"
POSTGRES = CORE / "adapters" / "postgres"
MIGRATIONS = POSTGRES / "migrations"
#: Migrations written before the state module; a migration is history and is never rewritten.
PREDATING_MIGRATIONS = {"001_initial.sql", "002_fetcher_selection_indexes.sql", "003_queue_and_claim_of_jobs.sql"}
SQL_STATE = re.compile("'(" + "|".join(s.value for s in JobState) + ")'")


def _strings(tree: ast.AST, *, skip_keys: bool) -> list[tuple[int, str]]:
    keys: set[int] = set()
    if skip_keys:
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys.update(id(k) for k in node.keys if k is not None)
            elif isinstance(node, ast.Subscript):
                keys.add(id(node.slice))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in keys
    ]


def test_no_sql_state_literal_outside_the_state_module() -> None:
    found = []
    for path in sorted(CORE.rglob("*.py")):
        if path == STATE_MODULE:
            continue
        for line, text in _strings(ast.parse(path.read_text()), skip_keys=False):
            found += [f"{path.relative_to(CORE)}:{line}: {m.group(0)}" for m in SQL_STATE.finditer(text)]
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name not in PREDATING_MIGRATIONS:
            found += [f"{path.name}: {m.group(0)}" for m in SQL_STATE.finditer(path.read_text())]
    assert found == []


def test_the_postgres_adapter_names_states_only_through_the_state_module() -> None:
    states = {s.value for s in JobState}
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in sorted(POSTGRES.glob("*.py"))
        for line, text in _strings(ast.parse(path.read_text()), skip_keys=True)
        if text in states
    ]
    assert found == []


def test_the_check_sees_a_literal_when_there_is_one() -> None:
    tree = ast.parse("QUERY = \"UPDATE video_jobs SET state = 'done'\"\nX = {'failed': 1}\nY = 'queued'")
    sql_hits = [m.group(0) for _, text in _strings(tree, skip_keys=False) for m in SQL_STATE.finditer(text)]
    assert sql_hits == ["'done'"]
    assert [text for _, text in _strings(tree, skip_keys=True) if text in {s.value for s in JobState}] == ["queued"]


def test_the_groups_partition_the_states() -> None:
    assert sorted(IN_FLIGHT + FINISHED) == sorted(JobState)
    assert not set(IN_FLIGHT) & set(FINISHED)


def test_every_state_is_reached_and_only_a_transcript_is_final() -> None:
    assert {after for _, after in TRANSITIONS} == set(JobState)
    leaving = {before for before, after in TRANSITIONS if before != after}
    assert leaving == {None, JobState.QUEUED, JobState.PROCESSING, JobState.FAILED}
    assert not allowed(JobState.DONE, JobState.QUEUED)
    assert allowed(JobState.FAILED, JobState.QUEUED)
    assert allowed(None, JobState.PROCESSING)
