"""The transcriber's container image, measured where it can be without AWS: its tree under CPython 3.12.

Builds (or refreshes) .package/image/ like ``make package-image``, then invokes its handler in fresh
CPython 3.12 processes isolated from the venv (tests/support/image_driver.py), each on one
Lambda-shaped SQS record: a generated MP4 of real and synthetic speech (the bundled samples and the
real-voice fixtures, repeated) streamed from a local HTTP server into the real PostgreSQL. It prints:

1. the tree's size;
2. the cold start: the handler's imports alone, and imports + model load (the init phase);
3. the speed at 1 and 2 CPU threads: the whole invocation (fetch, decode, model, store) and the
   model alone (the backend's measured speed), as x real time; and, as the baseline in the same run,
   the same model from this venv (Python 3.11) on the same audio, so the ratio says whether the tree
   runs as fast as the development environment;
4. the cost of an audio hour: OpenAI's list prices against Lambda at 2, 4, 8 and 10 GB, from the
   measured invocation speed scaled to each memory size's vCPU share (see ``lambda_estimate``).

    .venv/bin/python bench/bench_image_tree.py [--minutes 3] [--repeats 3]

Each figure is the best of ``--repeats`` runs, interleaved: on a machine shared with other work a
slower run measures the neighbours, not the code. The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import admin_url, create_database, drop_database

from tests.support.image_tree import REALSPEECH, ensure_image_tree, lambda_environment, run_in_image
from tests.support.media_factory import load_sample_audio, make_video
from tests.support.media_server import FaultyMediaServer
from tests.support.queues import unique_queue_name
from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
from vidscribe.adapters.media import open_local_audio
from vidscribe.adapters.sqs import create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.contract import lambda_vcpu_share, lambda_vcpus
from vidscribe.local.embedded import MotoSqsServer
from vidscribe.local.samples import load_manifest
from vidscribe.models import DecodedAudio

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

EVENT = Path(__file__).resolve().parents[1] / "functions" / "transcriber" / "events" / "sqs_batch.json"
# Lambda x86_64 duration price, us-east-1, first 6 billion GB-seconds a month (aws.amazon.com/lambda/pricing);
# requests ($0.20 per million) are one per video and left out.
LAMBDA_X86_USD_PER_GB_SECOND = 0.0000166667
# OpenAI's list prices per audio minute (openai.com/api/pricing; the gpt-4o models' are OpenAI's own
# per-minute estimates of their token prices).
OPENAI_USD_PER_MINUTE = {"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}
MEMORY_SIZES_MB = (2048, 4096, 8192, 10_240)  # 2,048: the smallest the stack allows for the model
LAMBDA_TIMEOUT_SECONDS = 900


def speech(minutes: float) -> np.ndarray:
    """``minutes`` of speech: the bundled samples and the real voices, with short pauses, repeated."""
    pause = np.zeros(8000, dtype=np.float32)
    clips = [load_sample_audio(s["id"]) for s in load_manifest()]
    clips += [open_local_audio(REALSPEECH / name, 60).samples for name in sorted(
        json.loads((REALSPEECH / "references.json").read_text()))]
    one = np.concatenate([part for clip in clips for part in (clip, pause)])
    repeats = int(np.ceil(minutes * 60 * 16_000 / len(one)))
    return np.tile(one, repeats)[: int(minutes * 60 * 16_000)]


@dataclass
class Run:
    threads: int
    init_seconds: float
    invoke_seconds: float
    invoke_cpu_seconds: float
    model_seconds_per_audio_second: float

    def best(self, other: Run) -> Run:
        return Run(self.threads, min(self.init_seconds, other.init_seconds),
                   min(self.invoke_seconds, other.invoke_seconds),
                   min(self.invoke_cpu_seconds, other.invoke_cpu_seconds),
                   min(self.model_seconds_per_audio_second, other.model_seconds_per_audio_second))

    def realtime(self, audio_seconds: float) -> float:
        return audio_seconds / self.invoke_seconds


def venv_model_seconds_per_audio_second(samples: np.ndarray, threads: int) -> float:
    """The baseline: the same model from this venv, on the same audio, the same threads."""
    settings = Settings.from_env({}, WHISPER_CPU_THREADS=threads, WHISPER_WORKERS=1)
    backend = LocalWhisperBackend(settings)
    audio = DecodedAudio(samples, source_bytes=samples.nbytes)
    started = time.perf_counter()
    backend.transcribe(audio)
    return (time.perf_counter() - started) / audio.duration


def amdahl_parallel_fraction(t1: float, t2: float) -> float:
    """The fraction p of the work that runs in parallel, from 1 and 2 threads: t2 = t1 * ((1 - p) + p / 2)."""
    return min(1.0, max(0.0, 2 * (1 - t2 / t1)))


def lambda_estimate(t1: float, p: float, memory_mb: int) -> float:
    """Wall seconds per audio second at ``memory_mb``: the 1-thread time, with its parallel fraction p
    spread over the vCPU share Lambda gives that memory (1 vCPU per 1,769 MB, Amdahl's law)."""
    share = lambda_vcpu_share(memory_mb)
    return t1 * ((1 - p) + p / share)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the speech video")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the best one counts")
    args = parser.parse_args()
    load_before = os.getloadavg()

    tree, report = ensure_image_tree()
    print(f"image tree: {report['task_mb']} MB in {tree} (model {report['model']}, {report['model_mb']} MB; "
          f"dependencies {report['dependencies']}, {report['seconds']} s)")
    print("  largest:", ", ".join(f"{k} {v}" for k, v in list(report["largest"].items())[:6]), "(MB)")

    samples = speech(args.minutes)
    audio_seconds = len(samples) / 16_000
    video = make_video(audio_seconds, audio_from=samples, container="mp4", audio_bitrate=64_000)
    admin = admin_url(Path(tempfile.mkdtemp(prefix="vidscribe-bench-image-")))
    database = "vidscribe_bench_image"
    url = create_database(admin, database)
    runs: dict[int, Run] = {}
    imports_only = float("inf")
    try:
        with MotoSqsServer() as sqs, FaultyMediaServer() as media:
            base = Settings.from_env({}, AWS_ENDPOINT_URL=sqs.endpoint_url)
            queue_url, _ = create_queue_pair(sqs_client(base), unique_queue_name("bench-image"), visibility_timeout=60)
            media.add_bytes("speech.mp4", video)
            template = json.loads(EVENT.read_text())
            for index, threads in enumerate([1, 2, 0] * args.repeats):
                event = copy.deepcopy(template)
                event["Records"] = event["Records"][:1]
                event["Records"][0]["body"] = json.dumps({"video_id": f"bench-{index}", "url": media.url("speech.mp4")})
                env = lambda_environment(database_url=url, queue_url=queue_url, endpoint_url=sqs.endpoint_url,
                                         cpu_threads=max(threads, 1))
                if threads == 0:
                    # The handler's imports alone: outside Lambda the module does not load the model.
                    del env["AWS_LAMBDA_FUNCTION_NAME"]
                    event["Records"][0]["body"] = json.dumps({"video_id": "bench-imports", "url": media.url("nope")})
                result = run_in_image(tree, event, env)
                if threads == 0:
                    imports_only = min(imports_only, result["init_seconds"])
                    continue
                assert result["response"] == {"batchItemFailures": []}, result["stdout"][-2000:]
                run = Run(threads, result["init_seconds"], result["invoke_seconds"], result["invoke_cpu_seconds"],
                          result["seconds_per_audio_second"])
                runs[threads] = runs[threads].best(run) if threads in runs else run
    finally:
        drop_database(admin, database)

    print(f"\ncold start under CPython 3.12, best of {args.repeats} (page cache warm; Lambda adds fetching "
          "the image's layers):")
    print(f"  handler imports alone                 {imports_only:.2f} s")
    for run in runs.values():
        print(f"  imports + model load, {run.threads} thread(s)     {run.init_seconds:.2f} s")

    print(f"\nspeed on {audio_seconds:.0f} s of speech (an MP4 over HTTP, into PostgreSQL):")
    print("  threads  invocation (CPU s)        model alone        venv model (baseline)  tree / venv")
    for run in runs.values():
        baseline = min(venv_model_seconds_per_audio_second(samples, run.threads) for _ in range(args.repeats))
        print(f"  {run.threads:>7}  {run.realtime(audio_seconds):6.1f}x real time ({run.invoke_cpu_seconds:4.1f})   "
              f"{1 / run.model_seconds_per_audio_second:6.1f}x real time   {1 / baseline:6.1f}x real time"
              f"        {run.model_seconds_per_audio_second / baseline:.2f}")

    one, two = (runs[n].invoke_seconds / audio_seconds for n in (1, 2))
    p = amdahl_parallel_fraction(one, two)
    print(f"\n  1 -> 2 threads: {one / two:.2f}x faster, so {p:.0%} of the invocation's work runs in parallel")
    print("\ncost of one audio hour (an estimate: see the notes below)")
    print_cost_table(report["model"], one, p)
    print(f"\nload average: {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)")
    print(f"notes: Lambda x86 at ${LAMBDA_X86_USD_PER_GB_SECOND} per GB-second (us-east-1), requests left out. "
          f"Speeds start from this machine's invocation at 1 thread ({1 / one:.1f}x real time) and give Lambda "
          "the vCPU share of each memory size (memory / 1,769 MB), either all of it (the speed scales with the "
          f"vCPUs) or only the parallel part measured from 1 to 2 threads here ({p:.0%}, Amdahl's law). "
          "Lambda's cores are assumed as fast as these; beyond 2 threads nothing was measured.")


