"""The operator's actions on the status page: retry and dismiss failure records, the same use cases
as ``vidscribe retry-failed`` and ``vidscribe failures dismiss`` (``workflow/operations.py``).

Each is a POST that answers with a redirect to the status page and a one-line message. The
application refuses (403) any POST while the actions are off (a read-only role, ``--read-only``),
without the CSRF token, or from another origin, before it gets here (``app.py``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from ..errors import OperatorError
from ..redaction import scrub
from ..workflow import operations
from .context import web_context

blueprint = Blueprint("actions", __name__)


def _back() -> Response:
    return redirect(url_for("pages.status"), code=303)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@blueprint.post("/failures/retry")
def retry() -> Response:
    """Queue failed videos again: those named (``video_id``), or every one of ``error_type``."""
    context = web_context()
    video_ids = [v for v in request.form.getlist("video_id") if v]
    error_type = request.form.get("error_type") or None
    if not video_ids and error_type is None:
        abort(400, "name the videos to retry (video_id) or an error_type")
    try:
        retried = operations.retry_failed(
            context.settings, context.store, context.queue, video_ids, error_type=error_type
        )
    except OperatorError as exc:
        flash(scrub(str(exc)), "error")
        return _back()
    where = "sent to the queue" if context.queue is not None else "queued for the next 'vidscribe run'"
    message = f"{_plural(len(retried.queued), 'failed video')} {where}"
    if retried.without_video or retried.without_url:
        message += f"; {retried.without_video + len(retried.without_url)} left as they are (no video or no url)"
    flash(message, "done")
    return _back()


@blueprint.post("/failures/dismiss")
def dismiss() -> Response:
    """Resolve open failure records as dismissed: those named (``record_id``), or every one of ``error_type``."""
    context = web_context()
    try:
        record_ids = [int(v) for v in request.form.getlist("record_id") if v]
    except ValueError:
        abort(400, "record_id: a failure record's number")
    error_type = request.form.get("error_type") or None
    if bool(record_ids) == bool(error_type):
        abort(400, "name the records to dismiss (record_id) or an error_type, not both")
    try:
        dismissed = operations.dismiss_failures(context.store, record_ids, error_type)
    except OperatorError as exc:
        flash(scrub(str(exc)), "error")
        return _back()
    flash(f"dismissed {_plural(len(dismissed), 'failure record')}", "done")
    return _back()
