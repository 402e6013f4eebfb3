"""The PostgreSQL adapters: connections (``database``), the schema (``schema`` and ``migrations/``), job state
(``store``, the Store port) and the command line's read models (``reports``, the Reports port)."""

from .database import Database
from .reports import PostgresReports
from .schema import migrate
from .store import PostgresStore

__all__ = ["Database", "PostgresReports", "PostgresStore", "migrate"]