def print_cost_table(model: str, one: float, p: float) -> None:
    """OpenAI's list prices against the local model in Lambda, as a Markdown table."""
    print("| backend | Lambda memory (vCPUs) | speed, scaling with the vCPUs | cost per audio hour "
          f"| speed, scaling as measured ({p:.0%} parallel) | cost per audio hour | longest video in 15 min |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, per_minute in OPENAI_USD_PER_MINUTE.items():
        print(f"| OpenAI `{name}` | – | – | ${per_minute * 60:.2f} | – | ${per_minute * 60:.2f} | – |")
    for memory in MEMORY_SIZES_MB:
        gb = memory / 1024
        linear = one / lambda_vcpu_share(memory)
        measured = lambda_estimate(one, p, memory)
        cost = [3600 * t * gb * LAMBDA_X86_USD_PER_GB_SECOND for t in (linear, measured)]
        print(f"| local `{model}` | {memory:,} MB ({lambda_vcpu_share(memory):.2f} of {lambda_vcpus(memory)}) "
              f"| {1 / linear:.0f}x real time | ${cost[0]:.4f} | {1 / measured:.0f}x real time | ${cost[1]:.4f} "
              f"| {LAMBDA_TIMEOUT_SECONDS / measured / 3600:.1f} h |")


if __name__ == "__main__":
    main()
