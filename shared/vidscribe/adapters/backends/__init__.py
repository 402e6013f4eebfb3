"""Transcription backends: ``local`` (faster-whisper on the CPU) and ``openai`` (the OpenAI API)."""

from __future__ import annotations

from ...config import Settings
from ...ports import TranscriptionBackend


def build_backend(settings: Settings, *, openai_api_key: str | None = None) -> TranscriptionBackend:
    """The backend named by TRANSCRIBER. Imports are deferred so each Lambda loads only what it uses."""
    if settings.transcriber == "local":
        from .local_whisper import LocalWhisperBackend

        return LocalWhisperBackend(settings)
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(settings, api_key=openai_api_key)
