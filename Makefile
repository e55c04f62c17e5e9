# ccch — the two set-up commands (see README.md):
#   make run    install into .venv and serve the Đức Thọ 2024 example (SQLite) on http://127.0.0.1:8000/
#   make test   install into .venv and run the whole test suite
# Also: make status (the plan's status in the terminal), make guide-images (the guides' pictures),
# make clean.
PYTHON ?= python3
VENV ?= .venv
INSTANCE ?= instance
# Plugins the demo deployment enables (those installed from plugins/).
DEMO_PLUGINS ?= $(filter export survey contest feedback initiatives reminders,$(notdir $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml examples/reminders/pyproject.toml))))
HOST ?= 127.0.0.1
PORT ?= 8000
EXAMPLE := examples/duc-tho-2024
# The example contest's slug (examples/duc-tho-2024/contest.toml).
CONTEST := tim-hieu-cchc-2024
# The example call for initiatives (examples/duc-tho-2024/initiatives.toml).
INITIATIVES := sang-kien-cchc-2024
BIN := $(VENV)/bin
# Every plugin in this repository is its own distribution with its own pyproject.toml.
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml) $(wildcard examples/*/pyproject.toml))

.PHONY: install run status test clean guide-images

$(BIN)/.installed: pyproject.toml $(foreach d,$(PLUGIN_DIRS),$(d)/pyproject.toml)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ccch needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' $(foreach d,$(PLUGIN_DIRS),-e './$(d)[test]')
	touch $@

install: $(BIN)/.installed

# A deployment folder under instance/ with the example plan, its demo data (and, with the survey
# plugin, the SIPAS survey on a poster at every one-stop desk: open /k/<code> as a citizen would;
# with the contest plugin, the example contest loaded as a trial whose first round is open now, its
# questions, and a contest manager), and demo accounts whose passwords are printed once, here.
# Created once; `make clean` starts over.
$(INSTANCE)/ccch.toml: | $(BIN)/.installed
	$(BIN)/ccch init $(INSTANCE) --plan $(EXAMPLE)/plan.toml --public-base-url http://$(HOST):$(PORT) $(foreach p,$(DEMO_PLUGINS),--plugin $(p))
	$(BIN)/ccch --config $@ measure import $(EXAMPLE)/demo/measurements-2024-q1.csv
	$(BIN)/ccch --config $@ report-activity --from-csv $(EXAMPLE)/demo/activity-2024-03.csv
	$(BIN)/ccch --config $@ local-plans demo
	$(BIN)/ccch --config $@ plan add examples/duc-tho-2025/plan.toml
	$(BIN)/ccch --config $@ local-plans demo --plan duc-tho-2025
	$(if $(filter survey,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ survey load --template sipas)
	$(if $(filter survey,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ survey place-kind sipas one_stop_desk --place "Quầy tiếp nhận hồ sơ")
	$(if $(filter contest,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ contest load $(EXAMPLE)/contest.toml --trial)
	$(if $(filter contest,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ contest questions import $(CONTEST) $(EXAMPLE)/questions.csv)
	$(if $(filter contest,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ contest publish $(CONTEST))
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ initiatives load $(EXAMPLE)/initiatives.toml --trial)
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ initiatives entries load $(INITIATIVES) $(EXAMPLE)/initiatives-entries.toml)
	$(if $(filter feedback,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ feedback demo)
	$(if $(filter feedback,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ feedback place trung-tam-hcc --place "Quầy tiếp nhận hồ sơ")
	@echo "== Demo accounts (passwords are shown only now) =="
	$(BIN)/ccch --config $@ users add admin --role plan_admin --name "Quản trị kế hoạch (demo)" --generate-password
	$(BIN)/ccch --config $@ users add canbo.andung --role unit_officer --unit xa-an-dung --name "Cán bộ xã An Dũng (demo)" --generate-password
	$(if $(filter contest,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ users add noivu --role contest_manager --name "Cán bộ Phòng Nội vụ phụ trách cuộc thi (demo)" --generate-password)
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ users add thuky --role viewer --name "Thư ký hội đồng chấm sáng kiến (demo)" --generate-password)
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ initiatives panel add $(INITIATIVES) thuky --role secretary)
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(foreach j,phong-tckh trung-tam-hcc vp-hdnd-ubnd,$(BIN)/ccch --config $@ users add giamkhao.$(j) --role viewer --name "Giám khảo (demo)" --generate-password && $(BIN)/ccch --config $@ initiatives panel add $(INITIATIVES) giamkhao.$(j) --role judge --unit $(j) &&) true)
	$(if $(filter initiatives,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ initiatives assign $(INITIATIVES))
	$(if $(filter feedback,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ users add tuphap --role unit_officer --unit phong-tu-phap --name "Cán bộ Phòng Tư pháp trả lời phản ánh (demo)" --generate-password)
	$(if $(filter feedback,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ users add lanhdao.tuphap --role unit_officer --unit phong-tu-phap --name "Lãnh đạo Phòng Tư pháp (demo)" --generate-password)
	$(if $(filter feedback,$(DEMO_PLUGINS)),$(BIN)/ccch --config $@ feedback leader add lanhdao.tuphap)

run: install $(INSTANCE)/ccch.toml
	@echo "Open http://$(HOST):$(PORT)/ and sign in as admin (password printed when instance/ was created;"
	@echo "forgot it? $(BIN)/ccch --config $(INSTANCE)/ccch.toml users passwd admin --generate-password)"
	@echo "Commune plans under the district's: http://$(HOST):$(PORT)/ke-hoach-xa (admin); canbo.andung sees An Dũng's"
	@echo "The 2025 plan beside 2024's: http://$(HOST):$(PORT)/ke-hoach-xa?plan=duc-tho-2025"
	$(if $(filter contest,$(DEMO_PLUGINS)),@echo "Contest: http://$(HOST):$(PORT)/cuoc-thi/$(CONTEST) (participants); sign in as noivu for /cuoc-thi/quan-ly")
	$(if $(filter initiatives,$(DEMO_PLUGINS)),@echo "Initiatives: http://$(HOST):$(PORT)/sang-kien/$(INITIATIVES) (authors); sign in as thuky (secretary) or giamkhao.phong-tckh (judge) for /sang-kien/hoi-dong")
	$(if $(filter feedback,$(DEMO_PLUGINS)),@echo "Hỏi đáp: http://$(HOST):$(PORT)/hoi-dap/ (citizens); admin triages at /phan-anh; tuphap drafts; lanhdao.tuphap approves")
	$(BIN)/ccch --config $(INSTANCE)/ccch.toml serve --host $(HOST) --port $(PORT) --access-log

status: install $(INSTANCE)/ccch.toml
	$(BIN)/ccch --config $(INSTANCE)/ccch.toml status --period 2024-03

# Lint first (seconds; configuration in pyproject.toml [tool.ruff]), then the suite.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The Vietnamese guides' pictures (docs/images/, the list is PICTURES in the test): the journeys the
# guides describe, walked in Chromium by tests/e2e/test_guide_screenshots.py. `make test` walks them
# too but writes into build/; this target retakes the committed ones. Look at them before committing.
guide-images: install
	CCCH_GUIDE_IMAGES=docs/images $(BIN)/python -m pytest tests/e2e/test_guide_screenshots.py -q

clean:
	rm -rf $(VENV) $(INSTANCE) .pytest_cache
