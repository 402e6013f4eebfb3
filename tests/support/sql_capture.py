"""Capture the SQL a store call sends, without running it (for EXPLAIN in tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg2.extensions

from tests.support.database import PostgresUnderTest


class _Captured(Exception):
    pass


class _CaptureCursor(psycopg2.extensions.cursor):
    def execute(self, query: Any, vars: Any = None) -> None:
        raise _Captured(self.mogrify(query, vars).decode())


class _CaptureConnection(psycopg2.extensions.connection):
    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", _CaptureCursor)
        return super().cursor(*args, **kwargs)


def statement_of(database_url: str, call: Callable[[PostgresUnderTest], Any]) -> str:
    """The SQL text (parameters bound) of the first statement ``call`` makes on a store; nothing runs."""
    store = PostgresUnderTest(database_url, connection_factory=_CaptureConnection)
    try:
        call(store)
    except _Captured as captured:
        return str(captured)
    finally:
        store.close()
    raise AssertionError("the call sent no statement")
