"""vidscribe: stream videos from their URLs and transcribe their audio at scale."""

__version__ = "0.1.0"
