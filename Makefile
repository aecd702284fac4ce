# The two commands a newcomer needs: `make audit` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEMO    ?= workspace/demo
OUT     ?= reports
SUBJECTS ?= 2000
SEED    ?= 42

.PHONY: audit test lab bench install clean-demo system-deps

# requirements.lock pins every package to the version tested (docs/reproduce.md says how it is made);
# pyproject.toml keeps the ranges for those who use datamap as a library.
$(BIN)/datamap: pyproject.toml requirements.lock
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "datamap needs Python 3.11 or newer")'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	@touch $(BIN)/datamap

install: $(BIN)/datamap

$(DEMO)/policy.yml: | $(BIN)/datamap
	$(BIN)/datamap demo --out $(DEMO) --subjects $(SUBJECTS) --seed $(SEED)

## make audit: set up, generate the demo workspace, run everything, say where the results are
# Exit code 1 means "the audit found something", which is the demo's point: not a failed make.
# The PDF of the report needs headless Chromium: installed from the distribution when make runs as
# root with apt-get (as make test does), else make says why there is no PDF and how to get one.
audit: $(BIN)/datamap $(DEMO)/policy.yml
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
	    && ! command -v google-chrome >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make audit: installing Chromium from the distribution's packages, to print the audit report as PDF"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
	      >/dev/null 2>&1 || echo "make audit: Chromium could not be installed (apt-get failed): the report will be HTML only, no PDF"; \
	  else \
	    echo "make audit: Chromium is not installed, so the audit report will be HTML only, no PDF;" \
	         "install it (sudo apt-get install chromium) and run make audit again for the PDF"; \
	  fi; \
	fi
	@$(BIN)/datamap all $(DEMO) --out $(OUT); rc=$$?; \
	  if [ $$rc -eq 1 ]; then echo "The audit found violations (exit code 1): see the paths above."; exit 0; fi; exit $$rc

## make test: the whole suite (installs PostgreSQL and Chromium from the distribution when missing)
test: $(BIN)/datamap system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

system-deps:
	@bash .ci/system-deps

## make lab: JupyterLab on the notebooks, with the demo workspace ready (its settings: .jupyter/, root included)
lab: $(BIN)/datamap $(DEMO)/policy.yml
	JUPYTER_CONFIG_PATH=$(CURDIR)/.jupyter DATAMAP_WORKSPACE=$(abspath $(DEMO)) $(BIN)/jupyter lab

## make bench: time and peak memory per phase at 10k, 100k and 1M subjects
bench: $(BIN)/datamap system-deps
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean-demo:
	rm -rf $(DEMO)
