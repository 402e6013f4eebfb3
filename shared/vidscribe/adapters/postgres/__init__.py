"""The PostgreSQL adapters: connections (``database``), the schema (``schema`` and ``migrations/``), job state
(``store``, the Store port), the command line's read models (``reports``, the Reports port) and the web page's
(``catalogue``, the Catalogue port)."""

from .catalogue import PostgresCatalogue
from .database import Database
from .reports import PostgresReports
from .schema import migrate
from .store import PostgresStore

__all__ = ["Database", "PostgresCatalogue", "PostgresReports", "PostgresStore", "migrate"]
