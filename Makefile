# edgeport: `make run` runs the whole pipeline, `make test` the test suite.
# Both first run an idempotent set-up: a virtual environment with the project and
# every extra installed against constraints.txt, and the Fashion-MNIST dataset.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EDGEPORT := $(VENV)/bin/edgeport
BUDGET ?= 0.5
STAMP := $(VENV)/.edgeport-installed
DATASET_DIR ?= /usr/share/datasets/fashion-mnist
ARTIFACTS ?= artifacts

export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup dataset run train export report bench test clean

setup: $(STAMP) dataset

# Reinstalls only when the declared dependencies or their pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[train,export,scale,dev]'
	touch $(STAMP)

dataset:
	@if [ -n "$$FASHION_MNIST_DIR" ] && [ -f "$$FASHION_MNIST_DIR/t10k-images-idx3-ubyte.gz" ]; then \
		exit 0; \
	elif [ -f "$(DATASET_DIR)/t10k-images-idx3-ubyte.gz" ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing the Fashion-MNIST dataset (Debian package dataset-fashion-mnist)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist'," >&2; \
		echo "or set FASHION_MNIST_DIR to a folder holding the four *-ubyte.gz files." >&2; \
		exit 1; \
	fi

run: setup
	$(EDGEPORT) train --out $(ARTIFACTS)
	$(EDGEPORT) export $(ARTIFACTS)/model.keras --out $(ARTIFACTS) --budget $(BUDGET) --mobile
	$(EDGEPORT) report $(ARTIFACTS) --budget $(BUDGET)

train: setup
	$(EDGEPORT) train --out $(ARTIFACTS)

export: setup
	$(EDGEPORT) export $(ARTIFACTS)/model.keras --out $(ARTIFACTS) --budget $(BUDGET) --mobile

report: setup
	$(EDGEPORT) report $(ARTIFACTS) --budget $(BUDGET)

bench: setup
	$(PY) benchmarks/bench_formats.py $(ARTIFACTS)
	$(PY) benchmarks/bench_runtime.py $(ARTIFACTS)
	$(PY) benchmarks/bench_ladder.py $(ARTIFACTS)/model.keras

test: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
	find $(ARTIFACTS) -mindepth 1 ! -name README.md -delete
