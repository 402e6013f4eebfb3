"""Transcript rendering: SubRip and WebVTT must be well-formed whatever segments the backend produced."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import pytest

from vidscribe.export import MAX_CUE_SECONDS, MAX_LINE_CHARS, render, to_json, to_srt, to_txt, to_vtt
from vidscribe.models import Segment, Transcript, Word

SRT_CUE = re.compile(
    r"\A(?P<index>\d+)\n"
    r"(?P<start>\d{2,}:\d{2}:\d{2},\d{3}) --> (?P<end>\d{2,}:\d{2}:\d{2},\d{3})\n"
    r"(?P<text>[^\n]+(?:\n[^\n]+)?)\n?\Z"
)
VTT_CUE = re.compile(
    r"\A(?P<start>\d{2,}:\d{2}:\d{2}\.\d{3}) --> (?P<end>\d{2,}:\d{2}:\d{2}\.\d{3})\n"
    r"(?P<text>[^\n]+(?:\n[^\n]+)?)\n?\Z"
)

LONG_TEXT = (
    "So today we are going to talk about the way transcripts are split into subtitles, which matters "
    "because nobody can read a paragraph of one hundred and fifty characters in a single glance."
)


def seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def parse_srt(document: str) -> list[tuple[float, float, list[str]]]:
    """Parse and validate a SubRip document: every cue matches, indexes count from 1."""
    if not document:
        return []
    assert document.endswith("\n") and not document.endswith("\n\n\n")
    cues = []
    for expected_index, block in enumerate(document.rstrip("\n").split("\n\n"), start=1):
        match = SRT_CUE.match(block)
        assert match, f"malformed SRT cue: {block!r}"
        assert int(match["index"]) == expected_index
        cues.append((seconds(match["start"]), seconds(match["end"]), match["text"].split("\n")))
    return cues


def parse_vtt(document: str) -> list[tuple[float, float, list[str]]]:
    assert document.startswith("WEBVTT\n")
    header, blank, body = document.partition("\n\n")  # a blank line must follow the header
    assert all(re.fullmatch(r"Language: [a-z]{2,3}", line) for line in header.split("\n")[1:]), header
    if not blank:
        return []
    cues = []
    for block in body.strip("\n").split("\n\n"):
        match = VTT_CUE.match(block)
        assert match, f"malformed VTT cue: {block!r}"
        cues.append((seconds(match["start"]), seconds(match["end"]), match["text"].split("\n")))
    return cues


def assert_well_formed(cues: list[tuple[float, float, list[str]]]) -> None:
    previous_start = -1.0
    for start, end, lines in cues:
        assert end > start, (start, end, lines)
        assert start >= previous_start, "cue starts must never go backwards"
        assert 1 <= len(lines) <= 2
        assert all(0 < len(line) <= MAX_LINE_CHARS for line in lines), lines
        previous_start = start


def words_of(cues: list[tuple[float, float, list[str]]]) -> list[str]:
    return " ".join(" ".join(lines) for _, _, lines in cues).split()


def test_simple_segments_render_as_valid_srt_and_vtt():
    # Given three ordinary segments
    segments = [Segment(0.0, 2.5, " Hello there."), Segment(2.5, 4.25, "General Kenobi!"), Segment(5.0, 6.0, "Yes.")]
    # When they are rendered
    srt, vtt = to_srt(segments), to_vtt(segments)
    # Then both are well-formed, with the original times and text
    srt_cues, vtt_cues = parse_srt(srt), parse_vtt(vtt)
    assert_well_formed(srt_cues)
    assert_well_formed(vtt_cues)
    assert [(s, e) for s, e, _ in srt_cues] == [(0.0, 2.5), (2.5, 4.25), (5.0, 6.0)]
    assert srt_cues == vtt_cues
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n")
    assert "00:00:02.500 --> 00:00:04.250\nGeneral Kenobi!" in vtt


def test_long_segment_is_split_at_word_boundaries_with_time_shared_by_characters():
    # Given one 20-second segment of 180 characters
    segments = [Segment(10.0, 30.0, LONG_TEXT)]
    # When it becomes subtitles
    cues = parse_srt(to_srt(segments))
    # Then it is several cues of at most two 42-character lines and about 7 seconds each,
    # covering exactly the segment's time and words, in order
    assert_well_formed(cues)
    assert len(cues) >= 3
    assert cues[0][0] == 10.0 and cues[-1][1] == 30.0
    assert all(later[0] == earlier[1] for earlier, later in pairwise(cues)), "pieces are contiguous"
    assert all(end - start <= MAX_CUE_SECONDS + 0.5 for start, end, _ in cues)
    assert words_of(cues) == LONG_TEXT.split()
    # Time is proportional to characters: the longest piece gets the most time.
    lengths = [len(" ".join(lines)) for _, _, lines in cues]
    durations = [end - start for start, end, _ in cues]
    assert durations.index(max(durations)) == lengths.index(max(lengths))


def test_long_text_in_a_short_segment_is_split_by_length():
    segments = [Segment(0.0, 4.0, LONG_TEXT)]
    cues = parse_vtt(to_vtt(segments))
    assert_well_formed(cues)
    assert len(cues) >= 2
    assert words_of(cues) == LONG_TEXT.split()


def test_words_longer_than_a_line_and_unspaced_scripts_are_broken():
    text = "音声認識" * 30  # 120 characters, no spaces
    cues = parse_srt(to_srt([Segment(0.0, 6.0, text)]))
    assert_well_formed(cues)
    assert "".join("".join(lines) for _, _, lines in cues) == text


def test_hour_long_timestamps():
    segments = [Segment(3725.5, 3727.004, "an hour in"), Segment(360_000.0, 360_001.5, "a hundred hours in")]
    srt, vtt = to_srt(segments), to_vtt(segments)
    assert "01:02:05,500 --> 01:02:07,004" in srt
    assert "100:00:00,000 --> 100:00:01,500" in srt
    assert "01:02:05.500 --> 01:02:07.004" in vtt
    assert_well_formed(parse_srt(srt))
    assert_well_formed(parse_vtt(vtt))


def test_zero_negative_and_backwards_segments_are_fixed_minimally():
    segments = [
        Segment(-0.3, 1.0, "starts before zero"),
        Segment(1.0, 1.0, "zero length"),
        Segment(3.0, 2.0, "ends before it starts"),
        Segment(2.5, 4.0, "starts before the previous one"),
        Segment(5.0, 9.0, "overlaps the next"),
        Segment(6.0, 6.5, "next"),
        Segment(7.0, 8.0, "   "),  # nothing to show: dropped
    ]
    cues = parse_srt(to_srt(segments))
    assert_well_formed(cues)
    assert [" ".join(lines) for _, _, lines in cues] == [
        "starts before zero", "zero length", "ends before it starts", "starts before the previous one",
        "overlaps the next", "next",
    ]
    assert cues[0][0] == 0.0
    assert cues[1][:2] == (1.0, 1.5)  # zero length: half a second
    assert cues[2][:2] == (3.0, 3.5)
    assert cues[3][0] == 3.0  # clamped to the previous start
    assert cues[4][:2] == (5.0, 6.0)  # trimmed to where the next cue begins


def test_dict_segments_from_the_store_and_render_dispatch():
    stored = Transcript.from_dict({
        "text": "one two",
        "segments": [{"start": 0, "end": 1.2, "text": "one"}, {"start": 1.2, "end": 2, "text": "two"}],
        "language": "en",
        "duration": 2.0,
        "backend": "openai",
        "model": "whisper-1",
    })
    assert render(stored, "txt") == "one\ntwo\n"  # one line per segment
    assert json.loads(render(stored, "json"))["segments"][1] == {"start": 1.2, "end": 2.0, "text": "two"}
    assert_well_formed(parse_srt(render(stored, "srt")))
    assert_well_formed(parse_vtt(render(stored, "VTT")))
    with pytest.raises(ValueError, match="unknown transcript format"):
        render(stored, "docx")


def test_vtt_escapes_markup_and_arrows():
    vtt = to_vtt([Segment(0, 1, "a <b> & c --> d")])
    assert "a &lt;b&gt; &amp; c --&gt; d" in vtt
    assert_well_formed(parse_vtt(vtt))


def test_empty_transcript():
    empty = Transcript(text="", segments=[], language=None, duration=3.0, backend="openai", model="whisper-1")
    assert to_txt(empty) == ""
    assert to_srt([]) == "" and render(empty, "srt") == ""
    assert to_vtt([]) == "WEBVTT\n" and render(empty, "vtt") == "WEBVTT\n"
    document = json.loads(to_json(empty))
    # (a transcript stored before speech and cost were recorded: those read null)
    assert document == {"text": "", "language": None, "language_probability": None, "duration": 3.0,
                        "backend": "openai",
                        "model": "whisper-1", "no_speech": False, "speech_seconds": None,
                        "model_audio_seconds": None, "cost_usd": None, "segments": []}


def test_json_and_txt_of_a_transcript():
    transcript = Transcript(
        text=" Hello   world. ", segments=[Segment(0.1234, 1.9876, "Hello world.")], language="en",
        duration=2.0, backend="openai", model="whisper-1",
    )
    assert to_txt(transcript) == "Hello world.\n"
    assert to_txt(Transcript.from_dict({"text": " just   text ", "segments": []})) == "just text\n"
    document = json.loads(to_json(transcript))
    assert document["segments"] == [{"start": 0.123, "end": 1.988, "text": "Hello world."}]
    assert document["model"] == "whisper-1" and document["language"] == "en"


def timed_words(text: str, start: float, step: float, pause_after: dict[int, float] | None = None) -> tuple:
    """Words of ``text`` each ``step`` long, with extra pauses after the given word indexes."""
    out, t = [], start
    for index, word in enumerate(text.split()):
        out.append(Word(round(t, 3), round(t + step * 0.8, 3), word))
        t += step + (pause_after or {}).get(index, 0.0)
    return tuple(out)


def test_word_timed_segments_are_cut_at_word_boundaries_with_the_words_times():
    # Given a 30-word segment (~13 s) whose speaker pauses 3 s after the 10th word
    text = " ".join(f"word{i}" for i in range(30))
    words = timed_words(text, 2.0, 0.35, pause_after={9: 3.0})
    segment = Segment(1.0, words[-1].end + 1.0, text, words=words)
    for document, parse in ((to_srt([segment]), parse_srt), (to_vtt([segment]), parse_vtt)):
        cues = parse(document)
        assert_well_formed(cues)
        assert words_of(cues) == text.split()
        # every cue starts on a word's start and ends on a word's end (not a share of characters)
        starts = {w.start for w in words}
        ends = {w.end for w in words}
        assert all(start in starts and end in ends for start, end, _ in cues)
        assert cues[0][0] == 2.0  # the first cue waits for the first word, not the segment's start
        # no cue spans the pause, and none is longer than allowed
        assert any(" ".join(lines).endswith("word9") for _, _, lines in cues)
        assert all(end - start <= MAX_CUE_SECONDS for start, end, _ in cues)


def test_json_exports_words_and_the_speech_and_cost_figures():
    segment = Segment(0.5, 1.5, "Hi there", words=(Word(0.5, 0.9, "Hi"), Word(1.0, 1.5, "there")))
    transcript = Transcript(
        "Hi there", [segment], "en", 3.0, "openai", "whisper-1", speech_seconds=1.2, model_audio_seconds=1.6,
        cost_usd=0.00016,
    )
    document = json.loads(to_json(transcript))
    assert document["segments"][0]["words"] == [
        {"start": 0.5, "end": 0.9, "word": "Hi"}, {"start": 1.0, "end": 1.5, "word": "there"}
    ]
    assert (document["speech_seconds"], document["model_audio_seconds"], document["cost_usd"]) == (1.2, 1.6, 0.00016)
    assert document["no_speech"] is False
    # and the stored form keeps the words (old rows, without them, read as no words)
    assert Segment.from_dict(segment.to_dict()) == segment
    assert Segment.from_dict({"start": 0, "end": 1, "text": "old"}).words == ()


def test_the_language_is_exported_per_transcript_and_per_segment():
    # Given a video that turns from English to German, each segment with its language
    segments = [
        Segment(0.0, 2.0, "The software is free.", language="en"),
        Segment(3.0, 5.0, "Die Software ist frei.", language="de"),
    ]
    transcript = Transcript(text="", segments=segments, language="en", duration=5.0, backend="local",
                            model="base", language_probability=0.9925)
    # JSON: the transcript's language, its probability, and each segment's language
    document = json.loads(to_json(transcript))
    assert (document["language"], document["language_probability"]) == ("en", 0.9925)
    assert [s["language"] for s in document["segments"]] == ["en", "de"]
    # VTT: a Language header, and the German cue in a <lang de> span; still well formed
    vtt = render(transcript, "vtt")
    assert vtt.startswith("WEBVTT\nLanguage: en\n\n")
    assert "\nThe software is free.\n" in vtt and "<lang de>Die Software ist frei.</lang>" in vtt
    assert len(parse_vtt(vtt)) == 2
    # SRT has no place for it: the text only
    assert "lang" not in render(transcript, "srt") and "Die Software ist frei." in render(transcript, "srt")
    # A stored language that is not a language code is never written into the file
    odd = Transcript(text="x", segments=[Segment(0, 1, "x", language="de\n\n00:00")], language="en\nX",
                     duration=1.0, backend="local", model="base")
    assert render(odd, "vtt") == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx\n"
