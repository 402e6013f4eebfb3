"""Peak memory and wall time of a real ``vidscribe transcribe`` process against the audio's duration.

    .venv/bin/python bench/bench_transcribe_memory.py                 # 10 min and 4 h, file and URL
    .venv/bin/python bench/bench_transcribe_memory.py --minutes 10 60
    .venv/bin/python bench/bench_transcribe_memory.py --code /tmp/old  # another checkout's CLI

Each row is ``python -m vidscribe.cli transcribe SOURCE --format json`` in a process of its own, its
peak RSS read from ``os.wait4`` (that process alone). The media: the bundled speech samples looped
into audio-only MP4s (``bench_long_audio.make_media``), read as a local file and over loopback HTTP
from the demo's media server; plus a 14 KB WAV at 1 Hz that decodes to 4 hours. The backend is
OpenAI's protocol on ``bench_long_audio``'s instant API (each upload answered at once with one
segment, unread), so that what is measured is the command's own work: decoding, voice activity
detection (``onnx``), Opus encoding and uploading. (``tests/support/openai_server.py`` decodes every
upload, on the same cores: the backend is then slower than the audio comes, the stream holds its full
quota of pieces, and the 4-hour peak over HTTP was 376 MiB instead of 353.) Goal: the 4-hour peak at
most 1.5x the 10-minute one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "bench")]

from bench_long_audio import KEY, InstantApi, make_media  # noqa: E402

from tests.support.odd_wav import wav_bytes  # noqa: E402
from tests.support.peak_rss import run_measured  # noqa: E402
from tests.support.service import cli_env  # noqa: E402
from vidscribe.local.media_server import MediaServer  # noqa: E402


def one_hertz_wav(folder: Path) -> Path:
    path = folder / "one-hertz-4h.wav"
    path.write_bytes(wav_bytes(np.random.default_rng(19).integers(0, 256, (4 * 3600, 1), dtype=np.uint8), 1))
    return path


def measure(source: str, env: dict[str, str]) -> dict[str, object]:
    done = run_measured([sys.executable, "-m", "vidscribe.cli", "transcribe", source, "--format", "json"], env, 1800)
    if done.returncode != 0:
        raise SystemExit(f"transcribe {source} failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout)
    return {"audio_s": result["duration"], "speech_s": result["speech_seconds"],
            "uploaded_s": result["model_audio_seconds"], "wall_s": round(done.seconds, 1),
            "peak_rss_mib": round(done.peak_rss_mib, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, nargs="*", default=[10, 240])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose CLI runs (default: this one)")
    args = parser.parse_args()

    rows: list[dict[str, object]] = []
    api = ThreadingHTTPServer(("127.0.0.1", 0), InstantApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{api.server_address[1]}/v1"
    with tempfile.TemporaryDirectory(prefix="vidscribe-transcribe-") as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        files = {m: make_media(folder, m * 60) for m in args.minutes}
        print(f"media made in {time.perf_counter() - made:.0f} s", file=sys.stderr)
        env = cli_env(folder / "home", TRANSCRIBER="openai", OPENAI_BASE_URL=api_url, OPENAI_API_KEY=KEY,
                      ALLOW_PRIVATE_URLS="true", MAX_DURATION_SECONDS=str(5 * 3600),
                      PYTHONPATH=str(args.code.resolve() / "shared"))
        with MediaServer(folder) as media:
            for minutes, path in files.items():
                for kind, source in (("file", str(path)), ("url", media.url(path.name))):
                    row = {"source": kind, "minutes": minutes, "file_mb": round(path.stat().st_size / 1e6, 1),
                           **measure(source, env)}
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
        wav = one_hertz_wav(folder)
        rows.append({"source": "1 Hz wav", "minutes": 240, "file_mb": round(wav.stat().st_size / 1e6, 3),
                     **measure(str(wav), env)})

    print(f"\n{'source':>9} {'duration':>9} {'file MB':>8} {'speech s':>9} {'uploaded s':>11} {'wall s':>7} "
          f"{'peak RSS MiB':>13}")
    for r in rows:
        print(f"{r['source']:>9} {r['minutes']:>7} m {r['file_mb']:>8} {r['speech_s']:>9} {r['uploaded_s']:>11} "
              f"{r['wall_s']:>7} {r['peak_rss_mib']:>13}")
    by = {(r["source"], r["minutes"]): r for r in rows}
    shortest, longest = min(args.minutes), max(args.minutes)
    pairs = [(("file", shortest), ("file", longest)), (("url", shortest), ("url", longest)),
             (("file", shortest), ("1 Hz wav", 240))]
    for base_key, long_key in pairs:
        base, long = by.get(base_key), by.get(long_key)
        if base and long and base is not long:
            ratio = float(str(long["peak_rss_mib"])) / float(str(base["peak_rss_mib"]))
            print(f"peak RSS {long_key[0]} {long_key[1]} min / {base_key[0]} {base_key[1]} min: {ratio:.2f} "
                  "(goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
