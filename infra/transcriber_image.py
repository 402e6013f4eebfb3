"""``transcriber=local``: the container image the transcriber runs from, and the settings its model needs.

The image's file tree is built without Docker by infra/package_image.py (``make package-image``) into
``imageDir`` (.package/image: a Dockerfile, a manifest, and ``task/`` = /var/task). ``cdk synth`` only
stages that directory as an image asset, as it stages the layer's directory; Docker builds the image
(linux/amd64, whatever the deploying machine) and pushes it to the bootstrap's ECR repository at
``cdk deploy``/``cdk-assets publish``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_

from infra.config import ConfigError, StackConfig
from infra.environment import settings_environment
from infra.lambda_packaging import resolve
from infra.package_image import IMAGE_HANDLER, LAMBDA_TASK_ROOT, MANIFEST_FILE, ImageManifest
from vidscribe.contract import RDS_CA_BUNDLE_FILE

RDS_CA_IN_IMAGE = f"{LAMBDA_TASK_ROOT}/{RDS_CA_BUNDLE_FILE}"
# One record at a time per Lambda instance (the batch is processed in order): one CTranslate2 worker,
# with every vCPU as its threads.
WORKERS_PER_INSTANCE = 1


def image_package(config: StackConfig) -> tuple[dict[str, Any], ImageManifest]:
    """The function properties that make the transcriber an image function, and what the image holds."""
    image_dir = resolve(config.image_dir)
    if not (image_dir / "Dockerfile").is_file() or not (image_dir / MANIFEST_FILE).is_file():
        raise ConfigError(
            f"imageDir: {image_dir} holds no image build context. transcriber=local runs from a container "
            "image: build its tree first with `make package-image` (python infra/package_image.py)."
        )
    manifest = ImageManifest.read(image_dir)
    wanted = None if config.whisper_model_dir is None else str(resolve(config.whisper_model_dir))
    if manifest.whisper_model_dir != wanted:
        raise ConfigError(
            f"whisperModelDir is {wanted or 'unset (a named model)'}, but {image_dir} was built with "
            f"{manifest.whisper_model_dir or 'the named model ' + manifest.model}: rebuild it with the same context, "
            "`make package-image CDK_ARGS='-c whisperModelDir=...'`"
        )
    if wanted is None and manifest.model != config.whisper_model:
        raise ConfigError(
            f"whisperModel is {config.whisper_model}, but {image_dir} was built with {manifest.model}: rebuild it "
            f"with the same context, `make package-image CDK_ARGS='-c whisperModel={config.whisper_model}'`"
        )
    code = lambda_.Code.from_asset_image(
        str(image_dir),
        cmd=[IMAGE_HANDLER],  # also the Dockerfile's CMD; here it is visible in the template
        platform=ecr_assets.Platform.LINUX_AMD64,  # x86_64, even when deployed from an ARM machine
        display_name="vidscribe transcriber image",
    )
    return {"runtime": lambda_.Runtime.FROM_IMAGE, "handler": lambda_.Handler.FROM_IMAGE, "code": code}, manifest


def local_backend_environment(config: StackConfig, manifest: ImageManifest) -> dict[str, str]:
    """What the local backend reads: its model, its threads (the vCPUs of the memory setting)."""
    variables = settings_environment(
        transcriber="local",
        whisper_cpu_threads=config.transcriber_cpu_threads,
        whisper_workers=WORKERS_PER_INSTANCE,
        whisper_model=manifest.whisper_model_path or manifest.model,
        # base, joined and checked at build time
        whisper_model_cache=manifest.whisper_model_cache,
    )
    # The model and its tokenizer are in the image: never reach for the Hugging Face Hub.
    variables["HF_HUB_OFFLINE"] = "1"
    return variables
