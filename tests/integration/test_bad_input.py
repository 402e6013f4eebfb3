"""Bad input, through the real queue and handlers: every input ends in its one expected outcome.

The whole corpus of ``tests/support/bad_inputs.py`` goes through one run of the local runtime (the
real SQS endpoint, the real transcriber and DLQ-consumer handlers, PostgreSQL, HTTP media servers and
the bundled model) with ``ALLOW_PRIVATE_URLS`` false, and the test asserts, for each input, the
failure record (error type, attempts, video id, reason), and for the run as a whole: no handler
crashed, both queues are empty, every job is in a final state, nothing was fetched from a forbidden
address, and no secret appears in any log line or failure message.

**How the guard stays honest with every server on this machine.** A test can only listen on
loopback, which the guard refuses. One address, ``127.0.0.3``, stands in for a public CDN: the test
wraps ``urlguard.forbidden_reason`` so that exactly this address counts as public. Everything else is
the product's own code path (``StreamingMediaSource`` from the settings, the guarded session that checks
the connected peer, redirects followed by hand, every hop checked). The forbidden targets are real
servers wherever one can listen (canaries on ``127.0.0.1``, ``127.0.0.2`` and ``[::1]`` that serve a
fake credential) and their request counters must stay at zero. Addresses where nothing can listen
(``169.254.169.254``, private ranges) are covered by Python's audit hook on ``socket.connect``: the
test records every outbound connection of the run and allows only the public stand-in and the SQS
endpoint (PostgreSQL is reached by libpq, outside Python's sockets).

**Names.** ``localhost`` goes through the system resolver. Two names go through a stand-in resolver
(``socket.getaddrinfo`` wrapped for exactly these names; no /etc/hosts entry): one that resolves to
169.254.169.254, and one that rebinds (public at its first lookup, a loopback canary at every later
one): a fetch resolves each name once and connects only to the addresses it checked, so the rebound
answer is never asked for and the video is transcribed from the public stand-in.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from pydantic import SecretStr

from tests.support import bad_inputs
from tests.support.backends import CountingBackend
from tests.support.bad_inputs import (
    BAD_INPUTS,
    ENQUEUE,
    MESSAGE,
    METADATA_NAME,
    REBIND_NAME,
    TRANSCRIBED,
    URL_PASSWORD,
    URL_TOKEN,
    VIDEOS_ROW,
    BadInput,
    World,
    by_kind,
    install_canary,
    install_public_media,
)
from tests.support.database import PostgresUnderTest
from tests.support.media_server import FaultyMediaServer
from vidscribe.adapters.media import urlguard
from vidscribe.adapters.sqs import SqsQueue
from vidscribe.cli import main
from vidscribe.config import Settings
from vidscribe.local import media_server as media_server_module
from vidscribe.local.runtime import LocalRuntime, RuntimeReport
from vidscribe.local.samples import load_manifest, samples_dir
from vidscribe.observability import logger, metrics
from vidscribe.redaction import scrub
from vidscribe.services import Services

PUBLIC_STANDIN = "127.0.0.3"
DB_PASSWORD = "DbPassMarker5e1d"
OPENAI_KEY = "sk-OpenAiKeyMarker0b7c"
AWS_SECRET = "AwsSecretMarker44aa"
RUN_DEADLINE_SECONDS = 60  # the corpus drains in ~15 s; past this the run is stuck (a bug)
SPEECH = load_manifest()[0]


@pytest.fixture(autouse=True)
def no_metrics_left_over() -> Iterator[None]:
    """Powertools keeps metric values in a process-wide set that a flush with metrics disabled never
    clears, and prints it to stdout once a metric holds 100 values: the corpus alone adds about that
    many. Start and leave every test with the set empty, so no test's stdout gets another's metrics."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


