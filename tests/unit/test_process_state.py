"""No hidden process-wide state in the core: no ``global`` statement, and module-level mutable values
only where a process-wide cache is the point (each listed with why)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "shared" / "vidscribe"

#: Module-level state that is process-wide on purpose, each with why (and the lock that guards it).
PROCESS_CACHES = {
    # A loaded model costs seconds and ~300 MB: once per process, whichever Services asks (DESIGN.md).
    "adapters/backends/local_whisper.py:_models",
    "adapters/backends/local_whisper.py:_models_lock",
    # boto3 S3 clients, one per endpoint/region/pool size: building one costs ~100 ms and a pool.
    "adapters/media/transports/s3.py:_clients",
    "adapters/media/transports/s3.py:_clients_lock",
    # The shutdown-date warning for an OpenAI model: once per process and day, not per video.
    "adapters/backends/openai_models.py:_warned",
    "adapters/backends/openai_models.py:_warned_lock",
    # The secrets every log line and error is scrubbed of, wherever it was written from.
    "redaction.py:_known",
    # The embedded servers this process started, ended with it (atexit and the child guard).
    "local/embedded.py:_started",
    # Powertools' logger, metrics and tracer: one per process by Powertools' design (EMF flush, keys).
    "observability.py:logger",
    "observability.py:metrics",
    "observability.py:tracer",
    # Flask blueprints: declarations of routes, holding no request's data.
    "web/pages.py:blueprint",
    "web/actions.py:blueprint",
}


def module_state(path: Path) -> list[str]:
    """Names bound at module level to something built at import (a call, a list, dict or set),
    other than UPPER_CASE constants."""
    found = []
    for node in ast.parse(path.read_text()).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        value = getattr(node, "value", None)
        if not isinstance(value, ast.Call | ast.List | ast.Dict | ast.Set):
            continue
        found += [t.id for t in targets if isinstance(t, ast.Name) and not t.id.isupper() and t.id != "__all__"]
    return found


def test_no_global_statement_in_the_core() -> None:
    offenders = [
        f"{path.relative_to(CORE)}:{node.lineno}"
        for path in CORE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Global)
    ]
    assert offenders == []


def test_module_level_mutable_values_are_only_the_listed_process_caches() -> None:
    found = {
        f"{path.relative_to(CORE).as_posix()}:{name}" for path in CORE.rglob("*.py") for name in module_state(path)
    }
    assert found == PROCESS_CACHES
