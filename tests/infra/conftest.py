"""Synthesize the stack once per configuration for the whole session (``import aws_cdk`` alone takes
seconds, a synth several more): every infra test reads the same two templates.

* ``default`` - cdk.json's context as shipped (what ``cdk deploy`` produces with no options).
* ``custom``  - the other branches: existing secret ARNs, a VPC, an alarm e-mail, a disabled cron
               schedule, more workers, other sizes. Values are strings, as ``-c key=value`` passes them.
* ``network`` - production networking: the stack's own security group, VPC endpoints, a NAT gateway,
               IAM authentication through an RDS Proxy, 200 workers.

Each synth runs with cdk-nag registered exactly as ``infra/app.py`` does, so its validation report is
checked from the same synthesis. The dependencies layer is replaced by a tiny stand-in folder: the stack
only needs the folder to exist, and the real one is built by ``make package``.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path

import pytest

from tests.infra.helpers import CUSTOM_CONTEXT, NETWORK_CONTEXT, Synth, synthesize


@pytest.fixture(scope="session")
def stand_in_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("layer")
    (path / "python" / "vidscribe").mkdir(parents=True)
    (path / "python" / "vidscribe" / "__init__.py").write_text("# stand-in for the layer `make package` builds\n")
    return path


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-default"), stand_in_layer, {})


@pytest.fixture(scope="session")
def custom(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-custom"), stand_in_layer, CUSTOM_CONTEXT)


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-network"), stand_in_layer, NETWORK_CONTEXT)


@pytest.fixture(scope="session", params=["default", "custom"])
def synth(request: pytest.FixtureRequest) -> Synth:
    """Both configurations, for properties that must hold whatever the context."""
    return request.getfixturevalue(request.param)
