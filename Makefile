# The two commands of the README. Each creates .venv and installs what it needs: `make demo`
# syncwell with its runtime dependencies only (about 140 MB), `make test` the dev tools too
# (about 480 MB: Playwright, mypy, ruff, hypothesis...). Both install with uv, put into the
# venv from PyPI, several times faster than pip (docs/benchmarks.md, "Installing"); pip
# does it when uv cannot (uv reads neither pip.conf nor PIP_INDEX_URL), or with
# `make INSTALLER=pip demo`. Both show their progress.
PY ?= python3
INSTALLER ?= uv
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed
DEV := $(VENV)/.installed-dev

# Install $(1), in pip's requirement syntax, into the venv: uv if it is there and succeeds,
# else pip, which reads the machine's own index settings. uv compiles the bytecode as pip
# does: the demo's first start then waits 22-26 s after `make demo` began, not 31-38.
install = if test $(INSTALLER) = uv && $(BIN)/uv --version >/dev/null 2>&1; then \
	  $(BIN)/uv pip install --compile-bytecode --python $(BIN)/python $(1) \
	  || { echo "uv failed: installing with pip instead"; $(BIN)/pip install $(1); }; \
	else $(BIN)/pip install $(1); fi

.PHONY: demo test lint screenshots bench bench-webhooks bench-rate-limit bench-constraint bench-cdc clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	@# pip as python ships it resolves the dev tools in 58 s, the newest in 14 (benchmarks.md).
	if test $(INSTALLER) = uv && $(BIN)/pip install 'uv>=0.5'; then :; else \
	  echo "installing with pip (slower than uv)"; $(BIN)/pip install --upgrade pip; fi

$(RUNTIME): pyproject.toml | $(BIN)/python
	@echo "installing syncwell and its runtime dependencies into $(VENV)"
	@$(call install,-e .)
	touch $@

$(DEV): $(RUNTIME)
	@echo "installing the dev tools (tests, lint, types, browser tests) into $(VENV)"
	@$(call install,-e '.[dev]')
	touch $@

demo: $(RUNTIME)
	$(BIN)/syncwell demo

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

screenshots: $(DEV)  # the README's dashboard pictures, from the end-to-end browser tests
	SYNCWELL_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/api/test_browser.py

bench: $(DEV)
	$(BIN)/python bench/pg_to_pg.py

bench-webhooks: $(DEV)  # needs wrk: apt-get install -y wrk
	$(BIN)/python bench/webhook_intake.py

bench-rate-limit: $(DEV)
	$(BIN)/python bench/rate_limited_sync.py

bench-constraint: $(DEV)  # about 10 minutes: 2 to write 30 days of measurements, 8 of analyses
	$(BIN)/python bench/constraint_analysis.py

bench-cdc: $(DEV)  # about 6 minutes: cdc and poll at 1,000 and 5,000 changes a second
	$(BIN)/python bench/cdc_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
