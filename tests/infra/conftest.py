"""Synthesize the stack once per configuration for the whole session (``import aws_cdk`` alone takes
seconds, a synth several more): every infra test reads the same few templates.

* ``default`` - cdk.json's context as shipped (what ``cdk deploy`` produces with no options).
* ``custom``  - the other branches: existing secret ARNs, a VPC, an alarm e-mail, a disabled cron
               schedule, more workers, other sizes. Values are strings, as ``-c key=value`` passes them.
* ``network`` - production networking: the stack's own security group, VPC endpoints, a NAT gateway,
               IAM authentication through an RDS Proxy, 200 workers.
* ``local``   - transcriber=local: the transcriber is a container-image function, 8 workers.
* ``hints``   - language, task and keywords for the transcriber.

Each synth runs with cdk-nag registered exactly as ``infra/app.py`` does, so its validation report is
checked from the same synthesis. The dependencies layer and the image's build context are replaced by
tiny stand-in folders: the stack only needs them to exist (and the image's manifest to match), and the
real ones are built by ``make package`` and ``make package-image``.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path

import pytest

from tests.infra.helpers import (
    CUSTOM_CONTEXT,
    HINTS_CONTEXT,
    LOCAL_CONTEXT,
    NETWORK_CONTEXT,
    Synth,
    make_stand_in_image,
    synthesize,
)


@pytest.fixture(scope="session")
def stand_in_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("layer")
    (path / "python" / "vidscribe").mkdir(parents=True)
    (path / "python" / "vidscribe" / "__init__.py").write_text("# stand-in for the layer `make package` builds\n")
    return path


@pytest.fixture(scope="session")
def stand_in_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_stand_in_image(tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-default"), stand_in_layer, {})


@pytest.fixture(scope="session")
def custom(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-custom"), stand_in_layer, CUSTOM_CONTEXT)


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-network"), stand_in_layer, NETWORK_CONTEXT)


@pytest.fixture(scope="session")
def hints(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path) -> Synth:
    """What the transcriber is told to expect: a language, the task, keywords."""
    return synthesize(tmp_path_factory.mktemp("cdk-hints"), stand_in_layer, HINTS_CONTEXT)


@pytest.fixture(scope="session", params=["default", "custom"])
def synth(request: pytest.FixtureRequest) -> Synth:
    """Both configurations, for properties that must hold whatever the context."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory, stand_in_layer: Path, stand_in_image: Path) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-local"), stand_in_layer,
                      {**LOCAL_CONTEXT, "imageDir": str(stand_in_image)})
