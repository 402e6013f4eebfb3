"""The adapters: one per outside system, each behind a port of ``vidscribe.ports``."""
