# ccch — the two set-up commands (see README.md):
#   make run    install into .venv and run the Đức Thọ 2024 example on SQLite
#   make test   install into .venv and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
INSTANCE ?= instance
EXAMPLE := examples/duc-tho-2024
BIN := $(VENV)/bin
# Every plugin in this repository is its own distribution with its own pyproject.toml.
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml) $(wildcard examples/*/pyproject.toml))

.PHONY: install run test clean

$(BIN)/.installed: pyproject.toml $(foreach d,$(PLUGIN_DIRS),$(d)/pyproject.toml)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ccch needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' $(foreach d,$(PLUGIN_DIRS),-e ./$(d))
	touch $@

install: $(BIN)/.installed

# A deployment folder under instance/ with the example plan and its demo data, created once.
$(INSTANCE)/ccch.toml: | $(BIN)/.installed
	$(BIN)/ccch init $(INSTANCE) --plan $(EXAMPLE)/plan.toml
	$(BIN)/ccch --config $@ measure import $(EXAMPLE)/demo/measurements-2024-q1.csv
	$(BIN)/ccch --config $@ report-activity --from-csv $(EXAMPLE)/demo/activity-2024-03.csv

run: install $(INSTANCE)/ccch.toml
	$(BIN)/ccch --config $(INSTANCE)/ccch.toml status --period 2024-03

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(INSTANCE) .pytest_cache
