# mailflow-lab: set-up and checks. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab reset-course test lint unit notebooks venv clean clients

# The learner's working copy of the notebooks (ignored by git): learning never changes notebooks/.
COURSE := my-course
# JupyterLab refuses to run as root unless told (a container, a lab VM): tell it then.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lab: venv $(COURSE)
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(COURSE)/00-start-here.ipynb

# Made once, from notebooks/; `make reset-course` makes it again.
$(COURSE):
	mkdir -p $(COURSE).tmp && cp notebooks/*.ipynb notebooks/README.md $(COURSE).tmp/ && mv $(COURSE).tmp $(COURSE)

# A fresh copy of the course; the old one is moved aside (my-course.bak-<time>), never deleted.
reset-course:
	@if [ -d $(COURSE) ]; then \
		backup=$(COURSE).bak-$$(date +%Y%m%d-%H%M%S); while [ -e $$backup ]; do backup=$$backup-1; done; \
		mv $(COURSE) $$backup; \
		echo "Your previous copy is in $$backup/"; \
	fi
	@$(MAKE) --no-print-directory $(COURSE)

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
	@python3 .ci/install-clients --check || true  # silent when every client is here

# The real clients and peers the tests drive (.ci/clients.toml): apt-get (as root) and npm (into .ci/node).
clients:
	python3 .ci/install-clients

# The README's real-client table (tests/clients, issue 21): run the client tests (the README check left out:
# it compares the table about to be rewritten), then write the rows they recorded, from
# test-output/client-matrix.json, between the client-matrix markers of README.md. Needs `make clients`;
# refuses a run where a client test was skipped.
.PHONY: client-matrix
client-matrix: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/clients \
		--deselect tests/clients/test_client_matrix.py::test_readme_holds_this_runs_matrix
	$(BIN)/python tests/clients/matrix_table.py --update README.md

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
	$(BIN)/python -m bench.tenant_scale --mailboxes 20000 --out bench/tenant_scale.json

clean:
	rm -rf $(VENV) .pytest_cache build dist
