"""The job state machine (``jobs/states.py``) rendered as SQL fragments for ``video_jobs``.

Fragments rather than SQL functions or a view: the fetcher's NOT EXISTS must stay answerable by
the partial indexes of migrations 002 and 003, which the planner matches only against predicates
it sees inline (a function call would hide them); ``tests/unit/test_job_states.py`` checks those
index predicates against ``in_states`` rendered here.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg2 import sql

from ...jobs.states import IN_FLIGHT, QUEUE_BOUND, WORKER_HELD, JobState


def state(value: JobState) -> sql.Composable:
    """A state as an SQL literal."""
    return sql.Literal(value.value)


def _column(alias: str | None, name: str) -> sql.Composable:
    return sql.Identifier(alias, name) if alias else sql.Identifier(name)


def is_state(value: JobState, alias: str | None = None) -> sql.Composable:
    return sql.SQL("{} = {}").format(_column(alias, "state"), state(value))


def in_states(values: Iterable[JobState], alias: str | None = None) -> sql.Composable:
    return sql.SQL("{} IN ({})").format(_column(alias, "state"), sql.SQL(", ").join(state(v) for v in values))


def stale_or_elsewhere(alias: str | None, queue: sql.Composable) -> sql.Composable:
    """An in-flight job the fetcher may take again: its lease expired, or it waits on another queue
    than ``queue`` (or on none)."""
    return sql.SQL("({lease} <= now() OR ({bound} AND {queue_url} IS DISTINCT FROM {queue}))").format(
        lease=_column(alias, "lease_expires_at"),
        bound=is_state(QUEUE_BOUND, alias),
        queue_url=_column(alias, "queue_url"),
        queue=queue,
    )


def live_here(alias: str | None, queue: sql.Composable) -> sql.Composable:
    """An in-flight job the fetcher must leave alone: a live lease, held by a worker or waiting on
    ``queue`` (the negation of ``stale_or_elsewhere`` among in-flight jobs, written so that the
    partial index ``video_jobs_in_flight`` answers it)."""
    return sql.SQL("{in_flight} AND {lease} > now() AND ({held} OR {queue_url} = {queue})").format(
        in_flight=in_states(IN_FLIGHT, alias),
        lease=_column(alias, "lease_expires_at"),
        held=is_state(WORKER_HELD, alias),
        queue_url=_column(alias, "queue_url"),
        queue=queue,
    )


def claimable(alias: str | None) -> sql.Composable:
    """A job a worker may claim: waiting, or held under a lease that has expired."""
    return sql.SQL("({waiting} OR ({held} AND {lease} <= now()))").format(
        waiting=is_state(QUEUE_BOUND, alias),
        held=is_state(WORKER_HELD, alias),
        lease=_column(alias, "lease_expires_at"),
    )


def held_live(alias: str | None = None) -> sql.Composable:
    """A job a worker holds under a live lease."""
    return sql.SQL("{} AND {} > now()").format(is_state(WORKER_HELD, alias), _column(alias, "lease_expires_at"))
