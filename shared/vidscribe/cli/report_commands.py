"""The read-only commands: status, failures, a stored transcript, and transcribing one source."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..observability import logger
from ..redaction import redact, scrub
from .bootstrap import open_services, settings_from
from .commands import print_json
from .errors import EXIT_USAGE, CliError


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def cmd_status(args: argparse.Namespace) -> int:
    with open_services(settings_from(args)) as services:
        status = services.reports.status()
    if args.json:
        print_json(status)
        return 0
    print(f"videos          {status['videos']}  ({status['untranscribed']} without a transcript)")
    without = f"  ({status['without_speech']} without speech)" if status["without_speech"] else ""
    print(f"transcripts     {status['transcripts']}{without}")
    unpriced = f", {status['unpriced_transcripts']} unpriced" if status["unpriced_transcripts"] else ""
    print(
        f"model audio     {status['model_audio_seconds']:.1f} s, "
        f"estimated cost ${status['cost_usd']:.4f}{unpriced}"
    )
    for state, info in status["jobs"].items():
        notes = []
        if info.get("waiting"):
            notes.append(f"{info['waiting']} waiting for the next run's fetcher")
        if info.get("lease_expired"):
            notes.append(f"{info['lease_expired']} past their lease")
        print(f"{state:<15} {info['count']}" + (f"  ({', '.join(notes)})" if notes else ""))
    oldest = status["oldest_in_flight"]
    if oldest:
        print(
            f"oldest in flight: {oldest['video_id']} ({oldest['state']} since {oldest['since']}, "
            f"attempts {oldest['attempts']})"
        )
    if status["open_failures"]:
        print("open failures:  " + ", ".join(f"{k} {v}" for k, v in status["open_failures"].items()))
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    with open_services(settings_from(args)) as services:
        records = services.reports.failures(include_resolved=args.all)
    if args.json:
        # Records written before secrets were scrubbed at write time are scrubbed here too.
        print_json(
            [
                {
                    "id": r.id,
                    "video_id": r.video_id,
                    "error_type": r.error_type,
                    "message": scrub(r.message),
                    "attempts": r.attempts,
                    "failed_at": r.failed_at.isoformat(),
                    "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
                    "original_message": scrub(r.original_message) if r.original_message else None,
                }
                for r in records
            ]
        )
        return 0
    if not records:
        print("no failures")
        return 0
    for r in records:
        resolved = f"  [resolved {r.resolved_at:%Y-%m-%d %H:%M}]" if r.resolved_at else ""
        print(
            f"#{r.id}  {r.video_id or '(no video id)'}  {r.error_type}  attempts {r.attempts}  "
            f"{r.failed_at:%Y-%m-%d %H:%M:%S}{resolved}"
        )
        print(f"      {scrub(r.message)}")
    return 0


def cmd_transcript(args: argparse.Namespace) -> int:
    from ..export import render

    with open_services(settings_from(args)) as services:
        stored = services.reports.transcript(args.id)
    if stored is None:
        raise CliError(f"no transcript for {args.id!r}")
    sys.stdout.write(_ensure_newline(render(stored, args.format)))
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    """The worker's path without the database: streamed, speech found and transcribed as it decodes."""
    from ..adapters.backends import build_backend
    from ..export import render
    from ..ports import MediaSource
    from ..services import openai_api_key
    from ..workflow import SourceTranscriber

    settings = settings_from(args)
    source = args.source
    media: MediaSource
    if source.startswith(("http://", "https://", "s3://")):
        from ..adapters.media import StreamingMediaSource

        media, step, shown = StreamingMediaSource(settings), "transcribe: streaming the audio", redact(source)
    elif "://" in source:
        raise CliError(
            f"unsupported source {redact(source)!r}: give an http(s) or s3:// URL or a local file path", EXIT_USAGE
        )
    else:
        from ..adapters.media.local_file import LocalFileSource

        if not Path(source).is_file():
            raise CliError(f"no such file: {source}")
        media, step, shown = LocalFileSource(settings), "transcribe: decoding the audio", source
    backend = build_backend(settings, openai_api_key=openai_api_key(settings))
    logger.info("transcribe: model ready", extra={"backend": backend.name, "model": backend.model})
    logger.info(step, extra={"source": shown})
    transcript, audio = SourceTranscriber(settings, media, backend).transcribe(source)
    logger.info(
        "transcribe: audio decoded",
        extra={"audio_seconds": round(audio.duration, 2), "bytes_read": audio.source_bytes},
    )
    logger.info(
        "transcribe: transcribed",
        extra={"segments": len(transcript.segments), "language": transcript.language, "duration": transcript.duration},
    )
    sys.stdout.write(_ensure_newline(render(transcript, args.format)))
    return 0
