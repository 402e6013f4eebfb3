"""``vidscribe search QUERY``: the segments that match, best first, each with its video, its time, a
highlighted snippet and a link that opens the video at that second (the URL's secrets removed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..models import SearchHit, SearchQuery
from ..redaction import escape_unsafe, redact
from ..web.links import seconds_param
from .bootstrap import open_services, settings_from
from .commands import print_json

MAX_LIMIT = 1000
# How a matched word is shown: bold on a terminal, between asterisks in a pipe or a file.
_BOLD, _PLAIN = ("\033[1m", "\033[0m"), ("*", "*")


def add_search_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], add: Callable[..., argparse.ArgumentParser]
) -> None:
    p = add(sub, "search", help="find what was said: the segments that match, best first")
    p.add_argument("query", help='words, "a phrase", prefix*, -excluded, or (as a web search box takes them)')
    p.add_argument("--language", help="only segments in this language (en, de, ...)")
    p.add_argument("--video", metavar="ID", help="only this video")
    p.add_argument("--since", type=since_moment, help="only transcripts made at or after this date (UTC unless given)")
    p.add_argument("--limit", type=hit_limit, default=20, help=f"at most this many hits (default 20, max {MAX_LIMIT})")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)


def since_moment(text: str) -> datetime:
    """A date or a time as ISO 8601 gives it (``2026-01-31``, ``2026-01-31T12:00+01:00``), UTC unless it says."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (give one such as 2026-01-31)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def hit_limit(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"not a number of hits: {text!r} (1 to {MAX_LIMIT})")
    return int(text)


def clock(seconds: float) -> str:
    """``h:mm:ss``, always with the hours."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def link(hit: SearchHit) -> str | None:
    """The video's URL without its secrets (credentials, query), opening at the segment's second."""
    return f"{redact(hit.url)}#t={seconds_param(hit.start)}" if hit.url else None


def _snippet(hit: SearchHit, marks: tuple[str, str], shown: Callable[[str], str] = str) -> str:
    return "".join(f"{marks[0]}{shown(text)}{marks[1]}" if matched else shown(text) for text, matched in hit.snippet)


def _as_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "video_id": hit.video_id,
        "start": hit.start,
        "end": hit.end,
        "time": clock(hit.start),
        "language": hit.language,
        "rank": hit.rank,
        "snippet": _snippet(hit, ("", "")),
        "matches": [text for text, matched in hit.snippet if matched],
        "link": link(hit),
    }


def cmd_search(args: argparse.Namespace) -> int:
    query = SearchQuery(args.query, language=args.language, video_id=args.video, since=args.since, limit=args.limit)
    with open_services(settings_from(args)) as services:
        hits = services.reports.search(query)
    if args.json:
        print_json([_as_json(hit) for hit in hits])
        return 0
    if not hits:
        print("no matches")
        return 0
    marks = _BOLD if sys.stdout.isatty() else _PLAIN
    for hit in hits:
        # A video id and the spoken text are the user's data: shown as they are, but for what a
        # terminal would obey.
        print(f"{escape_unsafe(hit.video_id)}  {clock(hit.start)}  {_snippet(hit, marks, escape_unsafe)}")
        shown = link(hit)
        if shown:
            print(f"    {escape_unsafe(shown)}")
    return 0
