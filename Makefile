# The two commands of the README. Each creates .venv and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint screenshots bench bench-webhooks bench-rate-limit bench-constraint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncwell demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

screenshots: $(STAMP)  # the README's dashboard pictures, from the end-to-end browser tests
	SYNCWELL_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/api/test_browser.py

bench: $(STAMP)
	$(BIN)/python bench/pg_to_pg.py

bench-webhooks: $(STAMP)  # needs wrk: apt-get install -y wrk
	$(BIN)/python bench/webhook_intake.py

bench-rate-limit: $(STAMP)
	$(BIN)/python bench/rate_limited_sync.py

bench-constraint: $(STAMP)  # about 10 minutes: 2 to write 30 days of measurements, 8 of analyses
	$(BIN)/python bench/constraint_analysis.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
