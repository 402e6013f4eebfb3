"""The bundled sample clips (``samples/`` at the repository root) and their manifest.

Each manifest entry: ``id``, ``file`` (relative to the samples folder), ``text`` (the reference
transcript), ``container``, and probed facts (``duration_seconds``, codecs, ``bytes``,
``mp4_index`` for MP4s). ``scripts/make_samples.py`` regenerates them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_VAR = "VIDSCRIBE_SAMPLES_DIR"


def samples_dir() -> Path:
    """The samples folder: ``$VIDSCRIBE_SAMPLES_DIR`` if set, else ``<repo>/samples`` (found from
    this package's location, ``shared/vidscribe/local/../../../samples``)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    return (Path(__file__).resolve().parents[3] / "samples").resolve()


def load_manifest() -> list[dict[str, Any]]:
    """The entries of ``manifest.json`` in :func:`samples_dir`; FileNotFoundError names the folder."""
    folder = samples_dir()
    path = folder / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no sample manifest at {path}; set {ENV_VAR} to the samples folder or run scripts/make_samples.py"
        )
    entries = json.loads(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path} should hold a JSON list")
    return entries


def sample_path(entry: dict[str, Any]) -> Path:
    """The file of one manifest entry."""
    return samples_dir() / str(entry["file"])
