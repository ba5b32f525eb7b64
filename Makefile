# Two entry points for a fresh machine with Python 3.11 and make:
#   make zoo   - set up .venv if needed, run the default zoo profile, write reports/
#   make test  - set up .venv if needed, run the project's own tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= default
# Extra pytest arguments, e.g. make zoo ZOO_ARGS="--zoo-models 'resnet*' -n 2"
ZOO_ARGS ?=

.PHONY: zoo test lint clean-cache

# onnx2tf goes in with --no-deps: it pins old versions of everything (requirements/onnx2tf.txt says why).
$(STAMP): pyproject.toml requirements/onnx2tf.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[cpu,dev]'
	$(BIN)/pip install --quiet --no-deps -r requirements/onnx2tf.txt
	touch $(STAMP)

# suite.cli.run_profile runs the correctness paths on every core, then latency alone, as one run
# (one folder, one report). pytest exits 1 when some cases fail: that is the report's news, not
# a broken run. Any other non-zero exit (usage error, internal error, interrupted, and 6: the
# diff against --zoo-baseline found a regression) fails make.
zoo: $(STAMP)
	$(BIN)/python -m suite.cli.run_profile suite/matrix --zoo-profile $(PROFILE) -v $(ZOO_ARGS) || [ $$? -eq 1 ]

test: $(STAMP)
	$(BIN)/python -m pytest tests -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

clean-cache:
	rm -rf reports/cache
