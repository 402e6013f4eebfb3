"""Checks on encoded audio for the tests and benchmarks."""

from __future__ import annotations

import io

import av

from vidscribe.models import SAMPLE_RATE


def decoded_duration(data: bytes) -> float:
    """Seconds of audio in an encoded file, by decoding it."""
    samples = 0
    rate = SAMPLE_RATE
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    return samples / rate
