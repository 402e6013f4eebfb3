"""The web page as the tests run it: ``vidscribe serve``'s own wiring (``serve_command.web_app``)
over a real database, served by waitress on a free loopback port from a thread."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from vidscribe.cli.serve_command import web_app
from vidscribe.config import Settings
from vidscribe.models import WriteAccess
from vidscribe.services import Services
from vidscribe.web import WebServer


@dataclass(frozen=True)
class RunningWeb:
    url: str  # with its trailing slash
    access: WriteAccess

    def page(self, path: str) -> str:
        return self.url + path.lstrip("/")


@contextmanager
def running_web(database_url: str, *, read_only: bool = False, **settings: object) -> Iterator[RunningWeb]:
    """The page over ``database_url`` until the block ends (``settings``: more variables)."""
    services = Services(Settings.from_env({}, DATABASE_URL=database_url, **settings))
    try:
        app, access = web_app(services, read_only=read_only, host="127.0.0.1")
        server = WebServer(app, host="127.0.0.1", port=0)
        thread = server.start_thread()
        try:
            yield RunningWeb(server.url, access)
        finally:
            server.stop()
            thread.join(timeout=10)
    finally:
        services.close()


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(session: requests.Session, status_page: str) -> str:
    """The CSRF token of a status page's forms (and the session cookie it is tied to, in ``session``)."""
    found = _TOKEN.search(session.get(status_page, timeout=10).text)
    assert found, "the status page has no form with a CSRF token"
    return found.group(1)
