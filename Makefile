# mailflow-lab: set-up and checks. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint unit notebooks venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lab: venv
	$(BIN)/jupyter lab notebooks/00-start-here.ipynb

lint: venv
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest

# Every notebook top to bottom on a fresh kernel, twice: exercises run with their solutions (every check
# must pass), then as a learner first meets them, left as `...` (no cell may fail).
notebooks: venv
	MAILFLOW_LAB_SOLUTIONS=1 MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/
	MAILFLOW_LAB_SOLUTIONS=0 MAILFLOW_LAB_PROGRESS=$(CURDIR)/.venv/learner-progress.json MPLBACKEND=Agg \
		$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/

test: lint unit notebooks

# The lab next to its building blocks (bare aiosmtpd, Postfix's smtp-sink when installed), measured
# side by side on loopback: prints a table and writes bench/results.json. About four minutes.
# Ten minutes of mixed hostile and normal traffic against `mailflow-lab serve` (issue 18): every 250'd
# message on disk, nothing forged, no internal error, RSS sampled. Writes bench/soak.json.
.PHONY: soak
soak: venv
	$(BIN)/python -m bench.soak --seconds 600 --out bench/soak.json

.PHONY: bench
bench: venv
	$(BIN)/python -m bench.run --out bench/results.json

clean:
	rm -rf $(VENV) .pytest_cache build dist
