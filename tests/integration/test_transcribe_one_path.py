"""``vidscribe transcribe`` takes the worker's streaming path: huge and endless inputs end in their
outcome with flat memory.

Each case runs ``vidscribe transcribe`` in a process of its own, measuring that process's peak RSS
(``tests/support/peak_rss.py``) against a control run in the same session: the same command on 10 s
of audio. The backend is OpenAI's protocol on a real local server (no model to load, so the figure is
the pipeline's own); voice activity detection runs for real, and finds no speech in these inputs.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.support.odd_wav import ENDLESS, wav_bytes, wav_header
from tests.support.openai_server import OpenAITranscriptionServer
from tests.support.peak_rss import Measured, run_measured
from tests.support.realspeech import BIRCH
from tests.support.service import cli_env
from tests.support.text import word_error_rate
from vidscribe.cli import main
from vidscribe.models import SAMPLE_RATE

API_KEY = "sk-test-one-path-0123456789"
#: Peak RSS above the 10 s control: measured +32 to +36 MiB for 1, 2 and 4 hours at 1 Hz and for
#: the endless stream (the detector's runtime, 30 s blocks, a piece). The old path held the
#: decoded audio: +921 MB for 4 hours.
RSS_ALLOWANCE_MIB = 48


@pytest.fixture(scope="module")
def api() -> Iterator[OpenAITranscriptionServer]:
    with OpenAITranscriptionServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def run(api: OpenAITranscriptionServer, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")

    def transcribe(source: str, **env: str) -> Measured:
        values = {"TRANSCRIBER": "openai", "OPENAI_BASE_URL": api.base_url, "OPENAI_API_KEY": API_KEY, **env}
        argv = [sys.executable, "-m", "vidscribe.cli", "transcribe", source, "--format", "json"]
        return run_measured(argv, cli_env(home, **values), timeout=300)

    return transcribe


@pytest.fixture(scope="module")
def control_rss_mib(run, tmp_path_factory: pytest.TempPathFactory) -> float:
    path = tmp_path_factory.mktemp("control") / "ten-seconds.wav"
    path.write_bytes(wav_bytes(np.full((10 * SAMPLE_RATE, 1), 128, np.uint8), SAMPLE_RATE))
    done = run(str(path))
    assert done.returncode == 0, done.stderr
    return done.peak_rss_mib


def test_a_1_hz_wav_that_decodes_to_4_hours_ends_in_its_transcript(
    run, control_rss_mib: float, api: OpenAITranscriptionServer, tmp_path: Path
) -> None:
    # Given 14 KB of WAV at 1 Hz: 14,400 samples, 4 hours (MAX_DURATION_SECONDS) at 16 kHz
    path = tmp_path / "one-hertz.wav"
    path.write_bytes(wav_bytes(np.random.default_rng(19).integers(0, 256, (4 * 3600, 1), dtype=np.uint8), 1))
    assert path.stat().st_size < 15_000

    done = run(str(path))

    # Then it is transcribed (no speech in it: no model call) with the memory of 10 seconds
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["duration"] == 4 * 3600 and result["no_speech"] is True
    assert api.requests == []
    assert done.peak_rss_mib <= control_rss_mib + RSS_ALLOWANCE_MIB, (done.peak_rss_mib, control_rss_mib)


class EndlessWav(BaseHTTPRequestHandler):
    """A WAV whose header claims an endless length, and a body that never ends: 8 kHz noise, sent
    until the client hangs up, with no Content-Length (and no Range support)."""

    protocol_version = "HTTP/1.0"
    disable_nagle_algorithm = True
    rate = 8000
    second = np.random.default_rng(7).integers(96, 160, rate, dtype=np.uint8).tobytes()
    sent = 0
    hung_up = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.end_headers()
        try:
            self.wfile.write(wav_header(1, self.rate, 8, data_size=ENDLESS))
            while True:
                self.wfile.write(self.second)
                type(self).sent += len(self.second)
        except OSError:
            type(self).hung_up.set()

    def log_message(self, *args: object) -> None:
        pass


def test_an_endless_stream_ends_at_max_duration_as_it_decodes(run, control_rss_mib: float) -> None:
    # Given a server that keeps producing audio, under a header that claims no end
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndlessWav)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = run(f"http://127.0.0.1:{server.server_address[1]}/live.wav",
                   ALLOW_PRIVATE_URLS="true", MAX_DURATION_SECONDS="1800")
        assert EndlessWav.hung_up.wait(10)
    finally:
        server.shutdown()
        server.server_close()

    # Then it stops once the audio passes MAX_DURATION_SECONDS, with one line and flat memory
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "vidscribe: MediaTooLong: the audio lasts more than the 1800 s allowed (MAX_DURATION_SECONDS)"
    )
    assert done.stdout == ""
    assert done.peak_rss_mib <= control_rss_mib + RSS_ALLOWANCE_MIB, (done.peak_rss_mib, control_rss_mib)
    # What it read: 1800 s of samples, plus what the read-ahead and the sockets held (3.5 MB measured)
    needed = 1800 * EndlessWav.rate
    assert needed <= EndlessWav.sent <= needed + 8 * 1024 * 1024


def test_a_header_that_claims_an_endless_length_is_read_to_the_real_end(monkeypatch, capsys, tmp_path: Path) -> None:
    # Given a local WAV of real speech whose RIFF and data sizes say 0xFFFFFFFF (as a stream writer
    # leaves them): 4 GiB, 37 hours at this rate, if taken at its word
    for name in ("TRANSCRIBER", "VAD", "MAX_DURATION_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    speech = np.clip(BIRCH.samples * 32767, -32768, 32767).astype(np.int16)
    path = tmp_path / "stream-written.wav"
    path.write_bytes(wav_bytes(speech[:, None], SAMPLE_RATE, endless_header=True))

    assert main(["transcribe", str(path), "--format", "json"]) == 0

    # Then it is transcribed to the end of its samples, with the words
    result = json.loads(capsys.readouterr().out)
    assert result["duration"] == pytest.approx(len(speech) / SAMPLE_RATE, abs=1e-3)
    assert word_error_rate(BIRCH.text, result["text"]) == 0.0
