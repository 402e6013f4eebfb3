"""The web application (Flask, Jinja2 templates with autoescape): the pages, the actions, and what
keeps them safe whatever the data holds.

- Every transcript word, id, URL and error message is outside data: the templates escape all of it
  (autoescape on every ``.html`` template; no ``|safe`` anywhere), and the VTT track is served as
  ``text/vtt`` from ``export.py``, which escapes its cue text.
- A strict Content-Security-Policy: scripts and styles only from this application's own files (no
  inline script or style at all), media from any http(s) origin, no framing, forms only to itself.
- Nothing is written while the actions are off (a read-only role, ``--read-only``): every POST is
  refused with 403, whatever it carries.
- POSTs carry a CSRF token (Flask-WTF, signed with a secret made afresh for each process and tied
  to the session cookie, which is ``SameSite=Strict``); a POST whose ``Origin`` is another site's,
  or that a browser marks as cross-site (``Sec-Fetch-Site``), is refused first. Any refusal is 403.
- Only the Host names the server was started for are answered (``TRUSTED_HOSTS``): another site's
  page cannot read this one through a DNS name rebound to 127.0.0.1.
- ``Server-Timing`` tells how long the application took for each response (``bench/bench_web.py``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, SecurityError

from ..observability import logger
from ..redaction import scrub
from . import actions, pages
from .context import WebContext, web_context
from .links import clock, seconds_param, with_query

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' http: https:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # The media's server learns nothing of the page (its URL names the video). Not "no-referrer":
    # that makes a browser send "Origin: null" with the page's own form posts.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_app(context: WebContext, trusted_hosts: Sequence[str] | None = None) -> Flask:
    """The application over ``context``; ``trusted_hosts``: the Host names it answers (None: any)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_NAME="vidscribe_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # A token is good for as long as this process (and its secret) lives.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=64 * 1024,
        TRUSTED_HOSTS=list(trusted_hosts) if trusted_hosts is not None else None,
    )
    app.extensions["vidscribe"] = context
    app.before_request(_start_clock)
    # Before the CSRF check, so that each refusal says what it is.
    app.before_request(_writes_allowed)
    app.before_request(_same_origin_only)
    CSRFProtect(app)
    app.after_request(_headers)
    app.jinja_env.globals.update(clock=clock, with_query=with_query, seconds_param=seconds_param)
    app.jinja_env.filters["scrub"] = scrub  # failure messages: written scrubbed, shown scrubbed again
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(actions.blueprint)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.register_error_handler(pages.forms.BadInput, _bad_input)
    return app


def _start_clock() -> None:
    g.started = time.perf_counter()


def _writes_allowed() -> None:
    """No request may write while the actions are off (a read-only role, ``--read-only``)."""
    if request.method not in UNSAFE_METHODS:
        return
    access = web_context().actions
    if not access.allowed:
        raise Forbidden(f"the actions are off: {access.reason}")


def _same_origin_only() -> None:
    """Refuse a write that a browser says comes from another site (``Sec-Fetch-Site``) or from
    another origin (``Origin``). Requests without either (not a browser's) still need the token."""
    if request.method not in UNSAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden(f"refused: a {site} request may not change anything here")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        raise Forbidden("refused: the request comes from another origin")


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    started = g.get("started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


def _error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=scrub(message)), status


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    return _error_page(403, f"refused: {error.description} Reload the page and try again.")


def _untrusted_host(error: SecurityError) -> Response:
    # No page for a Host this server does not answer (nor can one be built: URLs need the host).
    return Response("400 Bad Request: this server does not answer that host name\n", 400, mimetype="text/plain")


def _bad_input(error: pages.forms.BadInput) -> tuple[str, int]:
    return _error_page(400, str(error))


def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error  # redirects and the like pass through
    return _error_page(error.code, error.description or error.name)


def _unexpected(error: Exception) -> tuple[str, int]:
    # One scrubbed line for the person and the log; the details stay in the log only.
    logger.exception("web: a page failed", extra={"path": request.path, "error": f"{type(error).__name__}"})
    described = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
    return _error_page(InternalServerError.code, f"this page failed: {described}")
