# One entry point for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT := $(or $(strip $(PORT)),5000)
# Runtime libraries and the fonts the charter is designed with.
DEB_RUNTIME := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-inter fonts-ebgaramond fonts-jetbrains-mono fonts-dejavu-core fonts-hosny-amiri fonts-wqy-microhei fonts-freefont-otf
# What creating the virtualenv needs: venv, and a C compiler with Python's headers to build
# durable-rules, published as source only.
DEB_BUILD := python3-venv python3-dev gcc
# What the test suite needs on top: PDF rendering and a browser.
DEB_TEST := poppler-utils qpdf chromium
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck pytest bench serve upgrade system-runtime system-test clean

# Install the Debian packages in $(1) that are not installed yet.
define apt_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-runtime:
	$(call apt_missing,$(DEB_RUNTIME) $(DEB_BUILD))

system-test: system-runtime
	$(call apt_missing,$(DEB_TEST))

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Installs the versions in constraints.txt, so that a fresh clone runs what was tested,
# not whatever a dependency released since.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# Takes the newest releases pyproject.toml allows into constraints.txt; run `make test`
# after it before committing the new versions.
upgrade: | $(BIN)/activate
	rm -rf $(VENV)/upgrade
	$(PYTHON) -m venv $(VENV)/upgrade
	$(VENV)/upgrade/bin/pip install -q --upgrade pip
	$(VENV)/upgrade/bin/pip install -q -e '.[dev]'
	{ echo "# Exact versions the test suite last passed with; \`make upgrade\` refreshes them."; \
	  $(VENV)/upgrade/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(VENV)/upgrade
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(VENV)/.installed

# The laptop run serves plain http, so the session cookie cannot require HTTPS there.
run: system-runtime $(VENV)/.installed
	$(BIN)/assess db upgrade
	PORT=$(PORT) $(BIN)/assess demo
	PORT=$(PORT) SESSION_COOKIE_SECURE=0 $(BIN)/flask --app assess run --host 127.0.0.1 --port $(PORT)

# Production serving: migrations first, then gunicorn with one worker per core unless
# WEB_CONCURRENCY says otherwise; every setting comes from the environment (see README).
# gunicorn reads WEB_CONCURRENCY itself as it loads, before assess.serving can check it: a
# value that is not a number, or a blank one, would end it with a traceback. So the
# settings are checked first, and a blank WEB_CONCURRENCY is left out (the default).
serve: system-runtime $(VENV)/.installed
	$(BIN)/assess db upgrade
	$(BIN)/python -c 'import assess.serving'
	$(if $(strip $(WEB_CONCURRENCY)),,env -u WEB_CONCURRENCY) $(BIN)/gunicorn -c python:assess.serving 'assess:create_app()'

lint: $(VENV)/.installed
	$(BIN)/ruff check assess tests benchmarks
	$(BIN)/ruff format --check assess tests benchmarks

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Database tests run a second time on PostgreSQL; each test process gets its own
# fresh database there, dropped at the end. Tests that always need PostgreSQL (several app
# nodes, concurrent migrations) make their databases on the server TEST_PG_URL names.
# Browser tests run in their own pass: Playwright keeps an event loop running in its
# process, which libraries calling asyncio.run() (pyHanko) cannot share.
pytest: system-test $(VENV)/.installed
	TEST_PG_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist loadgroup -m "not browser"
	TEST_PG_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist loadgroup -m browser
	TEST_PG_URL=$(PG_URL) DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist loadgroup -m "db and not browser"

test: lint typecheck pytest

bench: system-runtime $(VENV)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache tests/artifacts
