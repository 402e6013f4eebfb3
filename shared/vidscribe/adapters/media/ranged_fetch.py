"""Fetching a file whose server honours ranges: plan from the index (MP4) or read it whole, fast.

    first response (size, first bytes, link timing)
      -> MP4?  read the index with a few Range requests (mp4_index), plan audio-only and whole-file
               (fetch_plan), take the one FETCH_STRATEGY asks for or, with auto, the one the link favours
      -> else  whole-file (Matroska, MPEG-TS, Ogg, ... have no sample index)
      -> PlannedFile over a WindowedFetcher (several requests in flight) -> decode_audio

An MP4 whose index cannot drive a partial fetch (fragmented, compressed index, media elsewhere) is read
whole, and the log says why. One whose index is corrupt in a way that would also break FFmpeg (tables
larger than their boxes, audio past the end of the file) fails here, before its media is fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from ...config import Settings
from ...models import AudioSink, DecodedAudio
from ...observability import logger
from .containers.formats import sniff
from .containers.mp4_index import IndexUnusable, Mp4Index, read_index
from .decode import decode_audio
from .plan import AUDIO_ONLY, WHOLE_FILE, Link, Plan, audio_plan, choose, estimate_seconds, whole_file_plan
from .readers.parallel import WindowedFetcher, retry_once
from .readers.sparse import PlannedFile
from .transports.ranges import LinkMeter, RangeClient

MiB = 1024 * 1024
KEEP_BEHIND = 2 * MiB  # FFmpeg probes a few seconds of packets, then seeks back to the first


@dataclass
class FetchReport:
    """What one fetch did: the plan it ran and what it cost (the bench and the tests read it)."""

    kind: str  # "in memory", "sequential", "audio-only", "whole-file", "hls"
    size: int | None = None
    bytes_fetched: int = 0
    requests: int = 0
    audio_bytes: int | None = None  # the audio chunks' bytes, from an MP4 index
    index_bytes: int | None = None
    reason: str = ""
    retries: int = 0
    peak_held_bytes: int = 0  # the most fetched-ahead bytes held at once (memory is flat in file size)
    window_bytes: int = 0


@dataclass
class RemoteFile:
    """A remote file after its first (ranged) response."""

    size: int
    head: bytes
    content_type: str | None
    make_client: Callable[[], RangeClient]
    meter: LinkMeter
    check_deadline: Callable[[], object]
    first_bytes_fetched: int = 0
    first_requests: int = 1


class _RangeWorker:
    def __init__(self, client: RangeClient, plan: Plan) -> None:
        self.client = client
        self._starts, self._lengths = plan.starts, plan.lengths

    def fetch(self, i: int) -> bytes:
        return self.client.fetch(int(self._starts[i]), int(self._lengths[i]))

    def close(self) -> None:
        self.client.close()


def fetch_ranged(
    remote: RemoteFile, settings: Settings, sink: AudioSink | None = None
) -> tuple[DecodedAudio, FetchReport]:
    clients: list[RangeClient] = []
    lock = threading.Lock()

    def new_client() -> RangeClient:
        client = remote.make_client()
        with lock:
            clients.append(client)
        return client

    report = FetchReport(WHOLE_FILE, size=remote.size)
    try:
        index, held = _read_index(remote, settings, new_client, report)
        plan = _plan(remote, settings, index, held, report)
        connections = settings.fetch_connections
        window = max(8 * MiB, connections * settings.read_ahead_bytes)
        fetcher = WindowedFetcher(
            plan.lengths,
            lambda: _RangeWorker(new_client(), plan),
            connections=connections,
            window=window,
            keep_behind=KEEP_BEHIND,
            check_deadline=remote.check_deadline,
        )
        with PlannedFile(remote.size, held, plan, fetcher, content_type=remote.content_type) as file:
            audio = decode_audio(file, max_duration_seconds=settings.max_duration_seconds, sink=sink)
        report.retries = fetcher.retries
        report.peak_held_bytes = fetcher.peak_held
        report.window_bytes = window + KEEP_BEHIND
    finally:
        for client in clients:
            client.close()
        report.bytes_fetched = remote.first_bytes_fetched + sum(c.bytes_fetched for c in clients)
        report.requests = remote.first_requests + sum(c.requests for c in clients)
    return replace(audio, source_bytes=report.bytes_fetched), report


def _read_index(
    remote: RemoteFile, settings: Settings, new_client: Callable[[], RangeClient], report: FetchReport
) -> tuple[Mp4Index | None, dict[int, bytes]]:
    held = {0: remote.head}
    if settings.fetch_strategy == WHOLE_FILE:
        report.reason = "FETCH_STRATEGY=whole-file"
        return None, held
    kind = sniff(remote.head)
    if kind != "MP4/QuickTime":
        report.reason = f"{kind or 'this format'} has no sample index: reading the whole file"
        return None, held
    client: RangeClient | None = None

    def read_at(offset: int, n: int) -> bytes:
        nonlocal client
        if client is None:
            client = new_client()
        reader = client
        return retry_once(lambda: reader.fetch(offset, min(n, remote.size - offset)))

    try:
        index, held = read_index(read_at, remote.size, remote.head)
    except IndexUnusable as exc:
        report.reason = f"the MP4's index cannot drive a partial fetch ({exc}): reading the whole file"
        logger.info("reading the whole file", extra={"reason": report.reason})
        return None, held
    report.audio_bytes = sum(t.data_bytes for t in index.audio_tracks)
    report.index_bytes = index.index_bytes
    return index, held


def _plan(
    remote: RemoteFile, settings: Settings, index: Mp4Index | None, held: dict[int, bytes], report: FetchReport
) -> Plan:
    spans = [(start, start + len(data)) for start, data in held.items()]
    piece = settings.read_ahead_bytes
    link = Link(remote.meter.latency(), remote.meter.bandwidth(), settings.fetch_connections)
    whole = whole_file_plan(remote.size, spans, piece)
    audio = None
    if index is not None:
        offsets, sizes = index.audio_extents()
        tuned = link if settings.fetch_strategy == "auto" else None
        audio = audio_plan(offsets, sizes, spans, piece, tuned)
    plan, why = choose(settings.fetch_strategy, audio, whole, link)
    report.kind = plan.kind
    report.reason = why if audio is not None else report.reason
    logger.info(
        "fetch plan",
        extra={
            "plan": plan.kind,
            "reason": report.reason,
            "size": remote.size,
            "plan_bytes": plan.bytes,
            "plan_requests": plan.requests,
            "estimated_seconds": round(estimate_seconds(plan, link), 3),
            "audio_bytes": report.audio_bytes,
        },
    )
    assert plan.kind in (AUDIO_ONLY, WHOLE_FILE)
    return plan
