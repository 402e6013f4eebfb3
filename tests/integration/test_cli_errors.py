"""Configuration mistakes, as a new user makes them: one line on stderr naming what to fix, at once.

Each case runs the command line in-process against the real PostgreSQL and moto's SQS endpoint, and
asserts the exit code, that stderr is one line starting ``vidscribe: `` and naming the variable (or
argument), and that the answer came within 3 s (the reconnect loop that rides out a database
restart must not delay a wrong URL: it took 8-10 s before). ``bench/bench_config_errors.py`` prints
the same messages with their times from a fresh process.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.database import PostgresUnderTest
from tests.support.queues import unique_queue_name
from tests.support.service import cli_env, run_cli
from vidscribe.adapters.sqs import create_queue_pair, sqs_client
from vidscribe.cli import main
from vidscribe.config import Settings
from vidscribe.local.embedded import MotoSqsServer

BOUND_SECONDS = 3.0


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: PostgresUnderTest) -> PostgresUnderTest:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "TRANSCRIBER", "VIDEOS_TABLE", "WHISPER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return store


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, float]:
    started = time.monotonic()
    code = main(argv)
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vidscribe: ") and "Traceback" not in err
    return code, lines[0], seconds


def check(capsys, argv: list[str], expected: str, code: int = 2) -> str:
    got, line, seconds = one_line_error(capsys, argv)
    print(f"\n  {' '.join(argv):<24} {seconds:5.2f} s  exit {got}  {line}")
    assert expected in line and got == code, line
    assert seconds < BOUND_SECONDS, f"{seconds:.2f} s: {line}"
    return line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:Hunter2Secret@127.0.0.1:1/prod",
        "host=127.0.0.1 port=1 user=app password=Hunter2Secret dbname=prod",
    ],
    ids=["url", "key-value"],
)
def test_an_unreachable_database_is_named_at_once(env, capsys, monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    line = check(capsys, ["status"], "DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:1 (database 'prod')")
    assert "connection refused" in line and "Hunter2Secret" not in line


def test_a_malformed_database_url_is_named_without_echoing_it(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres//app:Hunter2Secret@db/x")
    line = check(capsys, ["status"], "DATABASE_URL is not a PostgreSQL connection string")
    assert "Hunter2Secret" not in line and "app" not in line


def test_a_missing_database_is_named(env, capsys, monkeypatch, database_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url.rsplit("/", 1)[0] + "/no_such_database_here")
    check(capsys, ["status"], 'database "no_such_database_here" does not exist')


def test_a_missing_videos_table_is_named(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VIDEOS_TABLE", "catalogue")
    check(capsys, ["status"], "VIDEOS_TABLE: there is no table or view 'catalogue'")


def test_a_videos_table_without_the_url_column_is_named(env, capsys, monkeypatch) -> None:
    env.execute("DROP VIEW IF EXISTS catalogue_ids")
    env.execute("CREATE VIEW catalogue_ids AS SELECT id FROM videos")
    try:
        monkeypatch.setenv("VIDEOS_TABLE", "catalogue_ids")
        check(capsys, ["run", "--once"], "VIDEOS_TABLE: 'catalogue_ids' has no url column: vidscribe needs id and url")
    finally:
        env.execute("DROP VIEW catalogue_ids")


def test_a_bad_videos_table_name_is_named(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VIDEOS_TABLE", "my videos")
    check(capsys, ["status"], "VIDEOS_TABLE: give a table or view name")


def test_a_missing_whisper_model_directory_is_named(env, capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WHISPER_MODEL", str(tmp_path / "no-such-model"))
    check(capsys, ["transcribe", "clip.mp4"], "WHISPER_MODEL: no such directory")
    monkeypatch.setenv("WHISPER_MODEL", str(tmp_path))
    check(capsys, ["run", "--once"], "has no model.bin")


def test_keywords_openai_refuses_and_an_impossible_translation_are_named_before_any_work(env, capsys, monkeypatch):
    # The OpenAI backend's settings are checked before a file is read or a database is touched
    for name in ("TASK", "KEYWORDS", "OPENAI_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRANSCRIBER", "openai")
    monkeypatch.setenv("KEYWORDS", "ComfyUI,<b>vidscribe</b>")
    check(capsys, ["transcribe", "clip.mp4"], "KEYWORDS: keyword 2 contains '<': gpt-transcribe rejects")
    check(capsys, ["run", "--once"], "KEYWORDS: keyword 2 contains '<'")
    monkeypatch.delenv("KEYWORDS")
    monkeypatch.setenv("TASK", "translate")
    check(capsys, ["run", "--once"], "TASK=translate: OpenAI translates audio with whisper-1 only, not gpt-transcribe")


@pytest.fixture()
def own_queues(env, monkeypatch, sqs_server: MotoSqsServer) -> tuple[str, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    base = Settings.from_env({}, AWS_ENDPOINT_URL=sqs_server.endpoint_url)
    return create_queue_pair(sqs_client(base), unique_queue_name("cfg"), visibility_timeout=30)


def test_a_queue_that_does_not_exist_is_named(own_queues, capsys, monkeypatch, sqs_server) -> None:
    queue_url, dlq_url = own_queues
    monkeypatch.setenv("QUEUE_URL", queue_url + "-typo")
    monkeypatch.setenv("DLQ_URL", dlq_url)
    check(capsys, ["run", "--once"], "QUEUE_URL: no such queue at " + sqs_server.endpoint_url)
    check(capsys, ["enqueue", "v1", "--url", "https://example.com/v.mp4"], "QUEUE_URL: no such queue")
    monkeypatch.setenv("QUEUE_URL", queue_url)
    monkeypatch.setenv("DLQ_URL", dlq_url + "-typo")
    check(capsys, ["run", "--once"], "DLQ_URL: no such queue")


def test_a_dlq_that_is_not_the_queues_dead_letter_queue_is_named(own_queues, capsys, monkeypatch) -> None:
    queue_url, _ = own_queues
    _, other_dlq = create_queue_pair(
        sqs_client(Settings.from_env()), unique_queue_name("other"), visibility_timeout=30
    )
    monkeypatch.setenv("QUEUE_URL", queue_url)
    monkeypatch.setenv("DLQ_URL", other_dlq)
    check(capsys, ["run", "--once"], "not to DLQ_URL")


def test_half_a_queue_pair_is_named(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("QUEUE_URL", "http://127.0.0.1:1/000000000000/q")
    check(capsys, ["run", "--once"], "QUEUE_URL is set but DLQ_URL is not")
    monkeypatch.delenv("QUEUE_URL")
    monkeypatch.setenv("DLQ_URL", "http://127.0.0.1:1/000000000000/q-dlq")
    check(capsys, ["run", "--once"], "DLQ_URL is set but QUEUE_URL is not")


def test_an_unreachable_or_malformed_endpoint_is_named(env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("QUEUE_URL", "http://127.0.0.1:1/000000000000/q")
    monkeypatch.setenv("DLQ_URL", "http://127.0.0.1:1/000000000000/q-dlq")
    check(capsys, ["run", "--once"], "AWS_ENDPOINT_URL: cannot connect to http://127.0.0.1:1")
    check(capsys, ["queues", "create"], "AWS_ENDPOINT_URL: cannot connect to http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:4566")
    check(capsys, ["queues", "create"], "AWS_ENDPOINT_URL: must be an http(s) URL with a host")


def test_missing_credentials_say_which_variables_to_set(tmp_path: Path, sqs_server) -> None:
    # A process of its own: boto3 caches the credentials it found once per process.
    env = cli_env(
        tmp_path,
        AWS_ENDPOINT_URL=sqs_server.endpoint_url,
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = run_cli(["queues", "create"], env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "vidscribe: no AWS credentials for SQS: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); "
        "against an emulator at AWS_ENDPOINT_URL any values work"
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["videos", "add", "v1", "ftp://example.com/v.mp4"],
            "refused: only http and https (and s3://) URLs are allowed",
        ),
        (["videos", "add", "v1", "http://169.254.169.254/latest/meta-data/"], "the cloud metadata service"),
        (["videos", "add", "v1", "http://localhost:8080/v.mp4"], "localhost in 'http://localhost:8080/v.mp4' is a"),
        (["enqueue", "v1", "--url", "http://10.1.2.3/v.mp4"], "10.1.2.3 in 'http://10.1.2.3/v.mp4' is a private"),
    ],
    ids=["scheme", "metadata", "localhost", "private"],
)
def test_a_url_the_pipeline_would_refuse_is_refused_at_the_door(env, capsys, argv, expected) -> None:
    check(capsys, argv, expected, code=1)
    assert env.status()["videos"] == 0 and env.status()["jobs"]["queued"]["count"] == 0


def test_an_import_names_the_line_of_a_refused_url(env, capsys, tmp_path: Path) -> None:
    listing = tmp_path / "videos.csv"
    listing.write_text("id,url\nok,https://example.com/a.mp4\nbad,http://127.0.0.1/b.mp4\n")
    line = check(capsys, ["videos", "import", str(listing)], f"{listing}:3: refused", code=1)
    assert "loopback" in line
    assert env.status()["videos"] == 0  # nothing half-imported


def test_verbose_works_after_the_command_too(tmp_path: Path, database_url: str) -> None:
    # A process of its own, as a person runs it (the logger writes to the stderr it started with).
    env = cli_env(tmp_path, DATABASE_URL=database_url)
    done = run_cli(["status", "-v"], env)
    assert done.returncode == 0, done.stderr
    assert "INFO database: connected" in done.stderr and "INFO database: schema up to date" in done.stderr
    assert not any(line.startswith("{") for line in done.stderr.splitlines())  # for people: no JSON lines
    quiet = run_cli(["status"], env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    as_json = run_cli(["-v", "status"], {**env, "LOG_FORMAT": "json"})
    assert all(line.startswith("{") for line in as_json.stderr.splitlines()) and "database: connected" in as_json.stderr


def test_transcribe_logs_its_steps_with_verbose(tmp_path: Path) -> None:
    from vidscribe.local.samples import samples_dir

    done = run_cli(["transcribe", str(samples_dir() / "sample-bakery.mp4"), "-v"], cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    for step in ("transcribe: decoding the audio", "transcribe: audio decoded", "transcribe: model ready",
                 "transcribe: transcribed"):
        assert f"INFO {step}" in done.stderr, done.stderr
    assert "bread" in done.stdout
