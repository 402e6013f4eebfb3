"""Giving back work that will not finish: at a clean stop, and after a process on this machine died.

- :func:`release_unfinished`: a run that stops (SIGTERM, SIGINT, SIGHUP) and whose transcriptions
  did not finish within the grace period gives them back: each job is queued again with no claim,
  the attempt it was in does not count (it did not fail, it was stopped), and its message is on the
  queue again at once. A worker that finishes later cannot undo this: its writes carry the claim's
  token (see ``transcribing``), and only a transcript, which is the video's whoever made it, is
  still stored.
- :func:`recover_abandoned`: the claims of a process that was killed (SIGKILL, the OOM killer) are
  given back as soon as a run on the same machine sees that the process is gone, instead of after
  the processing lease (15 minutes by default). The crashed attempt counts, as any crash does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import Settings
from ..models import ReceivedMessage
from ..observability import logger
from ..ports import PolledQueue, Store
from .outcomes import message_video_id


@dataclass(frozen=True)
class Released:
    videos: int  # claims given back
    messages: int  # messages on the queue again at once
    lost_messages: int  # messages that could not be given back: their visibility timeout brings them back


def release_unfinished(
    settings: Settings,
    store: Store,
    queue: PolledQueue,
    transcriptions: Sequence[ReceivedMessage],
    claimed_by: str,
    *,
    dlq: PolledQueue | None = None,
    dead_letters: Sequence[ReceivedMessage] = (),
) -> Released:
    """Give back the deliveries still in the hands of this process's workers (``claimed_by``)."""
    videos = messages = lost = 0
    for message in transcriptions:
        video_id = message_video_id(message.body)
        if video_id is not None:
            try:
                if store.release_claim(video_id, claimed_by, settings.queued_lease_seconds, refund_attempt=True):
                    videos += 1
            except Exception as exc:  # the database is gone: the processing lease expires on its own
                logger.warning("could not release the claim", extra={"video_id": video_id, "error": str(exc)})
        if _requeue(queue, message):
            messages += 1
        else:
            lost += 1
    for message in dead_letters:
        assert dlq is not None
        try:
            dlq.change_visibility(message.receipt_handle, 0)
            messages += 1
        except Exception:  # it comes back after the DLQ's visibility timeout
            lost += 1
    return Released(videos, messages, lost)


def _requeue(queue: PolledQueue, message: ReceivedMessage) -> bool:
    """Put a received message back on the queue at once.

    A fresh copy is sent and the received one deleted, rather than ChangeMessageVisibility(0):
    SQS counts every receive towards maxReceiveCount, so a message made visible again would have
    spent its video's one retry on a stop, and a video stopped twice would reach the dead-letter
    queue without ever failing. When the copy cannot be sent, visibility 0 is the fallback; a
    failed delete leaves a duplicate, which the claim drops.
    """
    try:
        queue.send([message.body])
    except Exception:
        try:
            queue.change_visibility(message.receipt_handle, 0)
            return True
        except Exception:
            return False
    try:
        queue.delete([message.receipt_handle])
    except Exception as exc:
        logger.warning("could not delete a message sent again", extra={"error": str(exc)})
    return True


def recover_abandoned(
    settings: Settings, store: Store, claimed_by_prefix: str, is_dead: Callable[[str], bool]
) -> list[str]:
    """Give back the live claims of dead processes among those whose ``claimed_by`` starts with
    ``claimed_by_prefix`` (this machine's); returns their video ids."""
    recovered = []
    for claim in store.held_claims(claimed_by_prefix):
        if is_dead(claim.claimed_by) and store.release_claim(
            claim.video_id, claim.claimed_by, settings.queued_lease_seconds, refund_attempt=False
        ):
            recovered.append(claim.video_id)
    if recovered:
        logger.warning(
            "gave back the videos of a process that died", extra={"videos": len(recovered), "video_ids": recovered[:20]}
        )
    return recovered
