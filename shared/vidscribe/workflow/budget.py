"""The time budget: a transcription must end inside the invocation's ceiling, never be cut off by it.

Lambda kills an invocation at its timeout, mid-work: the message then waits out the whole visibility
timeout, the retry dies the same way, and the failure record can only say "timed out". So the
transcriber asks first and keeps asking:

* once the duration is known, whether the video can be done in the time left (the backend's
  measured speed; ``TimeBudgetExceeded``, permanent, naming the fix, when it cannot);
* while it works, whether the time left is still above a safety margin (``TimeRunningOut``,
  retryable: the job is released and the record reported in batchItemFailures, so that the retry
  starts at once with a fresh invocation).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import TimeBudgetExceeded, TimeRunningOut

#: What decoding, voice activity detection and storing cost besides the model, in wall seconds per
#: second of audio (bench/bench_long_audio.py measures well under it on 2 cores).
OVERHEAD_SECONDS_PER_AUDIO_SECOND = 0.02


class TimeBudget:
    """The time one invocation has left (``remaining_seconds``, e.g. from Lambda's context)."""

    def __init__(
        self,
        remaining_seconds: Callable[[], float],
        *,
        margin_seconds: float,
        seconds_for: Callable[[float], float],
        timeout_seconds: float | None = None,
    ) -> None:
        self.remaining_seconds = remaining_seconds
        self.margin_seconds = margin_seconds
        self.seconds_for = seconds_for  # the backend's estimate for that much audio
        self.timeout_seconds = timeout_seconds

    def needed_for(self, audio_seconds: float) -> float:
        return self.seconds_for(audio_seconds) + OVERHEAD_SECONDS_PER_AUDIO_SECOND * audio_seconds

    def start(self, declared_seconds: float | None) -> None:
        """Raise TimeBudgetExceeded if a video of ``declared_seconds`` cannot be done in time."""
        if declared_seconds is None or declared_seconds <= 0:
            self.check()  # unknown duration: the checks along the way decide
            return
        needed = self.needed_for(declared_seconds)
        left = self.remaining_seconds()
        if needed + self.margin_seconds > left:
            ceiling = f" of the {self.timeout_seconds:.0f} s an invocation may run" if self.timeout_seconds else ""
            raise TimeBudgetExceeded(
                f"this video's {declared_seconds:.0f} s of audio would take about {needed:.0f} s to transcribe, "
                f"and only {left:.0f} s are left{ceiling} (keeping {self.margin_seconds:.0f} s in hand): raise "
                "the transcriber's timeout (TRANSCRIBER_TIMEOUT_SECONDS; in AWS transcriberTimeoutSeconds, at "
                "most 900), give it more CPU (transcriberMemoryMb) or a faster backend, or lower "
                "MAX_DURATION_SECONDS"
            )

    def check(self) -> None:
        """Raise TimeRunningOut once the time left is down to the safety margin."""
        left = self.remaining_seconds()
        if left < self.margin_seconds:
            raise TimeRunningOut(
                f"the invocation's time ran short ({left:.0f} s left, {self.margin_seconds:.0f} s kept in hand): "
                "stopped before the timeout; the retry starts afresh"
            )


def margin_for(timeout_seconds: float, configured: float) -> float:
    """The safety margin: ``configured`` (TIME_BUDGET_MARGIN_SECONDS), at most a tenth of the timeout."""
    return min(configured, timeout_seconds / 10)


def monotonic_deadline(seconds: float) -> Callable[[], float]:
    """``remaining_seconds`` for a deadline ``seconds`` from now (outside Lambda)."""
    at = time.monotonic() + seconds
    return lambda: at - time.monotonic()
