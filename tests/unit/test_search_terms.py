"""How a search box's text is read into terms before PostgreSQL makes a tsquery of each."""

from __future__ import annotations

from vidscribe.adapters.postgres.search import query_terms


def _read(text: str) -> list[list[tuple[str, str, bool]]]:
    return [[(t.kind, t.text, t.excluded) for t in group] for group in query_terms(text)]


def test_phrases_exclusions_prefixes_and_or() -> None:
    assert _read('"a b" -c d* or e') == [
        [("phrase", "a b", False), ("word", "c", True), ("prefix", "d", False)],
        [("word", "e", False)],
    ]
    assert _read('-"x y" "unclosed phrase') == [[("phrase", "x y", True), ("phrase", "unclosed phrase", False)]]


def test_a_prefix_keeps_only_letters_and_digits_before_its_star() -> None:
    # Only \\w characters reach to_tsquery: no quote, colon or operator can be spelled through it.
    assert _read("re'fund* x:y* ü*") == [[("prefix", "fund", False), ("prefix", "y", False), ("prefix", "ü", False)]]
    assert _read("*** or") == [[("word", "***", False)]]
    assert _read("") == []
