# Every target installs what it needs; all are safe to rerun.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
export FLASK_APP := wsgi
PORT ?= 5000
# Test processes (pytest-xdist; each test file stays in one process: its module fixtures,
# live servers and browser journeys run in order). TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2

.PHONY: install run test lint format translations extract-messages chromium clean bench audit security quickstart

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Running needs only the runtime dependencies; the test target adds the test extras
# (Playwright, schemathesis, hypothesis, bandit, ruff), which `make run` never waits for.
$(RUN_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(RUN_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d app/translations

## run: the portal with demo data on SQLite at http://127.0.0.1:5000
run: $(RUN_STAMP) translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## test: the whole suite (bandit, then SQLite, PostgreSQL from TEST_DATABASE_URL, Chromium)
test: install chromium security
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## security: bandit over the application code and its data generators (settings in pyproject.toml)
security: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r app demo bench/seed.py bench/campaign.py bench/cli.py \
	  config.py wsgi.py

## bench: CPU per request (÷ hello's, measured alongside), requests/s and latency under
## gunicorn + wrk at 1,000 and 100,000 owners (PostgreSQL when DATABASE_URL is set, SQLite
## otherwise); results in bench/results/. Quick: BENCH_SCALES=1000 BENCH_SECONDS=5
## BENCH_SKIP_REPORTS=1 BENCH_RESULTS=/tmp/bench make bench
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing: sudo apt-get install wrk"; exit 1; fi; }
	$(BIN)/python -m bench.run

## quickstart: seconds from git clone to make run's first page (bench/results/quickstart.json)
quickstart: $(RUN_STAMP)
	$(BIN)/python -m bench.quickstart

## audit: Lighthouse mobile scores of the owner and gate pages (lighthouse@12 from npm)
audit: install chromium
	$(BIN)/python -m audit.run

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install chromium (browser tests will be skipped)"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## extract-messages: refresh the message catalogue after changing user-visible strings
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _nl:1,2 -k lazy_ngettext:1,2 -o app/translations/messages.pot .
	$(BIN)/pybabel update -N -i app/translations/messages.pot -d app/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
