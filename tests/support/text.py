"""Comparing transcripts with reference texts."""

from __future__ import annotations

import re

import jiwer


def normalise(text: str) -> str:
    # Case, punctuation and spacing are not what the tests measure.
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))
