"""Export file names (``adapters.export_targets.file_name``): one safe name per id, never shared."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

import pytest

from vidscribe.adapters.export_targets import file_name

ODD = ["plain", "a/b", "a%2Fb", "..", ".", ".x", "%2Ex", "~", "%7E", "東京", "e\u0301", "\u00e9", "a\x00b", "C:\\x?*"]
LONG = ["x" * 300, "x" * 299 + "y", "é" * 100, "é" * 99 + "e", "/" * 70 + "a", "~" * 200]


@pytest.mark.parametrize("video_id", ODD + LONG)
def test_a_name_is_one_safe_path_component(video_id: str) -> None:
    name = file_name(video_id, "vtt")
    assert name.endswith(".vtt") and len(name.encode()) <= 255
    assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")
    assert name.isascii() and name.isprintable()


def test_names_never_collide_and_short_ones_give_the_id_back() -> None:
    names = [file_name(video_id, "srt") for video_id in ODD + LONG]
    assert len(set(names)) == len(names)
    for video_id in ODD:
        assert unquote(file_name(video_id, "srt").removesuffix(".srt")) == video_id


def test_a_long_id_keeps_its_start_whole_escapes_and_its_hash() -> None:
    name = file_name("é" * 100, "txt").removesuffix(".txt")
    kept, digest = name.split("~")
    assert digest == hashlib.sha256(("é" * 100).encode()).hexdigest()
    assert unquote(kept, errors="strict") == "é" * (len(kept) // 6)  # no %XX cut in two
    assert "~" not in file_name("~" * 10, "txt")
