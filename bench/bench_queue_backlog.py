"""Can the local queue drain a 10,000-video backlog without becoming the bottleneck?

Measures, in one run on this machine:
1. the local runtime draining N videos (default 10,000) end to end — fetcher, moto's SQS server,
   the real handlers, PostgreSQL — with media and model replaced by instant stand-ins, so that what
   is timed is the queue and the bookkeeping, not the transcription;
2. moto alone, the naive way: every message sent up front, then received and deleted (the queue
   depth is the whole backlog), on a smaller backlog because it slows down with depth;
3. the real local model's throughput on a sample clip with the same number of workers, which is
   the rate the queue has to keep up with.

    .venv/bin/python bench/bench_queue_backlog.py [--videos 10000] [--naive 2000] [--workers 2]
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

from common import InstantBackend, InstantMedia, fresh_database

from tests.support.database import PostgresUnderTest
from tests.support.queues import unique_queue_name
from vidscribe.adapters.sqs import SqsQueue, create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer
from vidscribe.local.runtime import LocalRuntime
from vidscribe.services import Services

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

def drain_pipeline(settings: Settings, videos: int, workers: int) -> float:
    store = PostgresUnderTest(settings.database_url.get_secret_value())
    store.migrate()
    store.add_videos((f"v{i:06d}", f"http://media.invalid/{i}.mp4") for i in range(videos))
    services = Services(settings, media=InstantMedia(), backend=InstantBackend())
    started = time.perf_counter()
    LocalRuntime(services, workers=workers, batch_size=1, poll_interval=0.1).run(once=True)
    elapsed = time.perf_counter() - started
    done = store.status()["transcripts"]
    assert done == videos, f"only {done} of {videos} transcribed"
    services.close()
    store.close()
    return elapsed


def drain_naive(settings: Settings, messages: int, workers: int) -> float:
    client = sqs_client(settings)
    url, _ = create_queue_pair(client, unique_queue_name("naive"), visibility_timeout=60)
    queue = SqsQueue(client, url)
    started = time.perf_counter()
    queue.send([f'{{"video_id": "n{i}"}}' for i in range(messages)])

    def worker() -> int:
        handled = 0
        while True:
            got = queue.receive(1, wait_seconds=0)
            if not got:
                if sum(queue.depth()) == 0:
                    return handled
                continue
            queue.delete([m.receipt_handle for m in got])
            handled += len(got)

    with ThreadPoolExecutor(workers) as pool:
        handled = sum(pool.map(lambda _: worker(), range(workers)))
    assert handled == messages
    return time.perf_counter() - started


def model_rate(workers: int) -> float:
    from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
    from vidscribe.adapters.media import open_local_audio
    from vidscribe.local.samples import load_manifest, samples_dir

    sample = load_manifest()[0]
    audio = open_local_audio(samples_dir() / sample["file"], 3600)
    backend = LocalWhisperBackend(Settings.from_env({}, MAX_WORKERS=workers))
    backend.transcribe(audio)  # warm up
    n = workers * 3
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: backend.transcribe(audio), range(n)))
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-model", action="store_true", help="skip measuring the model's rate")
    parser.add_argument("--high-water", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, MotoSqsServer() as sqs:
        db = fresh_database(Path(tmp), f"vidscribe_bench_{os.getpid()}")
        base = Settings.from_env(
            {}, AWS_ENDPOINT_URL=sqs.endpoint_url,
            MAX_WORKERS=args.workers,
            RETRY_BACKOFF_SECONDS=0,
            QUEUE_HIGH_WATER=args.high_water,
        )
        queue_url, dlq_url = create_queue_pair(sqs_client(base), unique_queue_name("bench"), visibility_timeout=60)
        settings = base.replace(queue_url=queue_url, dlq_url=dlq_url, database_url=SecretStr(db))

        pipeline = drain_pipeline(settings, args.videos, args.workers)
        print(f"pipeline drained in {pipeline:.1f} s", file=sys.stderr)
        naive = drain_naive(settings, args.naive, args.workers)
        model = model_rate(args.workers) if not args.skip_model else float("nan")

    pipeline_rate = args.videos / pipeline
    naive_rate = args.naive / naive
    print(f"local runtime, {args.videos} videos, {args.workers} workers, queue topped up to "
          f"{settings.queue_high_water}: {pipeline:.1f} s = {pipeline_rate:.0f} videos/s")
    print(f"moto alone, {args.naive} messages queued up front then drained: {naive:.1f} s = {naive_rate:.0f} msg/s")
    print(f"real tiny.en model on a {6.9:.0f} s sample clip, {args.workers} workers: {model:.2f} videos/s")
    print(f"queue path ÷ model throughput: {pipeline_rate / model:.0f}x (the queue is not the bottleneck if > 1)")


if __name__ == "__main__":
    main()
