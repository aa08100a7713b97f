# Two entry points (see README): `make demo` lets the shipped mini models speak and scores them (a few minutes),
# `make test` runs the test suite; `make demo-train` runs the mini recipe from scratch instead (training included).
# All create .venv through tools/install.sh on first use; later runs skip the install.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo demo-train test clean-demo

install:
	@VENV=$(VENV) bash tools/install.sh

demo: install
	cd egs/mini/tts1 && ./local/demo.sh

demo-train: install
	cd egs/mini/tts1 && ./run.sh

test: install
	@bash tools/install_system.sh
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest tests $(PYTEST_ARGS)

clean-demo:
	cd egs/mini/tts1 && rm -rf data dump exp
