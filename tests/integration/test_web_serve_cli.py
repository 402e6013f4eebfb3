"""``vidscribe serve`` as an operator runs it: a real process that says where to open the page,
serves it, and stops on a signal like the other long-running commands (128 + N)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import psycopg2
import requests
from psycopg2 import sql

from tests.support.database import PostgresUnderTest
from tests.support.service import CliProcess, cli_env, run_cli, wait_for

LISTENING = re.compile(r"vidscribe serve: open (http://127\.0\.0\.1:\d+/) \(([^;]+);")


def _started(process: CliProcess) -> tuple[str, str]:
    found = wait_for(lambda: LISTENING.search(process.stderr) or process.process.poll() is not None, timeout=60)
    assert isinstance(found, re.Match), process.stderr
    return found.group(1), found.group(2)


def test_serve_says_where_to_open_the_page_serves_it_and_stops_on_sigterm(
    store: PostgresUnderTest, database_url: str, tmp_path: Path
) -> None:
    store.add_videos([("lecture-1", "https://media.example.com/l1.mp4")])
    env = cli_env(tmp_path, DATABASE_URL=database_url)
    process = CliProcess(["serve", "--port", "0"], env, tmp_path, "serve")
    try:
        url, actions = _started(process)
        assert actions == "retry and dismiss on"
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "lecture-1" in page.text
        process.send(signal.SIGTERM)
        code, _ = process.wait(timeout=15)
    finally:
        process.kill()
    assert code == 128 + signal.SIGTERM
    assert process.stderr.rstrip().endswith("vidscribe serve: stopped by SIGTERM")


def test_read_only_serve_says_so_and_will_not_migrate(database_url: str, tmp_path: Path) -> None:
    # A database whose schema is one migration behind, served --read-only: nothing may change it.
    name = f"{database_url.rsplit('/', 1)[-1].split('?')[0]}_behind"
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = database_url.partition("?")
    behind = f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
    try:
        env = cli_env(tmp_path, DATABASE_URL=behind)
        assert run_cli(["db", "migrate"], env).returncode == 0
        with psycopg2.connect(behind) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM vidscribe_migrations WHERE name = '006_catalogue_indexes.sql'")
        refused = run_cli(["serve", "--read-only", "--port", "0"], env)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "vidscribe: the database's schema is behind (006_catalogue_indexes.sql not applied) and --read-only "
            "changes nothing: run 'vidscribe db migrate' with a role that may, then serve again"
        )
        process = CliProcess(["serve", "--port", "0"], env, tmp_path, "serve")  # without --read-only: it migrates
        try:
            _, actions = _started(process)
            assert actions == "retry and dismiss on"
            process.send(signal.SIGINT)
            assert process.wait(timeout=15)[0] == 128 + signal.SIGINT
        finally:
            process.kill()
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def test_a_port_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["serve", "--port", "70000"], cli_env(tmp_path))
    assert result.returncode == 2
    assert "not a port number: '70000' (0 to 65535)" in result.stderr
