"""What the web application works with: the ports it reads and writes through (the command line
wires the adapters), and whether the operator's actions are on."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..config import Settings
from ..models import WriteAccess
from ..ports import Catalogue, Queue, Reports, Store

READ_ONLY_FLAG = "the page was started with --read-only"


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    reports: Reports
    catalogue: Catalogue
    store: Store
    #: where a retry sends its messages (None: the next 'vidscribe run' picks the videos up)
    queue: Queue | None
    #: whether the retry and dismiss actions are on, and if not, why
    actions: WriteAccess


def actions_access(read_only_flag: bool, role: WriteAccess) -> WriteAccess:
    """The actions are on only when the role may make their writes and ``--read-only`` was not given."""
    if read_only_flag:
        return WriteAccess(False, READ_ONLY_FLAG)
    return role


def web_context() -> WebContext:
    """The running application's context (inside a request)."""
    context: WebContext = current_app.extensions["vidscribe"]
    return context
