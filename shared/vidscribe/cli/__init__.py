"""The ``vidscribe`` command line (``parser``: arguments and errors; ``commands``: one function per
command; ``bootstrap``: settings, a migrated database, the local runtime; ``progress``: what a run
prints). It drives the core like any other adapter and does not ship to Lambda."""

from .parser import build_parser, console, main

__all__ = ["build_parser", "console", "main"]
