# vidscribe — the two commands: `make demo` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

.PHONY: install demo test test-unit test-integration test-infra lint bench samples clean

# The virtual environment, rebuilt when the requirements change.
$(VENV)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit("vidscribe needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

install: $(VENV)/.installed

demo: install  ## transcribe the bundled sample videos on the embedded default
	$(VENV)/bin/vidscribe demo

test: install  ## the whole suite: unit, integration (real Postgres, SQS endpoint, HTTP media, model) and infra
	$(PY) -m pytest

lint: install  ## mypy (shared/, functions/, infra/; settings in pyproject.toml) and ruff
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check .

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-infra: install
	$(PY) -m pytest tests/infra

bench: install  ## every benchmark under bench/, each printing its figures
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

samples:  ## regenerate the bundled sample clips (needs espeak-ng)
	$(PY) scripts/make_samples.py

clean:
	rm -rf $(VENV) .vidscribe cdk.out .package .pytest_cache infra/node_modules

-include mk/infra.mk
