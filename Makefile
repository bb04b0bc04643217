# negsim: two commands.
#   make run   - create .venv, install negsim, run the June 20-30 2025 scenario
#   make test  - create .venv, install negsim with test extras, run the tests
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.negsim-installed

.PHONY: run test bench lint clean

run: $(STAMP)
	$(VENV)/bin/negsim run scenarios/june-20-30-2025.toml --resume

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) experiments/bench.py

lint: $(STAMP)
	$(VENV)/bin/ruff check sim tests experiments

$(STAMP): pyproject.toml scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) results build *.egg-info
