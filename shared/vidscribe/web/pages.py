"""The pages (GET only, nothing written): the catalogue, search, one video, its transcript files,
and the pipeline's status."""

from __future__ import annotations

import io
from dataclasses import replace

from flask import Blueprint, Response, abort, render_template, request, send_file

from ..errors import SearchSyntaxError
from ..export import FORMATS, render
from ..models import CATALOGUE_STATES, Segment
from . import forms
from .context import web_context
from .links import download_name
from .media_policy import player_media

blueprint = Blueprint("pages", __name__)

MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
STATUS_FAILURES = 100  # open failure records listed on the status page; the rest are counted


@blueprint.get("/")
def catalogue() -> str:
    context = web_context()
    query = forms.catalogue_query(request.args)
    page = context.catalogue.page(query)
    languages, models = context.catalogue.choices()
    return render_template(
        "catalogue.html",
        active="catalogue",
        page=page,
        query=query,
        states=CATALOGUE_STATES,
        languages=languages,
        models=models,
    )


@blueprint.get("/search")
def search() -> str:
    context = web_context()
    query = forms.search_query(request.args)
    hits, has_next = [], False
    if query is not None:
        # One more than a page: is there another?
        try:
            found = context.reports.search(replace(query, limit=query.limit + 1))
        except SearchSyntaxError as exc:
            raise forms.BadInput(f"q: {exc}") from None
        hits, has_next = found[: query.limit], len(found) > query.limit
    return render_template("search.html", active="search", query=query, hits=hits, has_next=has_next)


@blueprint.get("/video")
def video() -> str:
    context = web_context()
    video_id = forms.video_id(request.args)
    start = forms.start_seconds(request.args)
    row = context.catalogue.video(video_id)
    transcript = context.reports.transcript(video_id)
    if row is None and transcript is None:
        abort(404, f"there is no video {video_id!r}")
    media = player_media(row.url if row else None)
    segments = transcript.segments if transcript else []
    return render_template(
        "video.html",
        video_id=video_id,
        row=row,
        transcript=transcript,
        segments=segments,
        current=_segment_at(segments, start),
        media=media,
        start=start,
        formats=FORMATS,
    )


def _segment_at(segments: list[Segment], seconds: float | None) -> int | None:
    """The index of the segment spoken at ``seconds`` (the last one that started by then)."""
    if seconds is None:
        return None
    current = None
    for index, segment in enumerate(segments):
        if segment.start <= seconds:
            current = index
    return current


@blueprint.get("/transcript.<fmt>")
def transcript_file(fmt: str) -> Response:
    """The transcript as ``fmt``: inline (the player's caption track), or as a download."""
    if fmt not in FORMATS:
        abort(404, f"no such format {fmt!r} (the formats are {', '.join(FORMATS)})")
    context = web_context()
    video_id = forms.video_id(request.args)
    transcript = context.reports.transcript(video_id)
    if transcript is None:
        abort(404, f"video {video_id!r} has no transcript")
    body = render(transcript, fmt).encode("utf-8")
    if not request.args.get("download"):
        return Response(body, content_type=MEDIA_TYPES[fmt])
    # send_file writes Content-Disposition with RFC 6266's filename* for names beyond ASCII.
    response = send_file(io.BytesIO(body), as_attachment=True, download_name=download_name(video_id, fmt), etag=False)
    response.headers["Content-Type"] = MEDIA_TYPES[fmt]
    return response


@blueprint.get("/status")
def status() -> str:
    context = web_context()
    counts = context.reports.status()
    failures = context.catalogue.open_failures(STATUS_FAILURES)
    open_total = sum(counts["open_failures"].values())
    return render_template(
        "status.html",
        active="status",
        status=counts,
        failures=failures,
        more_failures=max(0, open_total - len(failures)),
        actions=context.actions,
    )
