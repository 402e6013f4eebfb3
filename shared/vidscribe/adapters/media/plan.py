"""Which bytes of a remote file to fetch: the plan, and which plan is worth it on this link.

:func:`plan_fetch` is the one entry point: given the first answer (size, first bytes) it reads an MP4's
index when the strategy may use it (:mod:`.containers.mp4_index`, a request or two), then returns the
plan to run and the bytes already held. Two plans cover what a reader can need today:

* **whole-file**: every byte not already held, in ``piece``-sized requests (Matroska, MPEG-TS, Ogg...
  have no sample index; an MP4 whose index cannot drive a partial fetch -- fragmented, a compressed
  index, media in another file -- is read whole too, and the log says why);
* **audio-only**: the audio chunks an MP4's index lists (plus the index), neighbours coalesced.

The readers run any plan unchanged (:class:`~.readers.sparse.PlannedRanges`: the plan's ranges fetched
ahead, zeros elsewhere). A part of a long video is a third plan, made here from what the containers
say: an MP4 index's audio extents within a time range, or a playlist's segments within it
(:func:`~.containers.playlist.media_targets`); containers without an index are read whole and seek.

What a plan costs on a link (``estimate_seconds``): ``connections`` requests run at once, each paying
the first-byte latency and then the per-connection bandwidth, and all together no more than the shared
bandwidth. Interleaving decides: a camera's MP4 (one audio chunk per second) needs a few hundred small
requests, a fraction of a second on most links; FFmpeg's (one per audio frame) needs tens of thousands,
and on a 30 ms link fetching them one by one takes longer than reading the whole file at full speed.

Coalescing spends a byte budget (``budget``, a fraction of the audio bytes) on the smallest gaps first:
each merged gap saves a request. With a link, ``auto`` merges only gaps that take less time to transfer
than a request's share of the latency costs. An index that lies (tables larger than their boxes, audio
past the end of the file) fails before any media byte is fetched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ...config import Settings
from ...observability import logger
from .containers.formats import sniff
from .containers.mp4_index import IndexUnusable, Mp4Index, read_index
from .transports.ranges import LinkMeter

Strategy = Literal["auto", "audio-only", "whole-file"]
AUDIO_ONLY: Literal["audio-only"] = "audio-only"
WHOLE_FILE: Literal["whole-file"] = "whole-file"

GAP_BUDGET = 0.1  # coalescing may add at most this fraction of the audio bytes
# auto takes audio-only while it is estimated to cost at most this much more time than whole-file
LITTLE_EXTRA_FACTOR = 1.25
LITTLE_EXTRA_SECONDS = 0.25
# The shared bandwidth is not measurable from one request: assume that parallel connections together
# carry at most this many times one connection's rate (pessimistic for whole-file, so ties go to
# fewer bytes).
SHARED_BANDWIDTH_FACTOR = 2.0


@dataclass(frozen=True)
class Link:
    """What the first requests showed: seconds to the first byte, one connection's bytes per second."""

    latency: float
    bandwidth: float
    connections: int

    @property
    def shared_bandwidth(self) -> float:
        return self.bandwidth * min(self.connections, SHARED_BANDWIDTH_FACTOR)

    def describe(self) -> str:
        return f"{self.latency * 1000:.0f} ms to the first byte, {self.bandwidth / 1e6:.1f} MB/s per connection"


@dataclass(frozen=True)
class Plan:
    kind: Literal["audio-only", "whole-file"]
    starts: np.ndarray  # int64, sorted, non-overlapping
    lengths: np.ndarray  # int64

    @property
    def bytes(self) -> int:
        return int(self.lengths.sum())

    @property
    def requests(self) -> int:
        return len(self.starts)


def estimate_seconds(plan: Plan, link: Link) -> float:
    if plan.requests == 0:
        return 0.0
    per_connection = (plan.requests * link.latency + plan.bytes / link.bandwidth) / link.connections
    return max(per_connection, plan.bytes / link.shared_bandwidth, link.latency)


