#!/usr/bin/env python3
"""The CDK app (cdk.json: ``"app": "python3 infra/app.py"``).

    npx --prefix infra cdk synth                      # or: make synth
    npx --prefix infra cdk deploy -c maxWorkers=4     # context overrides, see docs/deploy.md

Context defaults live in cdk.json; infra/config.py documents and validates every key. cdk-nag's AWS
Solutions checks run on every synth (context ``nag=false`` turns them off for quick experiments).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    # Run as a script, Python puts infra/ first on sys.path; import the package from the repo root
    # instead, so that infra/*.py modules never shadow top-level modules (e.g. `constructs`).
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, str(REPO_ROOT))
    # The numbers the stack shares with the core (vidscribe.contract), importable without an install.
    sys.path.insert(1, str(REPO_ROOT / "shared"))

import aws_cdk as cdk  # noqa: E402

from infra.config import ConfigError, StackConfig  # noqa: E402
from infra.nag import add_checks  # noqa: E402
from infra.stack import VidscribeStack  # noqa: E402


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None
) -> tuple[cdk.App, VidscribeStack]:
    """Create the app and its one stack. ``context`` adds to (and overrides) cdk.json's context when
    called from tests; under the CDK CLI the context arrives through the environment as usual."""
    app = cdk.App(context=context or None, outdir=outdir)
    config = StackConfig.from_context(app.node.try_get_context)
    # Environment-agnostic on purpose: nothing is looked up at synth time, so the same template deploys
    # to whichever account/region `cdk deploy` (or AWS_REGION) points at.
    stack = VidscribeStack(app, config.stack_name, config=config)
    if config.nag:
        add_checks(app)
    return app, stack


def main() -> int:
    """``cdk synth``'s entry point: a context value that cannot be deployed is one line on stderr that
    names its key (exit 2), not a Python traceback."""
    try:
        app, _ = build_app()
    except ConfigError as exc:
        print(f"vidscribe stack: invalid context: {exc} (set it in cdk.json or with -c KEY=VALUE)", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
