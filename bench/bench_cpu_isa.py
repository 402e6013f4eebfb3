"""base's error on each language under each CPU instruction set CTranslate2 can use here.

    .venv/bin/python bench/bench_cpu_isa.py (about 2 minutes)

CTranslate2 picks its int8 kernels by the CPU's instruction set, and they round differently: the
same clip comes out differently (and the same every run) under each. tests/integration/
test_languages.py bounds each clip by the worst of them, so a CI host with another CPU does not fail
on a host change. Each set runs in a child process with ``CT2_FORCE_CPU_ISA`` (read when the model
loads); "default" is what CTranslate2 picks on this machine. A set the CPU lacks fails to load and
is reported as such. The baseline in the same run is GENERIC, the plain C++ kernels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = ("default", "GENERIC", "AVX", "AVX2", "AVX512")


def measure() -> dict[str, float]:
    """In this process: base at beam 1 on each clip, and on German with LANGUAGE=de (the hinted case)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from bench.bench_languages import BY_CHARACTERS
    from tests.support import realspeech
    from tests.support.text import error_rate
    from vidscribe.adapters.backends.local_whisper import LocalWhisperBackend
    from vidscribe.config import Settings
    from vidscribe.models import DecodedAudio

    settings = Settings.from_env({}, MAX_WORKERS=2, WHISPER_MODEL="base")
    backend = LocalWhisperBackend(settings)
    rates = {}
    for clip in realspeech.multilingual_clips():
        text = backend.transcribe(DecodedAudio(clip.samples)).text
        rates[clip.language] = error_rate(clip.text, text, characters=clip.language in BY_CHARACTERS)
    german = next(c for c in realspeech.multilingual_clips() if c.language == "de")
    hinted = LocalWhisperBackend(settings.replace(language="de")).transcribe(DecodedAudio(german.samples))
    rates["de hinted"] = error_rate(german.text, hinted.text)
    return rates


def main() -> None:
    results: dict[str, dict[str, float] | str] = {}
    for name in SETS:
        env = {k: v for k, v in os.environ.items() if k != "CT2_FORCE_CPU_ISA"}
        if name != "default":
            env["CT2_FORCE_CPU_ISA"] = name
        done = subprocess.run(
            [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=False
        )
        lines = done.stdout.strip().splitlines()
        results[name] = json.loads(lines[-1]) if done.returncode == 0 and lines else "did not load"
        print(f"measured {name}", file=sys.stderr, flush=True)
    baseline = results["GENERIC"]
    columns = next(r for r in results.values() if isinstance(r, dict)).keys()
    print("WER (CER for ja, ko) of base at beam 1, per instruction set; in brackets: minus GENERIC's")
    print(f"{'set':<8} " + " ".join(f"{c:>15}" for c in columns))
    for name, rates in results.items():
        if not isinstance(rates, dict):
            print(f"{name:<8} {rates}")
            continue
        cells = []
        for column in columns:
            delta = rates[column] - baseline[column] if isinstance(baseline, dict) else float("nan")
            cells.append(f"{rates[column]:>6.3f} ({delta:+.3f})")
        print(f"{name:<8} " + " ".join(f"{c:>15}" for c in cells))
    worst = {c: max(r[c] for r in results.values() if isinstance(r, dict)) for c in columns}
    print("worst over the sets: " + ", ".join(f"{c} {v:.3f}" for c, v in worst.items()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(measure()))
    else:
        main()
