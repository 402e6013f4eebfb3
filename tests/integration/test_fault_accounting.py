"""Accounting under faults: every video ends in exactly one known state, whatever goes wrong at once.

A few hundred short generated clips go through the real pipeline: worker *processes* running
``vidscribe run --once`` against a PostgreSQL of the test's own, moto's SQS endpoint, an HTTP media
server with fault injection and a local OpenAI-compatible transcription server. In the same run:

- a share of the URLs answer 503 to their first request only (transient); another share answers 503
  to every request (retryable, but it never succeeds);
- others fail for good: 404, an HTML page, a video with no audio track, a file over
  ``MAX_MEDIA_BYTES``; the model answers 503 to the first upload of some clips and 400 to every
  upload of others;
- duplicate messages are sent by hand: two extra copies of some videos of every kind before the
  run; while it runs, one more copy of videos already transcribed, of videos queued but not yet
  claimed, and of videos waiting for their retry;
- one worker process is killed with SIGKILL in the middle of a transcription: the model holds that
  upload open until the test has killed the process that sent it (a condition, not a sleep);
- PostgreSQL is restarted in the middle of transcriptions: the model holds every upload until one
  per live worker is in flight, the server shuts down, the uploads are answered (so every worker's
  next statement meets a database that is away), and the server comes back ``OUTAGE_SECONDS``
  later, long enough for the fetchers (every half second) and the DLQ consumers to meet it too.
  Workers must survive it: the store retries once, a failed attempt comes back through SQS.

When the queue has drained and every worker has exited, the suite prints an accounting table and
fails on any discrepancy.

What is retried (the split is the design's, ``vidscribe.errors``):

- retried once, then a failure record with **2 attempts**: 5xx/429 from the media server
  (``FetchError``) or from the model (``BackendTransient``), a dropped connection, a database that
  is away, a crashed worker;
- recorded at once with **1 attempt**, because a retry cannot help: ``FetchRefused`` (404 and
  other 4xx), ``NotMedia`` (an HTML page), ``NoAudioTrack``, ``MediaTooLarge``, ``BackendPermanent``
  (a 400 from the model).

A delivery that meets the database outage spends an attempt like any other failure, so the videos
it touched ("disrupted": held mid-upload at the outage, or whose delivery failed on a database
error, as the workers' own logs say) are held to the invariants only: one final state, at most two
attempts, at most two uploads, a failure type they really met. Every other video must end exactly
as its kind says.

Backend calls are counted per video by the transcription server itself: each clip carries its own
pair of tones and the server's transcript names them (``VAD=off``: tones are not speech, and with
voice activity detection no tone would be uploaded). ``OPENAI_MAX_RETRIES=0``, so that the SDK's
own retries do not multiply the uploads (with the default of 1, a clip whose uploads keep failing
is sent four times: twice per attempt).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

import vidscribe.errors
from tests.support.database import PostgresUnderTest
from tests.support.faults import (
    FaultyTranscriptionServer,
    PrivatePostgres,
    WorkerProcess,
    query,
    signature_audio,
    signature_pair,
    signature_text,
)
from tests.support.media_factory import make_noise_video, make_video
from tests.support.media_server import FaultyMediaServer
from tests.support.queues import unique_queue_name
from vidscribe.adapters.sqs import SqsQueue, create_queue_pair, sqs_client
from vidscribe.config import Settings
from vidscribe.models import VideoMessage
from vidscribe.workflow import Outcome

pytestmark = pytest.mark.slow

# --- the scenario ------------------------------------------------------------------------------------
WORKER_PROCESSES = 3  # one transcriber thread each: the SIGKILL interrupts exactly one transcription
MAX_MEDIA_BYTES = 64 * 1024  # the clips are ~8 KB; the "too large" file is ~150 KB
PROCESSING_LEASE_SECONDS = 8
VISIBILITY_TIMEOUT_SECONDS = 15  # > the processing lease: a killed worker's message comes back claimable
DLQ_VISIBILITY_TIMEOUT_SECONDS = 5  # a DLQ consumer killed mid-record gets its message back soon
QUEUED_LEASE_SECONDS = 20  # a reservation the killed fetcher never sent becomes eligible again
RETRY_BACKOFF_SECONDS = 2
# How long PostgreSQL stays down at least (a restart takes seconds in real life; the fetcher, which
# runs every half second, and the workers all meet the outage).
OUTAGE_SECONDS = 2.0
RUN_BUDGET_SECONDS = 160  # the worker phase; the whole test stays well under 4 minutes on 2 cores


@dataclass(frozen=True)
class Expect:
    error_type: str | None  # None: a transcript
    attempts: int  # claims of the video (video_jobs.attempts, and the failure record's attempts)
    calls: int  # uploads that reached the model
    transient: str | None = None  # the retryable error it meets on the way


EXPECTED: dict[str, Expect] = {
    "clean": Expect(None, 1, 1),
    "victim": Expect(None, 2, 2),  # its first upload dies with its worker; the redelivery succeeds
    "transient_media": Expect(None, 2, 1, "FetchError"),  # 503 on the first request, then the file
    "transient_model": Expect(None, 2, 2, "BackendTransient"),  # 503 on the first upload
    "always_503": Expect("FetchError", 2, 0),
    "not_found": Expect("FetchRefused", 1, 0),
    "html": Expect("NotMedia", 1, 0),
    "no_audio": Expect("NoAudioTrack", 1, 0),
    "too_large": Expect("MediaTooLarge", 1, 0),
    "model_rejects": Expect("BackendPermanent", 1, 1),
}

SIZES = {
    "victim": 1,
    "transient_media": 24,
    "transient_model": 12,
    "always_503": 10,
    "not_found": 10,
    "html": 10,
    "no_audio": 10,
    "too_large": 10,
    "model_rejects": 8,
}
N_VIDEOS = 240
SIZES["clean"] = N_VIDEOS - sum(SIZES.values())
VICTIM_POSITION = 170  # the fetcher queues by id: the victim comes late, after the outage

# Two extra copies of these videos are sent by hand before the workers start.
WAVE1_DUPLICATES = {
    "clean": 12,
    "transient_media": 4,
    "transient_model": 2,
    "always_503": 2,
    "not_found": 2,
    "html": 1,
    "no_audio": 1,
    "too_large": 1,
    "model_rejects": 1,
}
WAVE2_DONE = 10  # while running: one more copy of videos already transcribed ...
WAVE2_QUEUED = 10  # ... of videos queued by the fetcher and not yet claimed ...
RETRY_PENDING_PER_CATEGORY = 3  # ... and of videos waiting for their retry (per retryable kind)

# Error types of the product's vocabulary; anything else in a worker's log is infrastructure.
PRODUCT_ERRORS = {
    name
    for name, obj in vars(vidscribe.errors).items()
    if isinstance(obj, type) and issubclass(obj, vidscribe.errors.VidscribeError)
}


@dataclass
class Video:
    id: str
    category: str
    index: int

    @property
    def name(self) -> str:
        return f"{self.id}.mp4"

    @property
    def expect(self) -> Expect:
        return EXPECTED[self.category]

    @property
    def text(self) -> str:
        return signature_text(signature_pair(self.index))


def build_videos() -> list[Video]:
    rng = random.Random(20240605)
    pool = [c for c, n in SIZES.items() if c != "victim" for _ in range(n)]
    rng.shuffle(pool)
    pool.insert(VICTIM_POSITION, "victim")
    return [Video(f"vid-{i:04d}", category, i) for i, category in enumerate(pool)]


# --- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture()
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def videos() -> list[Video]:
    return build_videos()


@pytest.fixture()
def model(videos: list[Video]) -> Iterator[FaultyTranscriptionServer]:
    server = FaultyTranscriptionServer({v.text: v.id for v in videos})
    server.fail_first_upload = {v.id for v in videos if v.category == "transient_model"}
    server.reject_always = {v.id for v in videos if v.category == "model_rejects"}
    server.victim = next(v.id for v in videos if v.category == "victim")
    with server:
        yield server


@pytest.fixture()
def media(videos: list[Video]) -> Iterator[FaultyMediaServer]:
    no_audio = make_video(1.5, with_audio=False)
    too_large = make_noise_video(150_000, 2.0, faststart=True)
    assert len(too_large) > MAX_MEDIA_BYTES
    with FaultyMediaServer() as server:
        for v in videos:
            c = v.category
            if c == "always_503":
                server.always_fail(v.name, 503)
            elif c == "not_found":
                server.always_fail(v.name, 404)
            elif c == "html":
                server.add_html(v.name)
            elif c == "no_audio":
                server.add_bytes(v.name, no_audio)
            elif c == "too_large":
                server.add_bytes(v.name, too_large)
            else:
                clip = make_video(1.5, audio_from=signature_audio(signature_pair(v.index)))
                assert len(clip) < MAX_MEDIA_BYTES
                server.add_bytes(v.name, clip)
                if c == "transient_media":
                    server.fail_first(v.name, 503)
        yield server


# --- the run -----------------------------------------------------------------------------------------
@dataclass
class RunLog:
    workers: list[WorkerProcess]
    hand_messages: Counter[str] = field(default_factory=Counter)
    wave1: set[str] = field(default_factory=set)
    wave2_done: set[str] = field(default_factory=set)
    wave2_queued: set[str] = field(default_factory=set)
    retry_pending: set[str] = field(default_factory=set)
    killed: WorkerProcess | None = None
    kill_at: float | None = None
    outage_at: float | None = None
    outage_seconds: float | None = None
    held_at_outage: list[tuple[str, str | None]] = field(default_factory=list)
    extra_rounds: int = 0
    problems: list[str] = field(default_factory=list)


def worker_env(settings: Settings, model: FaultyTranscriptionServer, tag: str, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIDSCRIBE_", "OPENAI_", "DATABASE_", "QUEUE_", "DLQ_", "POWERTOOLS_", "AWS_"))
    }
    env.update(
        DATABASE_URL=settings.database_url.get_secret_value(),
        QUEUE_URL=settings.queue_url,
        DLQ_URL=settings.dlq_url,
        AWS_ENDPOINT_URL=settings.aws_endpoint_url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        TRANSCRIBER="openai",
        OPENAI_BASE_URL=model.worker_base_url(tag),
        OPENAI_API_KEY=model.api_key,
        OPENAI_MODEL="whisper-1",
        OPENAI_MAX_RETRIES="0",
        OPENAI_TIMEOUT_SECONDS="60",
        # The clips' soundtracks are tone pairs that name each video to the server, not speech: with
        # voice activity detection on they would never reach the model (tests/integration/
        # test_speech_pipeline.py holds that). This suite counts uploads, so every second is sent.
        VAD="off",
        ALLOW_PRIVATE_URLS="true",
        MAX_MEDIA_BYTES=str(MAX_MEDIA_BYTES),
        HTTP_CONNECT_TIMEOUT="5",
        HTTP_READ_TIMEOUT="10",
        RETRY_BACKOFF_SECONDS=str(RETRY_BACKOFF_SECONDS),
        PROCESSING_LEASE_SECONDS=str(PROCESSING_LEASE_SECONDS),
        QUEUED_LEASE_SECONDS=str(QUEUED_LEASE_SECONDS),
        VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT_SECONDS),
        QUEUE_HIGH_WATER="20",
        FETCH_BATCH_SIZE="20",
        MAX_WORKERS="1",
        POWERTOOLS_LOG_LEVEL="INFO",
        LOG_FORMAT="json",  # the suite reads the workers' log records
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
        VIDSCRIBE_HOME=str(home),
    )
    return env


def send_by_hand(queue: SqsQueue, media: FaultyMediaServer, ids: list[str], copies: int, log: Counter[str]) -> None:
    # Copies are spread out (a b c ... a b c), so a later copy tends to meet its video further along.
    bodies = [VideoMessage(video_id=vid, url=media.url(f"{vid}.mp4")).body() for _ in range(copies) for vid in ids]
    assert queue.send(bodies) == len(bodies)
    log.update(dict.fromkeys(ids, copies))


def drive(
    *,
    db: str,
    settings: Settings,
    videos: list[Video],
    media: FaultyMediaServer,
    model: FaultyTranscriptionServer,
    postgres: PrivatePostgres,
    queue: SqsQueue,
    dlq: SqsQueue,
    log_dir: Path,
) -> RunLog:
    """Start the workers, inject every fault at its moment, and wait until the work has drained."""
    by_category: dict[str, list[Video]] = defaultdict(list)
    category_of = {v.id: v.category for v in videos}
    for v in videos:
        by_category[v.category].append(v)
    rng = random.Random(7)

    def env(tag: str) -> dict[str, str]:
        return worker_env(settings, model, tag, log_dir / "home")

    run = RunLog(workers=[])
    problems = run.problems
    # Duplicates, wave 1: two extra copies of videos of every kind, ahead of the fetcher's messages.
    wave1 = [v.id for c, n in WAVE1_DUPLICATES.items() for v in rng.sample(by_category[c], n)]
    send_by_hand(queue, media, wave1, 2, run.hand_messages)
    run.wave1 = set(wave1)

    run.workers = [WorkerProcess(f"w{k}", env(f"w{k}"), log_dir) for k in range(WORKER_PROCESSES)]
    expected_transcripts = sum(SIZES[c] for c, e in EXPECTED.items() if e.error_type is None)
    started = time.monotonic()
    deadline = started + RUN_BUDGET_SECONDS
    wave2_sent = False
    retry_pending_by_category: Counter[str] = Counter()

    def live() -> list[WorkerProcess]:
        return [w for w in run.workers if w.alive()]

    def kill_the_victims_worker() -> None:
        # The SIGKILL: the model holds the victim's upload until the worker that sent it is dead.
        if run.killed is None and model.victim_held.is_set():
            worker = next(w for w in run.workers if w.tag == model.victim_worker)
            worker.kill()
            model.release_victim()
            run.killed, run.kill_at = worker, time.monotonic() - started

    def drained() -> bool:
        leftover = query(
            db,
            """
            SELECT (SELECT count(*) FROM video_jobs WHERE state IN ('queued', 'processing'))
                 + (SELECT count(*) FROM videos v WHERE NOT EXISTS (SELECT 1 FROM video_jobs j WHERE j.video_id = v.id))
            """,
        )[0][0]
        return leftover == 0 and sum(queue.depth()) == 0 and sum(dlq.depth()) == 0

    try:
        while True:
            if time.monotonic() > deadline:
                problems.append(f"the work had not drained after {RUN_BUDGET_SECONDS} s")
                break
            kill_the_victims_worker()
            if not live():
                if drained():
                    break
                # Work can outlive every worker: workers that died with messages left in the queue,
                # or a job whose lease was live when the last worker found the queue empty (an
                # attempt whose redelivery was skipped as in flight). Run once more, as the next
                # scheduled run would: at once for messages, after the leases expired (a condition
                # on the database) for work that only the fetcher can queue again.
                if run.extra_rounds >= 4:
                    problems.append("the work had not drained after four more runs")
                    break
                while time.monotonic() < deadline and sum(queue.depth()) + sum(dlq.depth()) == 0:
                    live_leases = query(
                        db,
                        "SELECT count(*) FROM video_jobs"
                        " WHERE state IN ('queued', 'processing') AND lease_expires_at > now()",
                    )[0][0]
                    if live_leases == 0:
                        break
                    time.sleep(0.2)  # polling the database for the condition
                run.extra_rounds += 1
                run.workers.append(WorkerProcess(f"r{run.extra_rounds}", env(f"r{run.extra_rounds}"), log_dir))
                continue
            done = query(db, "SELECT count(*) FROM transcripts")[0][0]
            # Duplicates of videos waiting for their retry (failed once, message not back yet).
            waiting = [
                r[0]
                for r in query(
                    db, "SELECT video_id FROM video_jobs WHERE state = 'queued' AND attempts = 1 ORDER BY video_id"
                )
            ]
            fresh = []
            for vid in waiting:
                kind = category_of.get(vid)
                if vid in run.hand_messages or kind not in ("transient_media", "transient_model", "always_503"):
                    continue
                if retry_pending_by_category[kind] < RETRY_PENDING_PER_CATEGORY:
                    retry_pending_by_category[kind] += 1
                    fresh.append(vid)
            if fresh:
                send_by_hand(queue, media, fresh, 1, run.hand_messages)
                run.retry_pending.update(fresh)
            # Duplicates, wave 2: videos already transcribed, and videos queued but not yet claimed.
            if not wave2_sent and done >= 0.25 * expected_transcripts:
                finished = [
                    r[0]
                    for r in query(db, "SELECT video_id FROM transcripts ORDER BY video_id")
                    if r[0] != model.victim
                ]
                queued = [
                    r[0]
                    for r in query(
                        db, "SELECT video_id FROM video_jobs WHERE state = 'queued' AND attempts = 0 ORDER BY video_id"
                    )
                ]
                run.wave2_done = set(rng.sample(finished, min(WAVE2_DONE, len(finished))))
                candidates = sorted(
                    q for q in queued if q not in run.wave2_done and q not in run.hand_messages and q != model.victim
                )
                run.wave2_queued = set(candidates[:WAVE2_QUEUED])
                send_by_hand(queue, media, sorted(run.wave2_done | run.wave2_queued), 1, run.hand_messages)
                wave2_sent = True
            # The restart: hold every live worker inside an upload, shut PostgreSQL down, answer the
            # uploads, and start it again once every held worker has met the outage.
            if wave2_sent and run.outage_at is None and done >= 0.4 * expected_transcripts:
                restart_mid_transcription(run, model, postgres, started, kill_the_victims_worker, live)
            time.sleep(0.2)  # a monitoring tick: the conditions above are read from the database
        if run.killed is None:
            problems.append("the victim's upload never reached the model: no worker was killed")
        if run.outage_at is None:
            problems.append("the run ended before the PostgreSQL restart")
    finally:
        for w in run.workers:
            w.stop()
    return run


def restart_mid_transcription(run: RunLog, model, postgres: PrivatePostgres, started: float, kill_check, live) -> None:
    """Hold one upload per live worker, shut PostgreSQL down, answer the uploads (each worker then
    writes into a database that is away), and start PostgreSQL again OUTAGE_SECONDS later."""
    model.arm_gate()
    gate_deadline = time.monotonic() + 30
    while time.monotonic() < gate_deadline:
        kill_check()  # the victim's worker waits for its SIGKILL, not at the gate
        n = len(live())
        if n == 0 or model.held_at_gate() >= n:
            break
        model.wait_gate(n, 0.25)
    n = len(live())
    run.held_at_outage = list(model.gate_held)
    if n == 0 or len(run.held_at_outage) < n:
        run.problems.append(f"only {len(run.held_at_outage)} of {n} live workers were mid-upload at the outage")
    run.outage_at = time.monotonic() - started
    try:
        postgres.shut_down()
    finally:
        model.open_gate()
    down_since = time.monotonic()
    try:
        # Every held worker now has its answer and goes on to save into a database that is away.
        if not model.wait_gate_answered(20):
            run.problems.append("the uploads held at the outage were never answered")
        if time.monotonic() - down_since < OUTAGE_SECONDS:
            time.sleep(OUTAGE_SECONDS - (time.monotonic() - down_since))  # the outage's length
    finally:
        postgres.start_again()
    run.outage_seconds = time.monotonic() - down_since


# --- the accounting ----------------------------------------------------------------------------------
def test_every_video_ends_in_exactly_one_known_state_under_faults(
    private_postgres: PrivatePostgres,
    sqs_server,
    videos: list[Video],
    media: FaultyMediaServer,
    model: FaultyTranscriptionServer,
    tmp_path: Path,
) -> None:
    test_started = time.monotonic()
    # Given a database of our own with the videos, and a queue pair with short timeouts
    db = private_postgres.create_database("vidscribe_faults")
    store = PostgresUnderTest(db)
    try:
        store.migrate()
        store.add_videos([(v.id, media.url(v.name)) for v in videos])
    finally:
        store.close()
    base = Settings.from_env({}, AWS_ENDPOINT_URL=sqs_server.endpoint_url, AWS_REGION="us-east-1")
    client = sqs_client(base)
    queue_url, dlq_url = create_queue_pair(
        client, unique_queue_name("faults"), visibility_timeout=VISIBILITY_TIMEOUT_SECONDS
    )
    client.set_queue_attributes(QueueUrl=dlq_url, Attributes={"VisibilityTimeout": str(DLQ_VISIBILITY_TIMEOUT_SECONDS)})
    settings = base.replace(queue_url=queue_url, dlq_url=dlq_url, database_url=SecretStr(db))
    queue, dlq = SqsQueue(client, queue_url), SqsQueue(client, dlq_url)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()

    # When worker processes drain the queue while every fault strikes
    run = drive(
        db=db,
        settings=settings,
        videos=videos,
        media=media,
        model=model,
        postgres=private_postgres,
        queue=queue,
        dlq=dlq,
        log_dir=log_dir,
    )
    problems = list(run.problems)

    # Then: what ended up where
    transcripts = {r[0]: r[1] for r in query(db, "SELECT video_id, text FROM transcripts")}
    jobs = {
        r[0]: (r[1], r[2], r[3]) for r in query(db, "SELECT video_id, state, attempts, last_error_type FROM video_jobs")
    }
    stuck = query(
        db, "SELECT video_id, state, lease_expires_at <= now() FROM video_jobs WHERE state IN ('queued', 'processing')"
    )
    failure_rows = query(
        db,
        "SELECT video_id, error_type, attempts, resolved_at IS NULL, original_message, resolution"
        " FROM failures ORDER BY id",
    )
    open_failures: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    resolved_failures: dict[str, list[tuple[str, str]]] = defaultdict(list)  # history: (type, resolution)
    for vid, error_type, attempts, is_open, original, resolution in failure_rows:
        if vid is None:
            problems.append(f"a failure record without a video id: {error_type} {original!r}")
        elif is_open:
            open_failures[vid].append((error_type, attempts, original))
        else:
            resolved_failures[vid].append((error_type, resolution))
    queue_depth, dlq_depth = queue.depth(), dlq.depth()

    # What the workers said: deliveries skipped (duplicates dropped), attempts that failed, crashes.
    # Counted from the log lines' keys (the delivery's outcome, the level), never from their wording.
    skipped: Counter[str] = Counter()
    skip_reasons: Counter[str] = Counter()
    failed_attempts: Counter[str] = Counter()
    infra_errors: dict[str, set[str]] = defaultdict(set)  # video -> infrastructure error types met
    for w in run.workers:
        for rec in w.log_records():
            delivery = rec.get("delivery")
            if delivery == Outcome.SKIPPED.value:
                skipped[rec.get("video_id")] += 1
                skip_reasons[rec.get("outcome")] += 1
            elif delivery == Outcome.RETRY.value:
                failed_attempts[rec.get("error_type")] += 1
                if rec.get("error_type") not in PRODUCT_ERRORS:
                    infra_errors[rec.get("video_id")].add(rec.get("error_type"))
            elif rec.get("level") in ("ERROR", "CRITICAL"):  # a handler that raised logs at ERROR
                problems.append(
                    f"worker {w.tag} logged {rec.get('level')}: {rec.get('message')} {rec.get('error', '')}"
                )
        if w is run.killed:
            if w.returncode != -9:
                problems.append(f"worker {w.tag} was SIGKILLed but exited with {w.returncode}")
            continue
        if w.returncode != 0:
            stray = " | ".join(w.stray_lines()[-2:])
            problems.append(f"worker {w.tag} exited with {w.returncode}; workers must survive the faults: {stray}")
    category_of = {v.id: v.category for v in videos}
    held = {vid for vid, _ in run.held_at_outage}
    disrupted = held | set(infra_errors)

    # Per video: exactly one final state, and the one its kind says (the invariants only, when
    # the outage spent one of its attempts).
    for v in videos:
        e = v.expect
        has_transcript = v.id in transcripts
        fails = open_failures.get(v.id, [])
        job = jobs.get(v.id)
        attempts = job[1] if job else 0
        calls = model.calls.get(v.id, 0)
        where = f"{v.id} ({v.category}{', disrupted by the outage' if v.id in disrupted else ''})"
        # the invariants, for every video
        if has_transcript and fails:
            problems.append(f"{where}: both a transcript and an open failure record {fails}")
        if not has_transcript and not fails:
            problems.append(f"{where}: neither a transcript nor a failure record (job {job})")
        if len(fails) > 1:
            problems.append(f"{where}: {len(fails)} open failure records")
        if calls > 2:
            problems.append(f"{where}: sent to the model {calls} times (at most twice)")
        if attempts > 2 or any(f[1] > 2 for f in fails):
            problems.append(
                f"{where}: {attempts} attempts, failure records {[(f[0], f[1]) for f in fails]} (one retry at most)"
            )
        if has_transcript and transcripts[v.id] != v.text:
            problems.append(f"{where}: the transcript {transcripts[v.id]!r} is not this video's ({v.text!r})")
        if has_transcript and (job is None or job[0] != "done"):
            problems.append(f"{where}: a transcript but job {job}")
        if fails and (job is None or job[0] != "failed"):
            problems.append(f"{where}: a failure record but job {job}")
        for error_type, resolution in resolved_failures.get(v.id, []):
            # History is kept: a record resolved by a later success, or replaced by a newer failure.
            if (resolution == "transcribed" and not has_transcript) or (resolution == "superseded" and not fails):
                problems.append(
                    f"{where}: a failure record resolved as {resolution!r} ({error_type}), "
                    f"but the video has {'a transcript' if has_transcript else 'no transcript'}"
                )
            if v.id not in disrupted:
                problems.append(
                    f"{where}: a failure record ({error_type}) later resolved as {resolution!r}: "
                    "recorded while it was not final"
                )
        for _error_type, _, original in fails:
            try:
                if json.loads(original or "").get("video_id") != v.id:
                    problems.append(f"{where}: the failure record keeps another message: {original!r}")
            except ValueError:
                problems.append(f"{where}: the failure record's original message is not JSON: {original!r}")
        if v.id in disrupted:
            allowed = {e.error_type, e.transient, "RetriesExhausted", *infra_errors.get(v.id, ())} - {None}
            if fails and fails[0][0] not in allowed:
                problems.append(f"{where}: failure type {fails[0][0]}, expected one of {sorted(allowed)}")
            if v.id in held and v.category == "clean" and not has_transcript:
                problems.append(f"{where}: lost its first attempt to the outage, yet its retry did not transcribe it")
            continue
        # the exact outcome, for every video the outage did not touch
        if e.error_type is None and not has_transcript:
            problems.append(
                f"{where}: expected a transcript, got {[(f[0], f[1]) for f in fails] or 'nothing'} (job {job})"
            )
        if e.error_type is not None:
            if has_transcript:
                problems.append(f"{where}: expected a {e.error_type} failure record, got a transcript")
            elif fails and (fails[0][0], fails[0][1]) != (e.error_type, e.attempts):
                problems.append(
                    f"{where}: failure record {fails[0][0]} with {fails[0][1]} attempts, "
                    f"expected {e.error_type} with {e.attempts}"
                )
        if attempts != e.attempts and attempts <= 2:
            problems.append(f"{where}: {attempts} attempts, expected {e.attempts}")
        if calls != e.calls and calls <= 2:
            problems.append(f"{where}: {calls} backend calls, expected {e.calls}")
    for vid, state, expired in stuck:
        problems.append(f"{vid}: still {state} after the run ({'past' if expired else 'within'} its lease)")
    if model.unidentified:
        problems.append(f"uploads that match no video: {model.unidentified[:5]}")
    if queue_depth != (0, 0) or dlq_depth != (0, 0):
        problems.append(f"messages left: queue {queue_depth}, dead-letter queue {dlq_depth} (visible, in flight)")

    # Duplicates: every copy beyond the one claim a video needed must have been dropped.
    min_dropped: Counter[str] = Counter()
    for v in videos:
        if v.expect.attempts != 1 or v.id not in run.hand_messages or v.id in disrupted:
            continue
        # Messages known to exist beyond the one that claimed it: the copies sent by hand, plus
        # the fetcher's own message for a wave-2 video that wave 1 did not cover.
        known = run.hand_messages[v.id] + (
            1 if v.id in (run.wave2_done | run.wave2_queued) and v.id not in run.wave1 else 0
        )
        min_dropped[v.id] = known - 1
        if skipped[v.id] < known - 1:
            problems.append(
                f"{v.id} ({v.category}): {skipped[v.id]} duplicate deliveries dropped, expected at least {known - 1}"
            )

    # The accounting table: exact expectations for the videos the outage did not touch.
    calm = [v for v in videos if v.id not in disrupted]
    exp_by_type = Counter(v.expect.error_type for v in calm if v.expect.error_type)
    act_by_type = Counter(open_failures[v.id][0][0] for v in calm if open_failures.get(v.id))
    rows: list[tuple[str, object, object]] = [
        ("videos", N_VIDEOS, len(videos)),
        ("  not touched by the outage", "", len(calm)),
        (
            "    transcribed",
            sum(1 for v in calm if v.expect.error_type is None),
            sum(1 for v in calm if v.id in transcripts),
        ),
        (
            "    failed (open failure records)",
            sum(exp_by_type.values()),
            sum(len(open_failures.get(v.id, [])) for v in calm),
        ),
    ]
    for error_type in sorted(set(exp_by_type) | set(act_by_type)):
        n = next((e.attempts for e in EXPECTED.values() if e.error_type == error_type), "?")
        rows.append(
            (
                f"      {error_type} ({n} attempt{'' if n == 1 else 's'})",
                exp_by_type[error_type],
                act_by_type[error_type],
            )
        )
    rows += [
        (
            "    retried (2 attempts)",
            sum(1 for v in calm if v.expect.attempts == 2),
            sum(1 for v in calm if jobs.get(v.id, ("", 0))[1] >= 2),
        ),
        ("    backend calls", sum(v.expect.calls for v in calm), sum(model.calls.get(v.id, 0) for v in calm)),
        (
            "      videos sent twice",
            sum(1 for v in calm if v.expect.calls == 2),
            sum(1 for v in calm if model.calls.get(v.id, 0) == 2),
        ),
    ]
    d_transcribed = sum(1 for vid in disrupted if vid in transcripts)
    d_failed = Counter(open_failures[vid][0][0] for vid in disrupted if open_failures.get(vid))
    rows += [
        ("  disrupted by the outage", "", len(disrupted)),
        ("    held mid-upload / delivery failed", "", f"{len(held)} / {len(set(infra_errors) - held)}"),
        ("    transcribed", "", d_transcribed),
        ("    failed", "", ", ".join(f"{k} {n}" for k, n in sorted(d_failed.items())) or "0"),
        ("    backend calls", "", sum(model.calls.get(vid, 0) for vid in disrupted)),
        (
            "    retry spent by the outage",
            "",
            sum(
                1
                for vid in disrupted
                if open_failures.get(vid)
                and open_failures[vid][0][1]
                < EXPECTED[category_of[vid]].attempts + (EXPECTED[category_of[vid]].error_type is None)
            ),
        ),
        ("all videos", "", ""),
        ("  transcribed / failed", "", f"{len(transcripts)} / {sum(len(f) for f in open_failures.values())}"),
        ("  neither or both", 0, sum(1 for v in videos if (v.id in transcripts) == bool(open_failures.get(v.id)))),
        ("  stuck in queued/processing", 0, len(stuck)),
        ("  failure records later resolved", "", sum(len(r) for r in resolved_failures.values())),
        ("  more than 2 attempts", 0, sum(1 for job in jobs.values() if job[1] > 2)),
        ("  sent to the model more than twice", 0, sum(1 for n in model.calls.values() if n > 2)),
        ("  backend calls", "", sum(model.calls.values())),
        ("  duplicate messages sent by hand", "", sum(run.hand_messages.values())),
        ("    of videos awaiting their retry", "", len(run.retry_pending)),
        ("  duplicate deliveries dropped", f">= {sum(min_dropped.values())}", sum(skipped.values())),
        ("  worker processes (SIGKILLed)", f"{WORKER_PROCESSES} (1)", f"{len(run.workers)} ({1 if run.killed else 0})"),
        ("  workers that exited non-zero", 0, sum(1 for w in run.workers if w is not run.killed and w.returncode != 0)),
        ("  PostgreSQL restarts", 1, private_postgres.restarts),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        "",
        f"fault accounting: {N_VIDEOS} videos, {WORKER_PROCESSES} worker processes; SIGKILL at "
        f"{run.kill_at or float('nan'):.1f} s (worker {run.killed.tag if run.killed else '-'}); PostgreSQL down at "
        f"{run.outage_at or float('nan'):.1f} s for {run.outage_seconds or float('nan'):.2f} s with "
        f"{len(run.held_at_outage)} workers mid-upload; extra runs: {run.extra_rounds}",
        f"  {'':<{width}}  {'expected':>10}  {'actual':>10}",
    ]
    table_problems = []
    for label, expected, actual in rows:
        if isinstance(expected, int):
            mismatch = expected != actual
        elif isinstance(expected, str) and expected.startswith(">= "):
            mismatch = not (isinstance(actual, int) and actual >= int(expected[3:]))
        else:
            mismatch = False
        if mismatch:
            table_problems.append(f"table: {label.strip()}: expected {expected}, got {actual}")
        lines.append(f"  {label:<{width}}  {expected!s:>10}  {actual!s:>10}{'   <-- MISMATCH' if mismatch else ''}")
    lines.append(f"  skipped deliveries by reason: {dict(skip_reasons)}")
    lines.append(f"  failed attempts by error type (worker logs): {dict(failed_attempts)}")
    lines.append(f"  uploads by worker: {dict(model.calls_by_worker)}")
    for vid in sorted(disrupted):
        outcome = (
            "transcript"
            if vid in transcripts
            else ", ".join(f"{t} ({n} attempts)" for t, n, _ in open_failures.get(vid, []))
        )
        how = "held mid-upload" if vid in held else "a delivery failed on " + "/".join(sorted(infra_errors[vid]))
        lines.append(
            f"  disrupted {vid} ({category_of[vid]}): {how}; ended as {outcome or 'nothing'}, "
            f"{jobs.get(vid, ('', 0))[1]} attempts, {model.calls.get(vid, 0)} uploads"
        )
    lines.append(f"  wall time: {time.monotonic() - test_started:.1f} s")
    print("\n".join(lines))
    problems = table_problems + problems
    if problems:
        print(f"\n{len(problems)} discrepancies:")
        for p in problems:
            print("  " + p)
    assert not problems, f"{len(problems)} discrepancies; first: " + "; ".join(problems[:12])
