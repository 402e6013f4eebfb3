"""``vidscribe transcripts list`` and ``vidscribe export`` against the test PostgreSQL, a real
directory and moto's S3 server: filters, every format, ids no file system takes as they are, files
written atomically and skipped when current, the same files under an S3 prefix."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest

from tests.support.database import PostgresUnderTest
from tests.support.service import cli_env
from vidscribe.adapters.export_targets import file_name
from vidscribe.cli import main
from vidscribe.export import render
from vidscribe.models import Segment, Transcript

ODD_IDS = (
    "plain",
    "a/b/../../etc/passwd",
    "..",
    ".hidden",
    "Größe – 東京 ☃",
    "x" * 256,
    "x" * 255 + "y",
    "100%~tilde",
    "C:\\win\\name?*:",
)


def _transcript(video_id: str, language: str, model: str, *texts: str) -> Transcript:
    segments = [Segment(5.0 * i, 5.0 * i + 4, text) for i, text in enumerate(texts)]
    return Transcript(" ".join(texts), segments, language, 5.0 * max(1, len(texts)), "local", model, video_id=video_id)


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, store: PostgresUnderTest) -> PostgresUnderTest:
    for name in ("QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "VIDEOS_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for index, video_id in enumerate(ODD_IDS):
        language, model = ("de", "base") if index % 3 == 0 else ("en", "tiny.en")
        assert store.save_transcript(
            video_id, _transcript(video_id, language, model, f"Satz {index} hier.", "<b> & -->")
        )
    silent = Transcript("", [], None, 30.0, "local", "base", no_speech=True, speech_seconds=0.0)
    assert store.save_transcript("silent", silent)
    return store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_filters_by_language_model_date_and_speech(env: PostgresUnderTest, capsys) -> None:
    code, out, _ = run(capsys, "transcripts", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and [row["video_id"] for row in listed] == sorted([*ODD_IDS, "silent"])
    german = {
        row["video_id"] for row in json.loads(run(capsys, "transcripts", "list", "--language", "de", "--json")[1])
    }
    assert german == {ODD_IDS[i] for i in range(0, len(ODD_IDS), 3)}
    by_model = json.loads(run(capsys, "transcripts", "list", "--model", "tiny.en", "--json")[1])
    assert len(by_model) == len(ODD_IDS) - len(german)
    silent = json.loads(run(capsys, "transcripts", "list", "--without-speech", "--json")[1])
    assert [(row["video_id"], row["segments"], row["no_speech"]) for row in silent] == [("silent", 0, True)]
    assert len(json.loads(run(capsys, "transcripts", "list", "--with-speech", "--json")[1])) == len(ODD_IDS)
    tomorrow = (env.now() + timedelta(days=1)).date().isoformat()
    assert json.loads(run(capsys, "transcripts", "list", "--since", tomorrow, "--json")[1]) == []
    assert len(json.loads(run(capsys, "transcripts", "list", "--until", tomorrow, "--limit", "3", "--json")[1])) == 3
    code, out, _ = run(capsys, "transcripts", "list", "--language", "de")
    assert code == 0 and out.splitlines()[0].startswith(".hidden  de  base  10.0 s  2 segments  ")


def test_a_bad_date_is_a_usage_error(env: PostgresUnderTest, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["transcripts", "list", "--since", "yesterday"])
    assert stopped.value.code == 2
    assert "not a date: 'yesterday'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["transcripts", "list", "--limit", "-1"])
    assert "not a positive whole number: '-1'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["srt", "vtt", "json", "txt"])
def test_every_format_one_file_per_odd_id(env: PostgresUnderTest, capsys, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    code, printed, _ = run(capsys, "export", "--format", fmt, "--out", str(out))
    assert code == 0 and printed == f"exported 10 transcripts to {out}: 10 written, 0 already current\n"
    names = sorted(os.listdir(out))
    assert len(names) == len(ODD_IDS) + 1  # one file each, no collisions, nothing else (no .part left)
    assert all(len(name.encode()) <= 255 and "/" not in name and not name.startswith(".") for name in names)
    for video_id in ODD_IDS:
        written = (out / file_name(video_id, fmt)).read_text(encoding="utf-8")
        assert written == render(env.transcript(video_id), fmt)  # type: ignore[arg-type]
    assert unquote(file_name("Größe – 東京 ☃", fmt).removesuffix("." + fmt)) == "Größe – 東京 ☃"
    if fmt == "vtt":
        assert "&lt;b&gt; &amp; --&gt;" in (out / file_name("plain", fmt)).read_text()


def test_export_resumes_and_rewrites_only_what_changed(env: PostgresUnderTest, capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(capsys, "export", "--format", "json", "--out", str(out), "--json")[0] == 0
    plain = out / file_name("plain", "json")
    (out / file_name("..", "json")).unlink()  # as if the first export had stopped before it
    plain.write_text("stale")
    inode = os.stat(out / file_name("silent", "json")).st_ino
    code, printed, _ = run(capsys, "export", "--format", "json", "--out", str(out), "--json")
    assert code == 0 and json.loads(printed) | {"out": None} == {
        "out": None,
        "format": "json",
        "written": 2,
        "current": 8,
    }
    assert json.loads(plain.read_text())["video_id"] == "plain"
    assert os.stat(out / file_name("silent", "json")).st_ino == inode  # a current file is not rewritten


def test_export_to_a_file_or_another_scheme_is_a_usage_error(env: PostgresUnderTest, capsys, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert run(capsys, "export", "--format", "txt", "--out", str(tmp_path / "f"))[0] == 2
    code, _, err = run(capsys, "export", "--format", "txt", "--out", "ftp://host/dir")
    assert code == 2 and "neither a directory nor s3://BUCKET/PREFIX" in err


def test_export_to_s3_through_the_endpoint_settings(
    env: PostgresUnderTest, capsys, monkeypatch: pytest.MonkeyPatch, sqs_server
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=sqs_server.endpoint_url)
    s3.create_bucket(Bucket="captions")
    code, printed, _ = run(capsys, "export", "--format", "vtt", "--out", "s3://captions/site/vtt", "--language", "de")
    assert code == 0 and "3 written, 0 already current" in printed
    listed = s3.list_objects_v2(Bucket="captions", Prefix="site/vtt/")["Contents"]
    keys = {item["Key"] for item in listed}
    german = [ODD_IDS[i] for i in range(0, len(ODD_IDS), 3)]
    assert keys == {"site/vtt/" + file_name(video_id, "vtt") for video_id in german}
    body = s3.get_object(Bucket="captions", Key="site/vtt/" + file_name("plain", "vtt"))
    assert body["ContentType"] == "text/vtt; charset=utf-8"
    assert body["Body"].read().decode() == render(env.transcript("plain"), "vtt")  # type: ignore[arg-type]
    again = run(capsys, "export", "--format", "vtt", "--out", "s3://captions/site/vtt", "--language", "de")[1]
    assert "0 written, 3 already current" in again


def test_a_terminal_sees_a_progress_bar_and_a_pipe_does_not(
    env: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "vidscribe.cli", "export", "--format", "txt"]
    process_env = cli_env(tmp_path, DATABASE_URL=database_url)
    controller, terminal = pty.openpty()
    try:
        finished = subprocess.run(
            [*command, "--out", str(tmp_path / "tty")], env=process_env, stderr=terminal,
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120, check=True,
        )  # fmt: skip
        os.close(terminal)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the terminal's last writer has gone
            while chunk := os.read(controller, 4096):
                drawn += chunk
    finally:
        os.close(controller)
    assert b"export [##############################] 10/10 (0 already current)" in drawn
    assert finished.stdout.decode().startswith("exported 10 transcripts")
    piped = subprocess.run(
        [*command, "--out", str(tmp_path / "pipe")], env=process_env, capture_output=True, timeout=120, check=True
    )
    assert piped.stderr == b""


def test_a_destination_that_refuses_is_one_line_and_keeps_what_was_written(
    env: PostgresUnderTest, capsys, monkeypatch: pytest.MonkeyPatch, sqs_server, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_server.endpoint_url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    code, out, err = run(capsys, "export", "--format", "txt", "--out", "s3://no-such-bucket/p")
    assert (code, out) == (1, "")
    assert err == (
        "vidscribe: --out s3://no-such-bucket/p: S3 refused: NoSuchBucket: The specified bucket does not exist;"
        " 0 files were exported before it: run the same export again to resume\n"
    )
    out = tmp_path / "out"
    (out / file_name("plain", "txt")).mkdir(parents=True)  # a directory where a file must go
    code, _, err = run(capsys, "export", "--format", "txt", "--out", str(out))
    assert code == 1 and err.startswith(f"vidscribe: --out {out}: Is a directory: ")
    assert err.endswith(" files were exported before it: run the same export again to resume\n")
    assert not [name for name in os.listdir(out) if name.endswith(".part")]  # the temporary file is gone
