"""The workflow: where the pipeline's decisions live, one module per use case.

- ``fetching``: what the fetcher queues (only videos with no transcript and no live job);
- ``one_source``: one source to one transcript, streamed (the worker's path and ``vidscribe
  transcribe``'s);
- ``transcribing``: when a delivery is skipped, where the retry is decided, when a failure is
  recorded at once;
- ``dead_letters``: the failure record of a message that used up its retry;
- ``operations``: the operator's use cases (add videos, enqueue by hand, retry-failed, dismiss records);
- ``stopping``: giving back work that will not finish (a clean stop, a process that died);
- ``reporting``: the log keys and metrics the SQS handlers report per record.
"""

from .dead_letters import DeadLetterRecorder
from .fetching import Fetcher, FetchResult
from .one_source import SourceTranscriber
from .outcomes import AttemptFailed, Delivery, Outcome, ProcessResult, message_video_id
from .stopping import Released, recover_abandoned, release_unfinished
from .transcribing import Transcriber

__all__ = [
    "AttemptFailed",
    "Delivery",
    "DeadLetterRecorder",
    "FetchResult",
    "Fetcher",
    "Outcome",
    "ProcessResult",
    "Released",
    "SourceTranscriber",
    "Transcriber",
    "message_video_id",
    "recover_abandoned",
    "release_unfinished",
]
