# The two commands a newcomer needs: `make audit` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEMO    ?= workspace/demo
OUT     ?= reports
SUBJECTS ?= 2000
SEED    ?= 42

.PHONY: audit test lab bench install clean-demo system-deps

$(BIN)/datamap: pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "datamap needs Python 3.11 or newer")'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(BIN)/datamap

install: $(BIN)/datamap

$(DEMO)/policy.yml: | $(BIN)/datamap
	$(BIN)/datamap demo --out $(DEMO) --subjects $(SUBJECTS) --seed $(SEED)

## make audit: set up, generate the demo workspace, run everything, say where the results are
# Exit code 1 means "the audit found something", which is the demo's point: not a failed make.
audit: $(BIN)/datamap $(DEMO)/policy.yml
	@$(BIN)/datamap all $(DEMO) --out $(OUT); rc=$$?; \
	  if [ $$rc -eq 1 ]; then echo "The audit found violations (exit code 1): see the paths above."; exit 0; fi; exit $$rc

## make test: the whole suite (installs PostgreSQL and Chromium from the distribution when missing)
test: $(BIN)/datamap system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

system-deps:
	@bash .ci/system-deps

## make lab: JupyterLab on the notebooks, with the demo workspace ready
lab: $(BIN)/datamap $(DEMO)/policy.yml
	DATAMAP_WORKSPACE=$(abspath $(DEMO)) $(BIN)/jupyter lab notebooks/

## make bench: time and peak memory per phase at 10k, 100k and 1M subjects
bench: $(BIN)/datamap system-deps
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean-demo:
	rm -rf $(DEMO)
