"""OpenAI SDK exceptions in the pipeline's vocabulary: BackendTransient or BackendPermanent.

Rate limits (except an exhausted quota), timeouts, connection failures and 5xx are transient (the
message gets its one redelivery); authentication, permission, invalid requests, unknown models,
oversized or undecodable files are permanent. Messages carry the API's own explanation, with the API
key scrubbed out.

After a model's shutdown date, the API's refusal of it (a 404 ``model_not_found`` "has been
deprecated", a 410, or a 400 about the model) is permanent, and its message says what to set.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import BackendPermanent, BackendTransient

_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{3,})")


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    # The API echoes a masked key in 401s ("sk-proj-****abcd"): drop that too.
    return _KEY_PATTERN.sub("sk-***", text)


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return str(getattr(exc, "message", None) or exc)


def _refuses_the_model(exc: Any, status: int) -> bool:
    """Whether an error answer is the API turning the model (or its endpoint) away."""
    if status in (404, 410):
        return True
    if status != 400:
        return False
    message = _api_message(exc).lower()
    return getattr(exc, "code", None) in ("model_not_found", "model_deprecated") or "model" in message


def classify_error(exc: BaseException, *, secrets: tuple[str, ...] = (), retired_fix: str | None = None) -> Exception:
    """Map an OpenAI SDK exception to BackendTransient / BackendPermanent (others pass through).

    The result's message names the status, the API's error type/code and its explanation, and
    never contains the API key. ``retired_fix``: given when OpenAI has shut the model down by now,
    what its refusal's message says to do first."""
    import openai

    if not isinstance(exc, openai.OpenAIError):
        return exc  # type: ignore[return-value]
    if isinstance(exc, openai.APITimeoutError):
        return BackendTransient(f"OpenAI request timed out: {_scrub(str(exc), secrets)}")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        return BackendTransient(_scrub(f"could not reach the OpenAI API: {exc}{detail}", secrets))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind = " ".join(str(x) for x in (getattr(exc, "type", None), getattr(exc, "code", None)) if x)
        request_id = getattr(exc, "request_id", None)
        text = f"OpenAI API {status}{f' {kind}' if kind else ''}: {_api_message(exc)}"
        if request_id:
            text += f" (request id {request_id})"
        text = _scrub(text, secrets)
        if retired_fix is not None and _refuses_the_model(exc, status):
            return BackendPermanent(f"{retired_fix}; the API said: {text}")
        if isinstance(exc, openai.RateLimitError):
            # An exhausted quota is a 429 too, but no retry a few seconds later can fix it.
            if getattr(exc, "code", None) == "insufficient_quota":
                return BackendPermanent(text)
            return BackendTransient(text)
        if isinstance(exc, openai.InternalServerError) or status in (408, 409) or status >= 500:
            return BackendTransient(text)
        # 400 BadRequest, 401 Authentication, 403 PermissionDenied, 404 NotFound, 413, 415,
        # 422 UnprocessableEntity and any other 4xx: the same request will fail the same way.
        return BackendPermanent(text)
    # A response the SDK could not parse, or another client-side failure: treat as a server fault.
    return BackendTransient(_scrub(f"OpenAI client error {type(exc).__name__}: {exc}", secrets))
