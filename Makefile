# Two commands do all set-up: `make demo` and `make test`. Both create .venv if it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FLOWER_STAMP := $(VENV)/.installed-flower

.PHONY: demo examples test lint format bench audit clean-venv

# The runtime, the tests' and lint's tools, and the repository itself as the package `fedprivacy` (editable, so
# the checkout is what runs; pyproject.toml).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The Flower extra (flwr + Ray, ~40 s): the tests need it, the demo does not.
$(FLOWER_STAMP): $(STAMP) requirements-flower.txt
	$(PY) -m pip install --quiet -r requirements-flower.txt
	touch $(FLOWER_STAMP)

# The demo: DLG and iDLG on 2 embedded CIFAR-10 images each, one thread (LeNet is fastest that way, and the numbers
# then do not depend on the core count). Its outputs go to images/, which git ignores; `make examples` writes the
# committed copies in images/examples/ (the demo's and the default main_fed run's), and tests/test_examples.py fails
# when they drift from what the code writes. It first prints how long it should take, from the seconds those
# committed examples measured; each attack then prints its own cost estimate before it starts.
DEMO_OUT ?= images
demo: $(STAMP)
	@$(PY) -m fedprivacy.cli.expected images/examples/dlg_2n_*.json images/examples/idlg_2n_*.json
	OMP_NUM_THREADS=1 $(PY) main_grad.py --attack dlg --num_exp 2 --dlg.restarts 3 --overwrite --out_dir $(DEMO_OUT)
	OMP_NUM_THREADS=1 $(PY) main_grad.py --attack idlg --num_exp 2 --idlg.restarts 3 --overwrite --out_dir $(DEMO_OUT)

examples: $(STAMP)
	$(MAKE) demo DEMO_OUT=images/examples
	OMP_NUM_THREADS=1 $(PY) main_fed.py --overwrite --out_dir images/examples

test: $(STAMP) $(FLOWER_STAMP)
	$(PY) -m pytest -q -n 2 tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Without CASES or ALL=1 it lists the cases with their recorded minutes (hours in all) and runs nothing.
bench: $(STAMP)
	$(PY) -m benchmarks.run $(if $(ALL),--all) $(CASES)

audit: $(STAMP)
	PYTHON=$(PY) bash experiments/audit.sh

clean-venv:
	rm -rf $(VENV)
