"""How fast, and in which words, the command line reports each configuration mistake.

Each case runs ``vidscribe`` in a fresh process, as a person would, and prints its exit code, its
wall time and its one line on stderr. The baseline is ``vidscribe --help`` in the same run (the
interpreter's start and the imports), so "over the baseline" is what the check itself costs.

    .venv/bin/python bench/bench_config_errors.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import admin_url, create_database, drop_database
from tests.support.queues import unique_queue_name
from vidscribe.adapters.sqs import create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer

VIDSCRIBE = [sys.executable, "-m", "vidscribe.cli"]


def run(args: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    started = time.monotonic()
    done = subprocess.run([*VIDSCRIBE, *args], env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, time.monotonic() - started, done.stderr.strip().splitlines()[-1] if done.stderr else ""


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-config-"))
    admin = admin_url(tmp)
    name = "bench_config_errors"
    db = create_database(admin, name)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "QUEUE_", "DLQ_", "AWS_", "VIDEOS_"))}
    base.update(
        VIDSCRIBE_HOME=str(tmp / "home"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"),
        AWS_CONFIG_FILE=str(tmp / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    creds = {"AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any"}
    with MotoSqsServer() as sqs:
        settings = Settings.from_env({}, AWS_ENDPOINT_URL=sqs.endpoint_url)
        os.environ.update(creds)
        queue, dlq = create_queue_pair(sqs_client(settings), unique_queue_name("cfg"), visibility_timeout=30)
        _, other_dlq = create_queue_pair(sqs_client(settings), unique_queue_name("other"), visibility_timeout=30)
        good_db = {"DATABASE_URL": db}
        own_sqs = {"AWS_ENDPOINT_URL": sqs.endpoint_url, **creds}
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("DATABASE_URL unreachable (URL)", ["status"], {"DATABASE_URL": "postgresql://app:Secret1@127.0.0.1:1/prod"}),
            ("DATABASE_URL unreachable (key=value)", ["status"],
             {"DATABASE_URL": "host=127.0.0.1 port=1 user=app password=Secret1 dbname=prod"}),
            ("DATABASE_URL malformed", ["status"], {"DATABASE_URL": "postgres//app:Secret1@db/x"}),
            ("DATABASE_URL: no such database", ["status"], {"DATABASE_URL": db.rsplit("/", 1)[0] + "/nope"}),
            ("VIDEOS_TABLE missing", ["status"], {**good_db, "VIDEOS_TABLE": "catalogue"}),
            ("VIDEOS_TABLE without id/url", ["status"], {**good_db, "VIDEOS_TABLE": "vidscribe_migrations"}),
            ("VIDEOS_TABLE not a name", ["status"], {**good_db, "VIDEOS_TABLE": "my videos"}),
            ("WHISPER_MODEL missing", ["transcribe", "clip.mp4"], {"WHISPER_MODEL": "/models/whisper-small"}),
            ("QUEUE_URL without DLQ_URL", ["run", "--once"], {**good_db, **own_sqs, "QUEUE_URL": queue}),
            ("QUEUE_URL does not exist", ["run", "--once"],
             {**good_db, **own_sqs, "QUEUE_URL": queue + "-typo", "DLQ_URL": dlq}),
            ("DLQ_URL not the redrive target", ["run", "--once"],
             {**good_db, **own_sqs, "QUEUE_URL": queue, "DLQ_URL": other_dlq}),
            ("AWS_ENDPOINT_URL unreachable", ["run", "--once"],
             {**good_db, **creds, "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "QUEUE_URL": queue, "DLQ_URL": dlq}),
            ("AWS_ENDPOINT_URL malformed", ["queues", "create"], {"AWS_ENDPOINT_URL": "localhost:4566"}),
            ("no AWS credentials", ["queues", "create"], {"AWS_ENDPOINT_URL": sqs.endpoint_url}),
            ("a URL refused at the door", ["videos", "add", "v1", "ftp://example.com/v.mp4"], good_db),
        ]
        baseline = statistics.median(run(["--help"], base)[1] for _ in range(3))
        print(f"baseline: `vidscribe --help` in a fresh process: {baseline:.2f} s (median of 3)\n")
        print(f"{'mistake':<38} {'exit':>4} {'wall':>6} {'check':>6}  message")
        worst = 0.0
        for label, args, env in cases:
            code, seconds, line = run(args, {**base, **env})
            worst = max(worst, seconds)
            print(f"{label:<38} {code:>4} {seconds:5.2f}s {seconds - baseline:5.2f}s  {line}")
        print(f"\nslowest: {worst:.2f} s wall, {worst / baseline:.2f}x the baseline (goal: under 3 s)")
    drop_database(admin, name)


if __name__ == "__main__":
    main()
