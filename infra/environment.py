"""The environment variables the stack gives the functions, named by the core's own ``Settings``.

Each variable is asked for by its ``Settings`` field name and written under that field's alias, so
a name the core does not read cannot be set (a KeyError at synth, not a setting silently ignored
and the code default used at run time). tests/infra/test_environment.py checks every template.
"""

from __future__ import annotations

from vidscribe.config import Settings

#: Variables the stack sets that libraries read rather than ``Settings``: Powertools' (its service,
#: namespace, log level, tracer and parameter cache) and the Hugging Face hub's offline switch.
LIBRARY_VARIABLES = frozenset({
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_PARAMETERS_MAX_AGE",
    "LOG_LEVEL",
    "HF_HUB_OFFLINE",
})


def variable(field: str) -> str:
    """The environment variable ``Settings`` reads ``field`` from."""
    info = Settings.model_fields.get(field)
    if info is None or info.alias is None:
        raise KeyError(f"Settings has no field {field!r}: the functions would never read it")
    return info.alias


def settings_environment(**values: object) -> dict[str, str]:
    """``{variable: text}`` for each ``Settings`` field given a value (None: left unset)."""
    return {variable(field): _text(value) for field, value in values.items() if value is not None}


def _text(value: object) -> str:
    # As Settings reads them back: booleans in lower case, lists comma-separated.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return str(value)