# --- every outbound connection, through Python's audit hook ----------------------------------------------
class ConnectionLog:
    """``(host, port)`` of every ``socket.connect`` while recording (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recording = False
        self.addresses: list[tuple[str, int]] = []

    def hook(self, event: str, args: tuple) -> None:
        if event != "socket.connect" or not self._recording:
            return
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2:
            with self._lock:
                self.addresses.append((str(address[0]), int(address[1])))

    def start(self) -> None:
        with self._lock:
            self.addresses = []
            self._recording = True

    def stop(self) -> list[tuple[str, int]]:
        with self._lock:
            self._recording = False
            return list(self.addresses)


CONNECTIONS = ConnectionLog()
sys.addaudithook(CONNECTIONS.hook)  # audit hooks cannot be removed; this one records only on demand


# --- the servers: one public stand-in, canaries on forbidden addresses ------------------------------------
class _IPv6Server(media_server_module._Server):
    address_family = socket.AF_INET6


@dataclass
class Servers:
    public: FaultyMediaServer
    canaries: dict[str, FaultyMediaServer]
    world: World

    def canary_requests(self) -> dict[str, int]:
        return {host: server.requests for host, server in self.canaries.items()}

    def assert_no_canary_was_asked(self) -> None:
        requests = self.canary_requests()
        assert {"127.0.0.1", "127.0.0.2"} <= set(requests) and not any(requests.values()), requests


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    public = FaultyMediaServer(samples_dir(), host=PUBLIC_STANDIN).start()
    canaries = {
        "127.0.0.1": FaultyMediaServer(host="127.0.0.1").start(),
        "127.0.0.2": FaultyMediaServer(host="127.0.0.2").start(),
    }
    try:
        with pytest.MonkeyPatch.context() as mp:  # the product's server speaks IPv4 only
            mp.setattr(media_server_module, "_Server", _IPv6Server)
            canaries["::1"] = FaultyMediaServer(host="::1").start()
    except OSError:
        pass  # no IPv6 on this machine: the audit hook alone proves nothing connected to [::1]
    world = World(
        public=public.base_url,
        public_host=PUBLIC_STANDIN,
        public_port=public.port,
        loopback_port=canaries["127.0.0.1"].port,
        alt_loopback_port=canaries["127.0.0.2"].port,
        v6_loopback_port=canaries["::1"].port if "::1" in canaries else canaries["127.0.0.1"].port,
    )
    install_public_media(public, world, samples_dir() / SPEECH["file"])
    for canary in canaries.values():
        install_canary(canary)
    try:
        yield Servers(public, canaries, world)
    finally:
        for server in (public, *canaries.values()):
            server.stop()


class StandInResolver:
    """``socket.getaddrinfo`` with two extra names; every other name goes to the real resolver."""

    def __init__(self, real) -> None:
        self.real = real
        self.rebind_lookups = 0
        self._lock = threading.Lock()

    def __call__(self, host, port, *args, **kwargs):
        name = (host.decode() if isinstance(host, bytes) else str(host or "")).rstrip(".").lower()
        if name == METADATA_NAME:
            return self._answer("169.254.169.254", port)
        if name == REBIND_NAME:
            with self._lock:
                self.rebind_lookups += 1
                first = self.rebind_lookups == 1
            return self._answer(PUBLIC_STANDIN if first else "127.0.0.2", port)
        return self.real(host, port, *args, **kwargs)

    @staticmethod
    def _answer(ip: str, port) -> list:
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, int(port or 0)))]


@pytest.fixture()
def public_standin(monkeypatch: pytest.MonkeyPatch) -> StandInResolver:
    """The public stand-in counts as public; the stand-in resolver answers the corpus's names."""
    real_reason = urlguard.forbidden_reason

    def forbidden_reason(ip):
        return None if str(ip) == PUBLIC_STANDIN else real_reason(ip)

    monkeypatch.setattr(urlguard, "forbidden_reason", forbidden_reason)
    resolver = StandInResolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


