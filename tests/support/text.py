"""Comparing transcripts with reference texts."""

from __future__ import annotations

import re

import jiwer


def normalise(text: str) -> str:
    # Case, punctuation and spacing are not what the tests measure.
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))


def normalise_any(text: str) -> str:
    """Lower case, punctuation gone, for any script (accents and CJK kept)."""
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def error_rate(reference: str, hypothesis: str, *, characters: bool = False) -> float:
    """WER in any language; CER (spaces ignored) for scripts written without spaces (ja, zh)."""
    ref, hyp = normalise_any(reference), normalise_any(hypothesis)
    if characters:
        return float(jiwer.cer(ref.replace(" ", ""), hyp.replace(" ", "") or "<empty>"))
    return float(jiwer.wer(ref, hyp or "<empty>"))
