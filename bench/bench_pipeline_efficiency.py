"""How much does the pipeline add on top of the model?

Measures, in one process and one run:
1. the bare local model transcribing the decoded audio of N videos (the bundled samples, repeated)
   with MAX_WORKERS threads — the floor;
2. the local runtime (`vidscribe run --once`: fetcher, moto's SQS server, the real handlers,
   HTTP streaming from a local media server, PyAV decoding, PostgreSQL) over the same N videos with
   the same number of workers.
The model is loaded before either is timed. Prints both wall times and their ratio (goal ≤ 1.10).

    .venv/bin/python bench/bench_pipeline_efficiency.py [--copies 6] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_database

from tests.support.database import PostgresUnderTest
from tests.support.queues import unique_queue_name
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.adapters.media import open_local_audio
from vidscribe.adapters.sqs import create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer
from vidscribe.local.media_server import MediaServer
from vidscribe.local.runtime import LocalRuntime
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.services import Services

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="how many times each sample is transcribed")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    manifest = load_manifest()
    videos = [(f"{s['id']}-{i}", s) for i in range(args.copies) for s in manifest]
    settings = Settings.from_env({}, MAX_WORKERS=args.workers, ALLOW_PRIVATE_URLS=True, QUEUE_HIGH_WATER=20)
    backend = LocalWhisperBackend(settings)
    audio = {s["id"]: open_local_audio(samples_dir() / s["file"], 3600) for s in manifest}
    backend.transcribe(audio[manifest[0]["id"]])  # load and warm the model

    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda v: backend.transcribe(audio[v[1]["id"]]), videos))
    bare = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp, MotoSqsServer() as sqs, MediaServer(samples_dir()) as media:
        db = fresh_database(Path(tmp), f"vidscribe_bench_eff_{os.getpid()}")
        local = settings.replace(aws_endpoint_url=sqs.endpoint_url, database_url=SecretStr(db))
        queue_url, dlq_url = create_queue_pair(sqs_client(local), unique_queue_name("eff"), visibility_timeout=300)
        local = local.replace(queue_url=queue_url, dlq_url=dlq_url)
        store = PostgresUnderTest(db)
        store.migrate()
        store.add_videos([(vid, media.url(s["file"])) for vid, s in videos])
        services = Services(local, backend=backend)
        _ = services.store, services.queue, services.dlq  # connections open, as after a cold start
        report = LocalRuntime(services, workers=args.workers).run(once=True)  # as `vidscribe run --once`
        done = store.status()["transcripts"]
        services.close()
        store.close()
    assert done == len(videos), f"only {done} of {len(videos)} transcribed"

    audio_seconds = sum(audio[s["id"]].duration for _, s in videos)
    print(f"{len(videos)} videos, {audio_seconds:.0f} s of audio, {args.workers} workers")
    print(f"bare model on decoded audio:       {bare:6.2f} s")
    print(f"vidscribe run --once (end to end): {report.wall_seconds:6.2f} s")
    print(f"pipeline ÷ bare model: {report.wall_seconds / bare:.3f} (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