# --- secrets, and the logs they must never reach -------------------------------------------------------------
def with_password(url: str, password: str) -> tuple[str, str]:
    """The database URL carrying a password (trust auth ignores it), and the password to look for."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    query = f"{parts.query}&password={password}" if parts.query else f"password={password}"
    return urlunsplit(parts._replace(query=query)), password


@pytest.fixture()
def secrets(monkeypatch: pytest.MonkeyPatch, database_url: str) -> dict[str, str]:
    """Secrets in every place a secret lives: the environment, the settings, the URLs of the corpus."""
    marked_url, db_password = with_password(database_url, DB_PASSWORD)
    monkeypatch.setenv("DATABASE_URL", marked_url)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)  # the SQS clients built from now on sign with it
    return {
        "database_url": marked_url,
        "db_password": db_password,
        "openai_key": OPENAI_KEY,
        "aws_secret": AWS_SECRET,
        "url_password": URL_PASSWORD,
        "url_token": URL_TOKEN,
    }


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time (capfd's, during a test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture()
def logs_to_capfd(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """The product's JSON log lines (INFO and up) land in what capfd captures (the logger's handler
    holds the stderr of import time, which is not the one capfd reads)."""
    handler = logger.registered_handler
    stream, level = handler.stream, logger.log_level
    handler.stream = _CurrentStderr()
    logger.setLevel("INFO")
    try:
        yield capfd
    finally:
        handler.stream = stream
        logger.setLevel(level)


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if name != "database_url" and value in text]


# --- the corpus through the pipeline --------------------------------------------------------------------------
def run_until_drained(services: Services, deadline_seconds: float = RUN_DEADLINE_SECONDS) -> tuple[RuntimeReport, bool]:
    """LocalRuntime.run(once=True), stopped (and reported as stuck) past the deadline."""
    deadline = time.monotonic() + deadline_seconds
    stuck: list[bool] = []
    runtime: LocalRuntime

    def watchdog() -> None:
        if time.monotonic() > deadline:
            stuck.append(True)
            runtime.stop()

    runtime = LocalRuntime(services, poll_interval=0.1, on_tick=watchdog)
    return runtime.run(once=True), bool(stuck)


@pytest.fixture()
def corpus_settings(settings: Settings, secrets: dict[str, str]) -> Settings:
    return settings.replace(
        allow_private_urls=False,
        database_url=SecretStr(secrets["database_url"]),
        openai_api_key=SecretStr(secrets["openai_key"]),
        max_media_bytes=8 * 1024 * 1024,
        http_connect_timeout=1.0,
        http_read_timeout=1.0,
        fetch_total_timeout_seconds=2.0,
        max_redirects=3,
        read_ahead_bytes=64 * 1024,
        retry_backoff_seconds=0,
        max_workers=2,
    )


def test_the_bad_input_corpus_ends_in_expected_outcomes(
    corpus_settings: Settings,
    store: PostgresUnderTest,
    queue: SqsQueue,
    dlq: SqsQueue,
    local_backend,
    servers: Servers,
    public_standin: StandInResolver,
    secrets: dict[str, str],
    logs_to_capfd: pytest.CaptureFixture[str],
) -> None:
    world = servers.world
    messages = by_kind(MESSAGE)
    rows = by_kind(VIDEOS_ROW)
    pipeline_cases = messages + rows
    assert len(pipeline_cases) >= 40 and len({c.name for c in BAD_INPUTS}) == len(BAD_INPUTS)
    ids = [c.video_id for c in pipeline_cases if c.video_id is not None]
    assert len(ids) == len(set(ids)), "each case needs its own video id (one open failure per video)"
    bodies = {c.name: c.body(world) for c in messages}
    assert len(set(bodies.values())) == len(bodies), "records are matched to messages by their body"
    assert max(len(b.encode()) for b in bodies.values()) == bad_inputs.SQS_MAX_BODY_BYTES

    # Given the corpus: hand-written messages on the queue, URLs in the videos table
    store.add_videos([(c.video_id, c.body(world)) for c in rows])
    for body in bodies.values():
        queue.client.send_message(QueueUrl=queue.url, MessageBody=body)
    backend = CountingBackend(local_backend)
    services = Services(corpus_settings, backend=backend)

    # When the real handlers run until both queues are empty, recording every outbound connection
    CONNECTIONS.start()
    try:
        report, stuck = run_until_drained(services)
    finally:
        connected = CONNECTIONS.stop()
        services.close()
    out, err = logs_to_capfd.readouterr()

    # Then the run drained by itself, with no crashed handler and nothing left in either queue
    assert not stuck, f"the run did not drain within {RUN_DEADLINE_SECONDS} s; left: {leftovers(queue, dlq)}"
    assert queue.depth() == (0, 0) and dlq.depth() == (0, 0)
    assert "handler raised" not in err

    # And each input has exactly its expected outcome
    records = store.failures(include_resolved=True)
    problems: list[str] = []
    matched: set[int] = set()
    for case in pipeline_cases:
        if case.kind == MESSAGE:
            # A record keeps its message with the secrets scrubbed (a URL's password, its query's values).
            mine = [r for r in records if r.original_message == scrub(bodies[case.name])]
        else:
            mine = [r for r in records if r.video_id == case.video_id]
        matched.update(r.id for r in mine)
        if case.expect == TRANSCRIBED:
            transcript = store.transcript(case.video_id)
            if mine or transcript is None or len(transcript.text.split()) < 3:
                problems.append(f"{case.name}: expected a transcript, got {transcript!r} and records {mine}")
            continue
        if len(mine) != 1:
            got = [(r.error_type, r.message) for r in mine]
            problems.append(f"{case.name}: expected one {case.expect} record, got {got}")
            continue
        [record] = mine
        got = (record.error_type, record.attempts, record.video_id)
        want = (case.expect, case.attempts, case.video_id)
        if got != want:
            problems.append(f"{case.name}: expected {want}, got {got}: {record.message}")
        elif case.reason.lower() not in record.message.lower():
            problems.append(f"{case.name}: expected {case.reason!r} in the message: {record.message}")
        if record.resolved_at is not None:
            problems.append(f"{case.name}: the record is resolved ({record.resolved_at})")
        if any(secret in record.message for secret in case.secrets):
            problems.append(f"{case.name}: a secret of its URL is in the message: {record.message}")
    extra = [(r.video_id, r.error_type, r.message) for r in records if r.id not in matched]
    assert not problems, "\n".join(problems)
    assert not extra, f"records no input accounts for: {extra}"
    retried = [c for c in pipeline_cases if c.retried]
    assert report.record_failures == 2 * len(retried), "only the retryable inputs may fail an attempt"
    assert report.dead_letters == len(retried)

    # And only the valid inputs reached the model; every job ended in a final state
    transcribed = [c for c in pipeline_cases if c.expect == TRANSCRIBED]
    assert backend.calls == len(transcribed)
    status = store.status()
    assert status["jobs"]["queued"]["count"] == 0 and status["jobs"]["processing"]["count"] == 0, status
    assert status["videos"] == len(rows)  # the table survived the ids full of SQL

    # And nothing was requested from a forbidden address: the canaries saw no request, and the only
    # connections the run opened went to the public stand-in and the SQS endpoint (the rebinding
    # name was looked up once: its fetch never learnt the loopback answer)
    servers.assert_no_canary_was_asked()
    endpoint = urlsplit(corpus_settings.aws_endpoint_url)
    allowed = {(PUBLIC_STANDIN, world.public_port), (endpoint.hostname, endpoint.port)}
    assert allowed <= set(connected), "the audit hook saw no connection: it is not recording"
    assert public_standin.rebind_lookups == 1
    assert [a for a in connected if a not in allowed] == []

    # And no secret is in any log line or failure message; every log line is one JSON object
    assert leaked(out + err, secrets) == []
    for record in records:
        assert leaked(record.message, secrets) == [], record
        assert leaked(record.original_message or "", secrets) == [], record
    lines = [line for line in err.split("\n") if line.strip()]
    assert lines, "the run logged nothing: the capture is broken"
    not_json = [line for line in lines if not _is_json_object(line)]
    assert not_json == []
    assert not any(json.loads(line).get("video_id") == "forged" for line in lines)


def leftovers(*queues: SqsQueue) -> list[str]:
    """What is still in the queues (the start of each body), to say which input got stuck."""
    left = []
    for q in queues:
        response = q.client.receive_message(QueueUrl=q.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        left += [f"{q.url.rsplit('/', 1)[-1]}: {m['Body'][:80]!r}" for m in response.get("Messages", [])]
    return left


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


# --- the command line ----------------------------------------------------------------------------------------
@pytest.fixture()
def cli_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, store: PostgresUnderTest, secrets: dict[str, str]
) -> PostgresUnderTest:
    """The CLI's environment: the test database (with a password), the test's queues, the guard on."""
    for name in ("ALLOW_PRIVATE_URLS", "TRANSCRIBER", "OPENAI_BASE_URL", "MAX_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUEUE_URL", settings.queue_url)
    monkeypatch.setenv("DLQ_URL", settings.dlq_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", settings.aws_endpoint_url)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("RETRY_BACKOFF_SECONDS", "0")
    return store


@pytest.mark.parametrize("case", by_kind(ENQUEUE), ids=lambda c: c.name)
def test_enqueue_refuses_at_once(
    case: BadInput, cli_env: PostgresUnderTest, queue: SqsQueue, servers: Servers, secrets, logs_to_capfd
) -> None:
    # Given a video id and URL that must not be queued
    url = case.body(servers.world)

    # When it is enqueued by hand
    code = main(["enqueue", case.video_id, "--url", url])

    # Then the command refuses with one line on stderr, and nothing is queued or recorded
    out, err = logs_to_capfd.readouterr()
    assert code == case.exit_code, err
    assert out == ""
    # (POWERTOOLS_LOG_LEVEL=INFO: the command's step log lines come first, then its one error line)
    [error] = [line for line in err.splitlines() if line.startswith("vidscribe: ")]
    assert case.reason in error and err.strip().endswith(error), err
    assert leaked(out + err, secrets) == [] and not any(secret in err for secret in case.secrets)
    assert queue.depth() == (0, 0)
    assert cli_env.job_error(case.video_id) == (None, None, 0)
    assert cli_env.failures() == [] and cli_env.status()["videos"] == 0
    servers.assert_no_canary_was_asked()


def test_enqueue_accepts_a_public_url(
    cli_env, queue: SqsQueue, servers: Servers, public_standin, logs_to_capfd
) -> None:
    # The control for the refusals above: the same command with an allowed URL queues the video.
    url = servers.world.pub("clip.mp4")
    assert main(["enqueue", "good-cli", "--url", url]) == 0
    assert "enqueued good-cli" in logs_to_capfd.readouterr().out
    [message] = queue.receive(10)
    assert json.loads(message.body) == {"video_id": "good-cli", "url": url}


@pytest.mark.parametrize(
    ("source", "code", "fragment"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", 1, "UrlRejected"),
        ("http://127.0.0.1:{lo}/latest/meta-data/", 1, "loopback"),
        ("http://[::1]:{lo6}/x.mp4", 1, "loopback"),
        ("{pub}/to-metadata.mp4", 1, "redirect"),
        ("{pub}/to-loopback.mp4", 1, "redirect"),
        (f"http://viewer:{URL_PASSWORD}@10.0.0.1/v.mp4", 1, "private"),
        ("file:///etc/passwd", 2, "unsupported source"),
    ],
    ids=[
        "metadata", "loopback", "ipv6-loopback", "redirect-to-metadata", "redirect-to-loopback", "credentials", "file"
    ],
)
def test_transcribe_obeys_the_guard(
    source: str, code: int, fragment: str, cli_env, servers: Servers, public_standin, secrets, logs_to_capfd
) -> None:
    w = servers.world
    url = source.format(lo=w.loopback_port, lo6=w.v6_loopback_port, pub=w.public)

    assert main(["transcribe", url]) == code

    out, err = logs_to_capfd.readouterr()
    [error] = [line for line in err.splitlines() if line.startswith("vidscribe: ")]
    assert out == "" and fragment in error and err.strip().endswith(error), err
    assert leaked(out + err, secrets) == []
    servers.assert_no_canary_was_asked()


def test_run_obeys_the_guard(
    cli_env: PostgresUnderTest, monkeypatch, servers: Servers, public_standin, secrets, logs_to_capfd
) -> None:
    # Given videos whose URLs (from the table) point at forbidden addresses, directly or by redirect,
    # and an OpenAI-compatible endpoint that is a canary: whatever reached the model would show there
    w = servers.world
    monkeypatch.setenv("TRANSCRIBER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{w.loopback_port}/v1")
    rows = {
        "run-meta": "http://169.254.169.254/latest/meta-data/",
        "run-lo": f"http://127.0.0.1:{w.loopback_port}/x.mp4",
        "run-redirect": w.pub("to-loopback-v6.mp4"),
    }
    # (videos add refuses the two literal addresses at the door; rows can come from anywhere else)
    for video_id, url in rows.items():
        assert main(["videos", "add", video_id, url]) == (0 if video_id == "run-redirect" else 1)
    added_out, added_err = logs_to_capfd.readouterr()
    assert added_err.count("refused") == 2 and cli_env.status()["videos"] == 1
    cli_env.add_videos([(video_id, url) for video_id, url in rows.items() if video_id != "run-redirect"])

    # When 'vidscribe run --once' processes them
    assert main(["run", "--once", "--json"]) == 0

    # Then each one is refused, nothing reached a canary, and no secret was printed
    out, err = logs_to_capfd.readouterr()
    summary = json.loads(out)
    assert (summary["transcribed"], summary["failed_by_type"]) == (0, {"UrlRejected": 3})
    assert {r.video_id: r.attempts for r in cli_env.failures()} == dict.fromkeys(rows, 1)
    servers.assert_no_canary_was_asked()
    assert leaked(added_out + added_err + out + err, secrets) == []


# --- inputs that once exposed bugs outside the message model ------------------------------------------------
def _run_rows(settings: Settings, store: PostgresUnderTest, backend, rows: dict[str, str]):
    store.add_videos(list(rows.items()))
    services = Services(settings, backend=CountingBackend(backend))
    try:
        return run_until_drained(services, deadline_seconds=8)
    finally:
        services.close()


def test_unusable_ids_in_the_videos_table_do_not_stop_the_fetcher(
    corpus_settings: Settings, store: PostgresUnderTest, queue, dlq, local_backend, servers: Servers, public_standin,
    logs_to_capfd,
) -> None:
    # Given a videos table (perhaps a view over an existing table) with ids the message schema refuses
    missing = servers.world.pub("missing-row.mp4")
    rows = {"row-good-404": missing, "row-bad\nnewline": missing, "r" * 300: missing}

    # When the pipeline runs
    _report, stuck = _run_rows(corpus_settings, store, local_backend, rows)

    # Then the run drains, and every row ends in one failure record: under its own id, or (an id
    # longer than any id the pipeline takes) under a stand-in whose original message has the whole id
    assert not stuck
    records = {r.video_id: r for r in store.failures()}
    stand_in = "r" * 64 + "…#" + hashlib.md5(b"r" * 300).hexdigest()
    assert {v: r.error_type for v, r in records.items()} == {
        "row-good-404": "FetchRefused",
        "row-bad\nnewline": "MalformedMessage",
        stand_in: "MalformedMessage",
    }
    assert json.loads(records[stand_in].original_message)["video_id"] == "r" * 300
    assert "300 characters long (at most 256)" in records[stand_in].message
    status = store.status()
    assert status["jobs"]["queued"]["count"] == 0 and status["jobs"]["processing"]["count"] == 0


def test_an_id_with_surrounding_spaces_keeps_its_identity(
    corpus_settings: Settings, store: PostgresUnderTest, queue, dlq, local_backend, servers: Servers, public_standin,
    logs_to_capfd,
) -> None:
    # Given a row whose id has surrounding spaces (ids are opaque: " row-padded " is not "row-padded")
    rows = {" row-padded ": servers.world.pub("missing-row.mp4")}

    _report, stuck = _run_rows(corpus_settings, store, local_backend, rows)

    # Then its record carries its own id and its job is final

    assert not stuck
    assert [(r.video_id, r.error_type) for r in store.failures()] == [(" row-padded ", "FetchRefused")]
    status = store.status()
    assert status["jobs"]["queued"]["count"] == 0 and status["jobs"]["processing"]["count"] == 0


def test_a_raw_nul_body_from_a_lenient_endpoint_is_recorded(
    corpus_settings: Settings, store: PostgresUnderTest, queue: SqsQueue, dlq: SqsQueue, local_backend, logs_to_capfd,
) -> None:
    # Given a body with a raw NUL character: real SQS refuses it, the embedded endpoint (moto) does not
    body = '{"video_id": "nul-\x00-raw"}'
    queue.client.send_message(QueueUrl=queue.url, MessageBody=body)

    report, stuck = _run_rows(corpus_settings, store, local_backend, {})

    # Then it becomes one MalformedMessage record at once, and the queues drain
    assert not stuck
    [record] = store.failures()
    assert (record.error_type, record.attempts, record.video_id) == ("MalformedMessage", 1, None)
    assert report.dead_letters == 0
