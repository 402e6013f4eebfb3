"""What a transcription is estimated to cost: the audio sent to the model times its list price.

OpenAI bills its transcription models per minute of uploaded audio (whisper-1, gpt-transcribe) or by
audio tokens that its pricing page converts to an estimated price per minute (gpt-4o(-mini)-transcribe). These
are the published prices when this table was written (USD per minute of audio); they are an
estimate for reporting (``vidscribe status``), not a bill. A model that is not in the table (an
OpenAI-compatible server's own model) has no estimate (None).
"""

from __future__ import annotations

USD_PER_MINUTE: dict[str, float] = {
    "gpt-transcribe": 0.0045,
    "whisper-1": 0.006,
    "gpt-4o-transcribe": 0.006,
    "gpt-4o-transcribe-diarize": 0.006,
    "gpt-4o-mini-transcribe": 0.003,
}


def estimated_cost_usd(model: str, audio_seconds: float) -> float | None:
    """The estimated price of sending ``audio_seconds`` to ``model``; None for an unpriced model."""
    price = USD_PER_MINUTE.get(model.lower())
    if price is None:
        return None
    return round(price * audio_seconds / 60.0, 6)
