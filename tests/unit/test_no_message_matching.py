"""No decision in the core reads an exception's message: errors say what they are by their type and named
attributes (``FetchRefused.code``, ``retryable``), never by words that a rewording would silently break.

The check walks the syntax tree of every module under ``shared/vidscribe`` and reports text tests on an
exception's text: ``"x" in str(exc)`` (or ``not in``, ``repr``, ``exc.args``), ``str(exc).startswith(...)``,
``re.search(..., str(exc))``, and the same through a variable (``message = str(exc); "x" in message``). An
exception is a name bound by ``except ... as name`` or a parameter annotated with an error type.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "shared" / "vidscribe"
_TEXT_TESTS = {"startswith", "endswith", "find", "rfind", "index", "count", "__contains__"}
_REGEX_CALLS = {"search", "match", "fullmatch", "findall", "finditer"}


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_error_annotation(annotation: ast.expr | None) -> bool:
    text = ast.unparse(annotation) if annotation is not None else ""
    return "Error" in text or "Exception" in text


class _MessageMatching(ast.NodeVisitor):
    """Finds text tests on exception text in one function (or module) scope at a time."""

    def __init__(self) -> None:
        self.found: list[int] = []
        self._errors: set[str] = set()  # names bound to exceptions
        self._texts: set[str] = set()  # names bound to an exception's text

    def _is_error_text(self, node: ast.expr) -> bool:
        """``str(exc)``, ``repr(exc)``, ``exc.args``, ``f"{exc}"``, or a variable holding one of them."""
        if isinstance(node, ast.Name) and node.id in self._texts:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "repr"):
            return len(node.args) == 1 and _root_name(node.args[0]) in self._errors
        if isinstance(node, ast.Attribute) and node.attr == "args":
            return _root_name(node.value) in self._errors
        if isinstance(node, ast.JoinedStr):
            return any(
                isinstance(v, ast.FormattedValue) and _root_name(v.value) in self._errors for v in node.values
            )
        return False

    def _scope(self, node: ast.AST) -> None:
        saved = (set(self._errors), set(self._texts))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                if _is_error_annotation(arg.annotation):
                    self._errors.add(arg.arg)
        self.generic_visit(node)
        self._errors, self._texts = saved

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scope

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._errors.add(node.name)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._is_error_text(node.value):
            self._texts.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
            if isinstance(op, ast.In | ast.NotIn) and (self._is_error_text(right) or self._is_error_text(left)):
                self.found.append(node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in _TEXT_TESTS and self._is_error_text(func.value):
                self.found.append(node.lineno)
            if func.attr in _REGEX_CALLS and _root_name(func) == "re" and any(map(self._is_error_text, node.args)):
                self.found.append(node.lineno)
        self.generic_visit(node)


def message_matching(source: str) -> list[int]:
    """The lines of ``source`` that test an exception's text."""
    finder = _MessageMatching()
    finder.visit(ast.parse(source))
    return sorted(set(finder.found))


def test_the_check_finds_message_matching_in_each_form_it_took():
    # Given the three tests of exception text the media package made before (and other spellings of them)
    before = textwrap.dedent(
        """
        def probe(first):
            try:
                return first.get(0, 10)
            except FetchRefused as exc:
                if "InvalidRange" in str(exc):
                    return None
                raise

        def may_retry(exc: VidscribeError) -> bool:
            return exc.retryable and "took longer than" not in str(exc)

        def fall_back(where, error):
            try:
                probe(where)
            except FetchRefused as exc:
                message = str(exc)
                if where.url.startswith("https://") and "AccessDenied" in message:
                    return 1
                if str(exc).startswith("S3") or re.search("denied", repr(exc)) or "x" in exc.args:
                    return 2
                return f"{exc}".endswith("!")
        """
    )
    # When the check reads them, then it finds every one
    assert message_matching(before) == [6, 11, 18, 20, 22]


def test_the_check_leaves_other_text_tests_alone():
    # Text that is not an exception's (a URL, a path, the message of an API's answer body) may be tested
    ordinary = textwrap.dedent(
        """
        def route(url: str, exc_count: int, body: dict) -> bool:
            if "://" in str(url) or str(exc_count).startswith("1"):
                return True
            try:
                return "x" in body["message"]
            except KeyError as missing:
                return missing.args[0] == "message"
        """
    )
    assert message_matching(ordinary) == []


def test_no_decision_in_the_core_reads_an_exception_message():
    # Given every module of the core package
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 90 and (CORE / "adapters" / "media" / "source.py") in modules
    # Then none of them tests an exception's text
    found = {
        str(path.relative_to(CORE)): lines
        for path in modules
        if (lines := message_matching(path.read_text(encoding="utf-8")))
    }
    assert found == {}
