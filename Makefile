# vidscribe — the two commands: `make demo` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

.PHONY: install browser demo test test-unit test-integration test-infra lint bench samples screenshot clean

# The virtual environment, rebuilt when the requirements change.
$(VENV)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit("vidscribe needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

install: $(VENV)/.installed

# The web page's browser tests drive Debian's headless Chromium through its chromedriver (Selenium);
# nothing downloads a browser. Installed once (apt-get, as root or through sudo); a no-op after.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
		echo "installing Debian's chromium and chromium-driver for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

demo: install  ## transcribe the bundled sample videos on the embedded default
	$(VENV)/bin/vidscribe demo
	@echo
	@echo "See them in a browser (the samples served again, the page on this machine only):"
	@echo "  $(VENV)/bin/vidscribe serve --samples"
	@echo "then open http://127.0.0.1:8000/"

test: install browser  ## the whole suite: unit, integration (real Postgres, SQS endpoint, HTTP media, model, a browser) and infra
	$(PY) -m pytest

lint: install  ## mypy (shared/, functions/, infra/; settings in pyproject.toml) and ruff
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check .

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install browser
	$(PY) -m pytest tests/integration

screenshot: install browser  ## docs/video-page.png, the README's picture, as the browser test takes it
	VIDSCRIBE_SCREENSHOT=$(CURDIR)/docs/video-page.png $(PY) -m pytest -q tests/integration/test_web_browser.py -k screenshot

test-infra: install
	$(PY) -m pytest tests/infra

bench: install  ## every benchmark under bench/, each printing its figures
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

samples:  ## regenerate the bundled sample clips (needs espeak-ng)
	$(PY) scripts/make_samples.py

clean:
	rm -rf $(VENV) .vidscribe cdk.out .package .pytest_cache infra/node_modules

-include mk/infra.mk
