"""Reading the pages' query parameters into the core's queries: each bad value is a ``BadInput``
that names the parameter and what it takes (the page answers 400 with that one line)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

from ..models import CATALOGUE_STATES, CatalogueQuery, SearchQuery, clean_video_id

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SEARCH_PAGE_SIZE = 20
MAX_TEXT = 200  # a filter or a search text longer than this is a mistake, not a query


class BadInput(ValueError):
    """A query parameter the page cannot take (the message names it)."""


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise BadInput(f"{name}: at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadInput(f"{name}: contains control characters")
    return value.strip()


def _count(args: Mapping[str, str], name: str, default: int, largest: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= largest:
        raise BadInput(f"{name}: a whole number from 0 to {largest}")
    return int(value)


def _id(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        return clean_video_id(value)
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}") from None


def video_id(args: Mapping[str, str]) -> str:
    """The ``id`` of the video page (required)."""
    found = _id(args, "id")
    if found is None:
        raise BadInput("id: which video? (give ?id=VIDEO_ID)")
    return found


def catalogue_query(args: Mapping[str, str]) -> CatalogueQuery:
    state = _text(args, "state")
    if state is not None and state not in CATALOGUE_STATES:
        raise BadInput(f"state: {state!r} is not a state (the states are {', '.join(CATALOGUE_STATES)})")
    limit = _count(args, "limit", PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE
    return CatalogueQuery(
        state=state,
        language=_text(args, "language"),
        model=_text(args, "model"),
        id_contains=_text(args, "q"),
        after=_id(args, "after"),
        before=_id(args, "before"),
        limit=limit,
    )


def search_query(args: Mapping[str, str]) -> SearchQuery | None:
    """The search asked for, or None when no text was given (the page shows the form)."""
    text = _text(args, "q")
    if text is None:
        return None
    since = _text(args, "since")
    try:
        when = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise BadInput("since: a date such as 2026-01-31") from None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    page = _count(args, "page", 1, 10_000) or 1
    return SearchQuery(
        text=text,
        language=_text(args, "language"),
        video_id=_id(args, "video"),
        since=when,
        limit=SEARCH_PAGE_SIZE,
        offset=(page - 1) * SEARCH_PAGE_SIZE,
    )


def start_seconds(args: Mapping[str, str]) -> float | None:
    """``t``, where the player starts (seconds); None when absent."""
    value = args.get("t")
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise BadInput("t: a number of seconds, such as 12.5") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise BadInput("t: a number of seconds, such as 12.5")
    return seconds
