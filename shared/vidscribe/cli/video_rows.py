"""Reading videos to add: one from arguments, many from a CSV (``id,url``) or JSON-lines file."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..models import VideoMessage, validation_problems
from .errors import CliError


def invalid(exc: ValidationError) -> str:
    return f"invalid video: {validation_problems(exc, 'value')}"


def validated_row(video_id: Any, url: Any, where: str) -> tuple[str, str]:
    """(id, url) checked by the same rules as a queue message; CliError naming ``where`` if not."""
    try:
        message = VideoMessage.model_validate({"video_id": video_id, "url": url}, strict=True)
    except ValidationError as exc:
        raise CliError(f"{where}: {invalid(exc)}") from None
    if not message.url:
        raise CliError(f"{where}: the url is missing")
    return message.video_id, message.url


def read_rows(path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    """(``file:line``, (id, url)) for each row of a file; a bad line stops the import with its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise CliError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise CliError(f"{path}:{number}: expected an object with id and url")
            where = f"{path}:{number}"
            yield where, validated_row(data.get("id", data.get("video_id")), data.get("url"), where)
        return
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"id", "url"} <= {f.strip() for f in reader.fieldnames}:
        raise CliError(f"{path}: expected a CSV header 'id,url' or JSON lines with id and url")
    for number, row in enumerate(reader, 2):
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        yield f"{path}:{number}", validated_row(cells.get("id"), cells.get("url"), f"{path}:{number}")
