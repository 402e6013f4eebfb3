"""``vidscribe serve``: the web page over the same database as every other command (the embedded one
by default, or DATABASE_URL: a read-only role is fine, and turns the actions off).

A read-only role cannot migrate: the page then only checks that the schema is current, and says
which command brings it up to date if it is not. ``--samples`` serves the bundled samples as
``demo`` does (their media server's port changes each time, so their rows are pointed at it).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from ..adapters.postgres import PostgresCatalogue, PostgresStore, migrate
from ..adapters.postgres.schema import pending_migrations
from ..config import Settings
from ..models import WriteAccess
from ..observability import logger
from ..ports import Queue
from ..services import Services
from .bootstrap import settings_from
from .errors import EXIT_USAGE, CliError, exit_code_for
from .signals import STOP_SIGNALS

if TYPE_CHECKING:
    from flask import Flask

    from ..web import WebServer

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
ANY_ADDRESS = ("0.0.0.0", "::", "")


def trusted_hosts(host: str) -> list[str] | None:
    """The Host names the page answers: the address it listens on and the loopback names. None (any
    name) when it listens on every address, or on an IPv6 address (werkzeug's check cannot name one)."""
    if host in ANY_ADDRESS or ":" in host:
        return None
    return list(dict.fromkeys([host, *LOOPBACK_NAMES]))


def _queue(settings: Settings) -> Queue | None:
    if not settings.queue_url:
        return None
    from ..adapters.sqs import SqsQueue, sqs_client

    return SqsQueue(sqs_client(settings), settings.queue_url)


def _schema_ready(services: Services, read_only: bool) -> None:
    """Migrate when there is something to apply and the page may write; else say what to run."""
    import psycopg2.errors

    pending = pending_migrations(services.database)
    if not pending:
        return

    def behind(why: str) -> CliError:
        return CliError(
            f"the database's schema is behind ({', '.join(pending)} not applied) and {why}: "
            "run 'vidscribe db migrate' with a role that may, then serve again"
        )

    if read_only:
        raise behind("--read-only changes nothing")
    try:
        migrate(services.database)
    except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ReadOnlySqlTransaction):
        raise behind("this role may not change it") from None


@contextmanager
def _sample_media(services: Services, access: WriteAccess) -> Iterator[str]:
    """The bundled samples served on loopback, their rows pointed at that server."""
    from ..local.media_server import MediaServer
    from ..local.samples import load_manifest, samples_dir

    if not access.allowed:
        raise CliError(f"--samples writes the samples' rows, and cannot: {access.reason}", EXIT_USAGE)
    with MediaServer(samples_dir()) as media:
        rows = [(s["id"], media.url(s["file"])) for s in load_manifest()]
        services.store.add_videos(rows, update_urls=True)
        yield media.base_url


def web_app(services: Services, *, read_only: bool, host: str) -> tuple[Flask, WriteAccess]:
    """The application over ``services``' database (checked, its schema current), and whether its
    actions are on."""
    from ..web import WebContext, actions_access, create_app

    settings = services.settings
    _schema_ready(services, read_only)  # first: the privileges are asked of vidscribe's tables
    catalogue = PostgresCatalogue(services.database, videos_table=settings.videos_table)
    access = actions_access(read_only, catalogue.write_access())
    PostgresStore(services.database, videos_table=settings.videos_table).check_videos_table()
    context = WebContext(settings, services.reports, catalogue, services.store, _queue(settings), access)
    return create_app(context, trusted_hosts=trusted_hosts(host)), access


def cmd_serve(args: argparse.Namespace) -> int:
    from ..local.stack import with_database

    try:  # the web page's libraries are an extra: the Lambda layer and a bare install go without
        from ..web import WebServer
    except ImportError as exc:
        missing = f"{exc.name} is missing"
        raise CliError(f"vidscribe serve needs the web extra ({missing}): pip install 'vidscribe[web]'") from None

    settings = settings_from(args)
    source = "DATABASE_URL" if settings.database_url or settings.database_secret_arn else "the embedded PostgreSQL"
    services = Services(with_database(settings))
    with ExitStack() as stack:
        stack.callback(services.close)
        services.database.check(source)
        app, access = web_app(services, read_only=args.read_only, host=args.host)
        samples = stack.enter_context(_sample_media(services, access)) if args.samples else None
        try:
            server = WebServer(app, host=args.host, port=args.port)
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", EXIT_USAGE) from None
        actions = "retry and dismiss on" if access.allowed else f"read-only: {access.reason}"
        if samples:
            print(f"vidscribe serve: the sample videos are served from {samples}", file=sys.stderr)
        print(f"vidscribe serve: open {server.url} ({actions}; Ctrl-C stops)", file=sys.stderr, flush=True)
        logger.info("serve: listening", extra={"url": server.url, "actions": access.allowed})
        stopped_by = _serve_until_signal(server)
    print(f"vidscribe serve: stopped by {stopped_by}", file=sys.stderr)
    return exit_code_for(stopped_by)


def _serve_until_signal(server: WebServer) -> str:
    """Serve until SIGTERM, SIGINT or SIGHUP; returns the signal's name."""
    received: list[str] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        server.stop()

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        server.serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0] if received else "SIGTERM"
