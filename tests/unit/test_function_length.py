"""No function in the shipped code or the stack grows past 80 lines (issue 21's bar): a function that
long holds more than one decision, and the next change to it is the one nobody can review."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LONGEST = 80


def _lengths(root: Path) -> list[tuple[int, str]]:
    """(lines, where) of every function and method under ``root``, from its ``def`` to its last line."""
    return [
        (node.end_lineno - node.lineno + 1, f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
        for path in root.rglob("*.py")
        if not {"node_modules", "cdk.out", ".package"} & set(path.parts)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
    ]


def test_no_function_in_shared_functions_or_infra_is_80_lines_or_longer() -> None:
    lengths = [row for folder in ("shared", "functions", "infra") for row in _lengths(ROOT / folder)]
    assert len(lengths) > 500  # the walk found the code
    assert [where for length, where in lengths if length >= LONGEST] == []


def test_the_measure_counts_a_function_from_its_def_to_its_last_line(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n" + "    x = 1\n" * 79 + "\n\nclass C:\n    def g(self):\n        pass\n")
    assert sorted(_lengths(tmp_path)) == [(2, f"{tmp_path.name}/m.py:84 g"), (80, f"{tmp_path.name}/m.py:1 f")]

