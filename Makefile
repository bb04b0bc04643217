# negsim: two commands.
#   make run   - create .venv, install negsim, run the June 20-30 2025 scenario
#   make test  - create .venv, install negsim with its test tools, run the tests
VENV    := .venv
PY      := $(VENV)/bin/python
RUN_OUT := results/june-20-30-2025

.PHONY: run test bench lint clean

run: $(VENV)/.installed-run
	$(VENV)/bin/negsim run scenarios/june-20-30-2025.toml --out $(RUN_OUT) --resume

# on every core (pytest-xdist), each test file on one worker so its fixtures are made once
test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n auto --dist loadfile --durations=30

bench: $(VENV)/.installed-run
	$(PY) experiments/bench.py

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check sim tests experiments

$(VENV)/.created: scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

# the main job needs negsim alone; the tests add pytest, Dask, the dashboard, Playwright
$(VENV)/.installed-run: pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) results build *.egg-info