def complement(size: int, held: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, end) spans of [0, size) not covered by ``held`` spans."""
    spans, pos = [], 0
    for start, end in sorted(held):
        if start > pos:
            spans.append((pos, min(start, size)))
        pos = max(pos, end)
    if pos < size:
        spans.append((pos, size))
    return [(s, e) for s, e in spans if e > s]


def _split(starts: np.ndarray, ends: np.ndarray, piece: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut spans longer than ``piece`` into ``piece``-sized requests."""
    counts = np.maximum(1, -(-(ends - starts) // piece))
    first = np.repeat(starts, counts)
    nth = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    out_starts = first + nth * piece
    out_ends = np.minimum(out_starts + piece, np.repeat(ends, counts))
    return out_starts, out_ends - out_starts


def whole_file_plan(size: int, held: list[tuple[int, int]], piece: int) -> Plan:
    spans = complement(size, held)
    if not spans:
        return Plan(WHOLE_FILE, np.zeros(0, np.int64), np.zeros(0, np.int64))
    arr = np.array(spans, dtype=np.int64)
    starts, lengths = _split(arr[:, 0], arr[:, 1], piece)
    return Plan(WHOLE_FILE, starts, lengths)


def audio_plan(
    offsets: np.ndarray,
    sizes: np.ndarray,
    held: list[tuple[int, int]],
    piece: int,
    link: Link | None = None,
    budget: float = GAP_BUDGET,
) -> Plan:
    """The audio chunks (``offsets``/``sizes``, sorted) minus what is held, coalesced within the budget;
    with a ``link``, a gap is merged only if transferring it is quicker than the request it saves."""
    starts = offsets.astype(np.int64)
    ends = starts + sizes.astype(np.int64)
    if len(starts) == 0:
        return Plan(AUDIO_ONLY, starts, starts.copy())
    # Touching or overlapping chunks become one span.
    running_end = np.maximum.accumulate(ends)
    new_span = np.append(True, starts[1:] > running_end[:-1])
    span_starts = starts[new_span]
    span_ends = np.maximum.reduceat(ends, np.flatnonzero(new_span))
    gaps = span_starts[1:] - span_ends[:-1]
    allowance = budget * float((span_ends - span_starts).sum())
    limit = math.inf if link is None else link.latency * link.shared_bandwidth / link.connections
    merge = np.zeros(len(gaps), dtype=bool)
    if len(gaps):
        order = np.argsort(gaps, kind="stable")
        ok = np.cumsum(gaps[order]) <= allowance
        ok &= gaps[order] < limit
        merge[order[ok]] = True
    keep = np.append(True, ~merge)
    merged_starts = span_starts[keep]
    merged_ends = np.append(span_ends[:-1][~merge], span_ends[-1])
    # Remove what is already held (the index's requests brought the start and the end of the file).
    spans = []
    for s, e in zip(merged_starts.tolist(), merged_ends.tolist(), strict=True):
        spans.extend(complement(e, [(0, s), *held]))
    if not spans:
        return Plan(AUDIO_ONLY, np.zeros(0, np.int64), np.zeros(0, np.int64))
    arr = np.array(spans, dtype=np.int64)
    out_starts, out_lengths = _split(arr[:, 0], arr[:, 1], piece)
    return Plan(AUDIO_ONLY, out_starts, out_lengths)


def choose(strategy: Strategy, audio: Plan | None, whole: Plan, link: Link) -> tuple[Plan, str]:
    """The plan to run, and why (for the log)."""
    if audio is None or strategy == WHOLE_FILE:
        return whole, "FETCH_STRATEGY=whole-file" if audio is not None else "no usable sample index"
    if strategy == AUDIO_ONLY:
        return audio, "FETCH_STRATEGY=audio-only"
    t_audio, t_whole = estimate_seconds(audio, link), estimate_seconds(whole, link)
    why = f"estimated {t_audio:.2f} s for audio-only vs {t_whole:.2f} s for whole-file on a link of {link.describe()}"
    if t_audio <= LITTLE_EXTRA_FACTOR * t_whole + LITTLE_EXTRA_SECONDS:
        return audio, why
    return whole, why


# --- the plan for one fetch ------------------------------------------------------------------------------
@dataclass
class PlanChoice:
    """The plan to run, the real bytes already read ({offset: bytes}: the first answer's, the index's),
    why (for the log and the report), and what the MP4 index said (None without one)."""

    plan: Plan
    held: dict[int, bytes]
    reason: str
    audio_bytes: int | None = None
    index_bytes: int | None = None
    estimated_seconds: float = field(default=0.0)


def plan_fetch(
    size: int, head: bytes, settings: Settings, meter: LinkMeter, read_at: Callable[[int, int], bytes]
) -> PlanChoice:
    """The plan for a file of ``size`` bytes whose first bytes are ``head``: FETCH_STRATEGY's, or with
    ``auto`` the one the link (``meter``) favours. ``read_at(offset, n)`` fetches what the index needs."""
    index, held, reason = _read_index(size, head, settings, read_at)
    link = Link(meter.latency(), meter.bandwidth(), settings.fetch_connections)
    spans = [(start, start + len(data)) for start, data in held.items()]
    whole = whole_file_plan(size, spans, settings.read_ahead_bytes)
    audio = None
    if index is not None:
        offsets, sizes = index.audio_extents()
        tuned = link if settings.fetch_strategy == "auto" else None
        audio = audio_plan(offsets, sizes, spans, settings.read_ahead_bytes, tuned)
    plan, why = choose(settings.fetch_strategy, audio, whole, link)
    choice = PlanChoice(
        plan, held, why if audio is not None else reason, estimated_seconds=estimate_seconds(plan, link)
    )
    if index is not None:
        choice.audio_bytes = sum(t.data_bytes for t in index.audio_tracks)
        choice.index_bytes = index.index_bytes
    logger.info(
        "fetch plan",
        extra={
            "plan": plan.kind,
            "reason": choice.reason,
            "size": size,
            "plan_bytes": plan.bytes,
            "plan_requests": plan.requests,
            "estimated_seconds": round(choice.estimated_seconds, 3),
            "audio_bytes": choice.audio_bytes,
        },
    )
    return choice


def _read_index(
    size: int, head: bytes, settings: Settings, read_at: Callable[[int, int], bytes]
) -> tuple[Mp4Index | None, dict[int, bytes], str]:
    """(the MP4 index or None, the bytes held, why there is no index)."""
    held = {0: head}
    if settings.fetch_strategy == WHOLE_FILE:
        return None, held, "FETCH_STRATEGY=whole-file"
    kind = sniff(head)
    if kind != "MP4/QuickTime":
        return None, held, f"{kind or 'this format'} has no sample index: reading the whole file"
    try:
        index, held = read_index(read_at, size, head)
    except IndexUnusable as exc:
        reason = f"the MP4's index cannot drive a partial fetch ({exc}): reading the whole file"
        logger.info("reading the whole file", extra={"reason": reason})
        return None, held, reason
    return index, held, ""
