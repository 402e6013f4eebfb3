"""``vidscribe serve``: a local web page to browse the catalogue, search the transcripts, watch a
video with its captions beside its transcript, and see (and act on) the pipeline's status.

``app`` (the Flask application and what keeps it safe), ``pages`` (GET: nothing written),
``actions`` (POST: retry and dismiss, off for a read-only role), ``forms`` (query parameters in),
``links`` (ids out, percent-encoded), ``media_policy`` (which media URLs may reach the browser),
``server`` (waitress), ``templates/`` and ``static/``. It reads through the ports (``Reports``,
``Catalogue``, ``Store``) and acts through ``workflow.operations``, like the command line, and it
does not ship to Lambda (``infra/lambda_packaging.py`` leaves it out).
"""

from .app import create_app
from .context import WebContext, actions_access
from .server import WebServer

__all__ = ["WebContext", "WebServer", "actions_access", "create_app"]
