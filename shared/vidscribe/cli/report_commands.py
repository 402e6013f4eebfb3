"""The read-only commands: status, failures, a stored transcript, and transcribing one source."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import Settings
from ..observability import logger
from ..redaction import escape_unsafe, redact, scrub
from .bootstrap import open_services, settings_from
from .commands import print_json
from .errors import EXIT_USAGE, CliError, one_line


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _queue_depths(settings: Settings) -> dict[str, dict[str, Any]]:
    """The configured queues' depths (SQS's approximate counts), by "queue" and "dlq"; a queue that
    cannot be asked has its one-line error instead. Empty without QUEUE_URL: the embedded queue
    lives only while a run does, and the jobs' states say what waits for the next one."""
    import botocore.exceptions

    from ..adapters.sqs import SqsQueue, sqs_client, sqs_problem

    depths: dict[str, dict[str, Any]] = {}
    if not settings.queue_url:
        return depths
    client = sqs_client(settings, fail_fast=True)
    for key, url, variable in (("queue", settings.queue_url, "QUEUE_URL"), ("dlq", settings.dlq_url, "DLQ_URL")):
        if not url:
            continue
        try:
            visible, in_flight = SqsQueue(client, url).depth()
            depths[key] = {"url": url, "visible": visible, "in_flight": in_flight}
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            depths[key] = {"url": url, "error": sqs_problem(exc, settings, variable) or one_line(str(exc))}
    return depths


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    with open_services(settings) as services:
        status = services.reports.status()
    status.update(_queue_depths(settings))
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
        if info.get("retranscription"):
            notes.append(f"{info['retranscription']} re-transcription requested (a transcript stays readable)")
        print(f"{state:<15} {info['count']}" + (f"  ({', '.join(notes)})" if notes else ""))
    for key, label in (("queue", "queue"), ("dlq", "dead letters")):
        depth = status.get(key)
        if depth is not None:
            counts = depth.get("error") or f"{depth['visible']} waiting, {depth['in_flight']} in flight"
            print(f"{label:<15} {counts}  ({'QUEUE_URL' if key == 'queue' else 'DLQ_URL'})")
    parts = status.get("parts") or {}
    if parts.get("videos"):
        done = parts["by_state"].get("done", 0)
        total = sum(parts["by_state"].values())
        print(f"in parts        {parts['videos']} videos: {done} of {total} parts done, {parts['in_flight']} in flight")
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
                    "resolution": r.resolution,
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
        # A video id is the user's data, shown as it is but for what a terminal would obey.
        video = escape_unsafe(r.video_id) if r.video_id is not None else "(no video id)"
        resolved = f"  [{r.resolution or 'resolved'} {r.resolved_at:%Y-%m-%d %H:%M}]" if r.resolved_at else ""
        print(f"#{r.id}  {video}  {r.error_type}  attempts {r.attempts}  {r.failed_at:%Y-%m-%d %H:%M:%S}{resolved}")
        print(f"      {scrub(r.message)}")
    return 0


def cmd_transcript(args: argparse.Namespace) -> int:
    from ..export import render

    with open_services(settings_from(args)) as services:
        if args.all_versions:
            versions = services.reports.transcript_versions(args.id)
        elif args.version is not None:
            stored = services.reports.transcript_version(args.id, args.version)
        else:
            stored = services.reports.transcript(args.id)
    if args.all_versions:  # a JSON array, version 1 first: each transcript's JSON export with its number
        if not versions:
            raise CliError(f"no transcript for {args.id!r}")
        exported = [{"version": n, **json.loads(render(t, "json"))} for n, t in enumerate(versions, start=1)]
        sys.stdout.write(json.dumps(exported, ensure_ascii=False, indent=2) + "\n")
        return 0
    if stored is None:
        which = f"version {args.version} of the transcript" if args.version else "transcript"
        raise CliError(f"no {which} for {args.id!r}")
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
    if settings.transcriber == "openai":  # before the audio is fetched: a model's shutdown, hints OpenAI refuses
        from ..adapters.backends.openai_models import check_at_start

        check_at_start(settings)
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
