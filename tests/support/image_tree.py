"""The transcriber's container-image tree for tests and benchmarks: built (or refreshed) once, then run
under CPython 3.12 by tests/support/image_driver.py, isolated from this virtual environment.

The tree lives where ``make package-image`` puts it (.package/image/), so a run reuses the last one:
only the core and the handler are refreshed when the dependencies, their pins and the model have not
changed (infra/package_image.py's fingerprint); a fresh clone installs them once (~30 s with pip's cache).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from infra.lambda_packaging import ROOT, find_python312
from infra.package_image import TASK_DIR, build

DRIVER = Path(__file__).with_name("image_driver.py")
REALSPEECH = ROOT / "tests" / "fixtures" / "realspeech"
# The tree the tests run: tiny.en, the fast model (base's own image path is tested in tests/infra).
IMAGE_MODEL = "tiny.en"


def python312() -> str:
    """The runtime's Python; its absence is a setup error, never a reason to skip."""
    python = find_python312()
    if python is None:
        raise RuntimeError(
            "the image tree test needs a CPython 3.12 (the Lambda runtime's version): install one "
            "(pyenv install 3.12.1) or set PYTHON312=/path/to/python3.12"
        )
    return python


def ensure_image_tree() -> tuple[Path, dict[str, Any]]:
    """Build or refresh .package/image/ (precompiled with the 3.12); returns task/ and the build report."""
    report = build(ROOT / ".package", compile_python=python312(), whisper_model=IMAGE_MODEL)
    return ROOT / ".package" / "image" / TASK_DIR, report


def lambda_environment(*, database_url: str, queue_url: str, endpoint_url: str, cpu_threads: int = 2,
                       memory_mb: int = 10_240, **extra: str) -> dict[str, str]:
    """What the stack gives the image function in local mode (infra/transcriber_image.py), with the
    test's database and queue instead of secrets, and loopback media allowed."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",  # nothing in the function may need a home directory to write to
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": "Transcriber",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "vidscribe",
        "POWERTOOLS_METRICS_NAMESPACE": "Vidscribe",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "1",
        "QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL": endpoint_url,
        "MAX_WORKERS": "2",
        "RETRY_BACKOFF_SECONDS": "0",
        "ALLOW_PRIVATE_URLS": "true",
        "TRANSCRIBER": "local",
        "WHISPER_CPU_THREADS": str(cpu_threads),
        "WHISPER_WORKERS": "1",
        "HF_HUB_OFFLINE": "1",
        "WHISPER_MODEL": IMAGE_MODEL,  # as the stack sets it for an image built with whisperModel=tiny.en
        **extra,
    }


def run_in_image(tree: Path, event: dict[str, Any], env: dict[str, str], *, speech_file: Path | None = None,
                 timeout: float = 600) -> dict[str, Any]:
    """Invoke the tree's handler once in a fresh CPython 3.12 process; returns the driver's result."""
    with tempfile.TemporaryDirectory(prefix="vidscribe-image-run-") as tmp:
        event_path, result_path = Path(tmp, "event.json"), Path(tmp, "result.json")
        event_path.write_text(json.dumps(event))
        args = [python312(), "-I", "-S", str(DRIVER), str(tree), str(event_path), str(result_path)]
        if speech_file is not None:
            args.append(str(speech_file))
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not result_path.exists():
            raise AssertionError(f"the image tree's handler failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        result["stdout"] = proc.stdout
        return result
