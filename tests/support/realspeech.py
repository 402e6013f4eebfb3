"""Real people speaking (tests/fixtures/realspeech, see its README for sources and licences), and
clips built from them with known speech onsets: a music intro, long pauses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tests.support import nonspeech
from vidscribe.adapters.media import open_local_audio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "realspeech"
R = 16_000


@dataclass(frozen=True)
class Recording:
    file: str
    text: str  # the reference
    onset: float  # where the speech starts in the file (s)
    end: float | None = None  # use the file up to here (s)

    @property
    def samples(self) -> np.ndarray:
        audio = _decoded(self.file)
        return audio if self.end is None else audio[: int(self.end * R)]


def decoded(file: str) -> np.ndarray:
    """A fixture file's audio, 16 kHz mono (decoded once)."""
    return _decoded(file)


@cache
def _decoded(file: str) -> np.ndarray:
    return open_local_audio(FIXTURES / file, max_duration_seconds=600).samples


# Onsets: measured on these clean recordings (first 10 ms frame 25% of the way from the noise floor
# to the peak level, in dB), or the hand-labelled speech of the .speech.json where there is one.
BIRCH = Recording("single-mic-example1.wav", "The birch canoe slid on the smooth planks.", onset=0.02)
FROSTY = Recording("single-mic-example5.wav", "The frosty air passed through the coat.", onset=0.64)
LICENCE_TEXT = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of the software and "
    "associated documentation files to deal in the software without restriction, including without "
    "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies "
    "of the software, and to permit persons to whom the software is furnished to do so, subject to the "
    "following conditions. The above copyright notice and this permission notice shall be included in all "
    "copies or substantial portions of the software."
)
# multilingual.mp3: the English paragraph is its first 30 s (the German after it has no reference).
LICENCE = Recording("multilingual.mp3", LICENCE_TEXT, onset=0.11, end=30.4)
# Its first sentence up to "restriction," (the pause after it is at 8.8-9.1 s).
LICENCE_OPENING = Recording(
    "multilingual.mp3",
    "Permission is hereby granted, free of charge, to any person obtaining a copy of the software and "
    "associated documentation files to deal in the software without restriction,",
    onset=0.11,
    end=9.0,
)
REFERENCED = (BIRCH, FROSTY, LICENCE)
# multilingual.mp3's German half (from 30.4 s): the usual German rendering of the licence's first paragraph.
LIZENZ_TEXT = (
    "Jedem, der eine Kopie dieser Software und der zugehörigen Dokumentationsdateien erhält, wird hiermit "
    "unentgeltlich die Genehmigung erteilt, mit der Software uneingeschränkt zu verfahren. Dies umfasst "
    "insbesondere das Recht, die Software zu verwenden, zu vervielfältigen, zu modifizieren, zusammenzufügen, "
    "zu veröffentlichen, zu verteilen, unterzulizenzieren und oder Kopien der Software zu verkaufen, und diese "
    "Rechte unter den folgenden Bedingungen anderen zu übertragen."
)
ENGLISH_THEN_GERMAN = "multilingual.mp3"
GERMAN_FROM = 30.4  # seconds: where the German half starts


@dataclass(frozen=True)
class Spoken:
    """One clip of multilingual/: its language and what is said."""

    file: str
    language: str
    text: str

    @property
    def samples(self) -> np.ndarray:
        return _decoded(f"multilingual/{self.file}")


def multilingual_clips() -> list[Spoken]:
    refs = json.loads((FIXTURES / "multilingual" / "refs.json").read_text())
    return [Spoken(name, ref["lang"], ref["text"]) for name, ref in sorted(refs.items())]


def hand_labelled(name: str) -> tuple[np.ndarray, list[tuple[float, float]], list[tuple[float, float]]]:
    """(samples, labelled windows, speech intervals) of vad-train / vad-valid."""
    samples = _decoded(f"{name}.wav")
    labels = json.loads((FIXTURES / f"{name}.speech.json").read_text())
    windows, speech = [], []
    for example in labels.values():
        start = example["wav"]["start"] / R
        windows.append((start, example["wav"]["stop"] / R))
        values = [float(v) for v in example["speech"].split()]
        speech += [(start + a, start + b) for a, b in zip(values[::2], values[1::2], strict=True) if b > a]
    return samples, windows, speech


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray
    onsets: list[float]  # where each spoken part starts (s)
    speech: list[tuple[float, float]]  # (onset, end) of each spoken part
    text: str  # what is said, in order

    @property
    def duration(self) -> float:
        return len(self.samples) / R

    @property
    def speech_seconds(self) -> float:
        return sum(b - a for a, b in self.speech)


def build(parts: list[np.ndarray | Recording]) -> Clip:
    """Concatenate non-speech arrays and recordings; record where each recording's speech starts."""
    pieces, onsets, speech, texts, cursor = [], [], [], [], 0.0
    for part in parts:
        if isinstance(part, Recording):
            samples = part.samples
            onsets.append(cursor + part.onset)
            speech.append((cursor + part.onset, cursor + len(samples) / R))
            texts.append(part.text)
        else:
            samples = np.asarray(part, np.float32)
        pieces.append(samples)
        cursor += len(samples) / R
    return Clip(np.concatenate(pieces).astype(np.float32), onsets, speech, " ".join(texts))


def music_intro_clip() -> Clip:
    """12 s of music (with a hummed melody), then a person speaking, at about the music's loudness
    (as a mixed soundtrack has it). Silero hears a narrator who is ~20 dB quieter than loud music
    right before them up to 1.6 s late, or not at all: its recurrent state needs time to adapt."""
    music = nonspeech.music(12.0)
    speech_rms = float(np.sqrt(np.mean(np.square(BIRCH.samples))))
    music *= 1.5 * speech_rms / float(np.sqrt(np.mean(np.square(music))))
    return build([music, BIRCH, nonspeech.silence(1.0)])


def long_pauses_clip() -> Clip:
    """Three people speaking with 6-9 s pauses of room tone and silence between them (~35 s, ~30% speech)."""
    return build(
        [
            nonspeech.room_hum(2.0),
            BIRCH,
            nonspeech.room_hum(6.0, seed=4),
            FROSTY,
            nonspeech.silence(9.0),
            LICENCE_OPENING,
            nonspeech.room_hum(7.0, seed=5),
        ]
    )
