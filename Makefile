# edgeport: `make run` runs the whole pipeline, `make test` the test suite.
# Both first run an idempotent set-up: a virtual environment with the project and
# every extra installed against constraints.txt, the Fashion-MNIST dataset, and
# onnxruntime-web's engine files for `edgeport web` (from npm). `make test` also
# installs Debian's chromium, which the browser tests drive through Playwright, and the compilers and
# emulator that build and run a firmware kit (g++, gcc-arm-none-eabi with newlib and the C++ headers,
# qemu-system-arm).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EDGEPORT := $(VENV)/bin/edgeport
BUDGET ?= 0.5
STAMP := $(VENV)/.edgeport-installed
UV_VERSION := 0.13.9
DATASET_DIR ?= /usr/share/datasets/fashion-mnist
ARTIFACTS ?= artifacts
# onnxruntime-web: the npm tarball is checked against this sha256, and three files of its
# dist/ folder (plus package.json, which names the version) are copied beside the page's code.
ORT_WEB_VERSION := 1.30.0
ORT_WEB_SHA256 := d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71
ORT_WEB_DIR := edgeport/webpage/ort
ORT_WEB_STAMP := $(ORT_WEB_DIR)/.onnxruntime-web-$(ORT_WEB_VERSION)
ORT_WEB_FILES := ort.wasm.min.js ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm
CHROMIUM ?= /usr/bin/chromium
# The suite runs on this many workers, each taking whole test files (a module's fixtures are built once); the
# seed model is trained once per run and shared. More workers than cores measured no faster (220 s with 3
# against 211 s with 2).
TEST_WORKERS ?= 2

export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup dataset browser packages run train export report web bench test clean

setup: $(STAMP) dataset $(ORT_WEB_STAMP)

# Reinstalls only when the declared dependencies or their pins change. uv installs the same
# pinned versions as pip, downloading and unpacking in parallel: 26 s here against pip's 65 s.
# The virtual environment starts without pip (ensurepip took 3.9 s; uv installs the pinned pip that
# the wheel test runs in 0.3 s), and uv comes from the system's pip, or from ensurepip's where there is none.
# The bytecode is compiled here (PYTHONDONTWRITEBYTECODE is set on these machines, so nothing else would
# write it, and every test process would pay for it), leaving out what no command or test imports
# (NO_BYTECODE: test suites, Ray's training and serving libraries, SymPy's physics...): 19.7 s against 24.3 s.
empty :=
space := $(empty) $(empty)
NO_BYTECODE := /(tests?|testing)/|/ray/(rllib|train|tune|llm|serve)/|/onnx/(reference|backend)/|\
	/sympy/(physics|stats|codegen|vector|parsing|liealgebras|combinatorics)/|\
	/(dns|fontTools|markdown_it|pasta|fsspec|asn1crypto|tzdata)/|/numpy/(distutils|f2py)/|\
	/keras/src/backend/(torch|jax|openvino)/|/onnxruntime/transformers/models/|/ai_edge_litert/aot/
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(PY) install --quiet uv==$(UV_VERSION) 2>/dev/null || \
		{ $(PY) -m ensurepip --default-pip >/dev/null && $(PY) -m pip install --quiet uv==$(UV_VERSION); }
	$(VENV)/bin/uv pip install --quiet --python $(PY) -c constraints.txt -e '.[train,export,scale,sign,npu,web,dev]'
	$(PY) -m compileall -q -j0 -x '$(subst $(space),,$(NO_BYTECODE))' $(VENV)/lib/python*/site-packages >/dev/null
	touch $(STAMP)

dataset:
	$(call apt_install,$(WANT_DATASET))

# The npm package is fetched into a scratch folder and only the engine files are kept.
$(ORT_WEB_STAMP):
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (Debian: apt-get install npm)," \
		"or set EDGEPORT_ORT_WEB to onnxruntime-web $(ORT_WEB_VERSION)'s dist folder" >&2; exit 1; }
	rm -rf $(ORT_WEB_DIR) $(ORT_WEB_DIR).npm && mkdir -p $(ORT_WEB_DIR).npm
	cd $(ORT_WEB_DIR).npm && npm pack --silent onnxruntime-web@$(ORT_WEB_VERSION) >/dev/null
	echo "$(ORT_WEB_SHA256)  $(ORT_WEB_DIR).npm/onnxruntime-web-$(ORT_WEB_VERSION).tgz" | sha256sum --check --quiet
	tar -xzf $(ORT_WEB_DIR).npm/onnxruntime-web-$(ORT_WEB_VERSION).tgz -C $(ORT_WEB_DIR).npm \
		package/package.json $(addprefix package/dist/,$(ORT_WEB_FILES))
	mkdir -p $(ORT_WEB_DIR).tmp
	cp $(ORT_WEB_DIR).npm/package/package.json $(addprefix $(ORT_WEB_DIR).npm/package/dist/,$(ORT_WEB_FILES)) \
		$(ORT_WEB_DIR).tmp/
	touch $(ORT_WEB_DIR).tmp/$(notdir $(ORT_WEB_STAMP))
	rm -rf $(ORT_WEB_DIR).npm && mv $(ORT_WEB_DIR).tmp $(ORT_WEB_DIR)

# The browser tests need a chromium that Playwright can drive; Playwright's own download is
# not reachable from these machines, Debian's package is.
browser:
	$(call apt_install,$(WANT_CHROMIUM))

packages:
	$(call apt_install,$(WANT_DATASET); $(WANT_CHROMIUM),$(WANT_FIRMWARE))

# The Debian packages a target lacks: each WANT_ line prints its package's name when it is missing.
WANT_DATASET = { [ -n "$$FASHION_MNIST_DIR" ] && [ -f "$$FASHION_MNIST_DIR/t10k-images-idx3-ubyte.gz" ]; } || \
	[ -f "$(DATASET_DIR)/t10k-images-idx3-ubyte.gz" ] || echo dataset-fashion-mnist
WANT_CHROMIUM = [ -x "$(CHROMIUM)" ] || echo chromium
# A firmware kit's builds: g++ for the host; Arm's GCC with newlib and the C++ headers (no C++ library: the kit
# links none) for the Cortex-M4; QEMU to run it.
WANT_FIRMWARE = command -v g++ >/dev/null || echo g++; command -v arm-none-eabi-g++ >/dev/null || echo gcc-arm-none-eabi; \
	[ -f /usr/lib/arm-none-eabi/newlib/libc_nano.a ] || echo libnewlib-arm-none-eabi; \
	[ -d /usr/include/newlib/c++ ] || echo libstdc++-arm-none-eabi-dev; \
	command -v qemu-system-arm >/dev/null || echo qemu-system-arm

# Installs the packages that $(1) names, and those $(2) names without their recommended packages (the firmware
# tools: QEMU recommends a desktop's worth), in one apt-get update when root; otherwise says how to get them.
define apt_install
	@missing="$$( { $(1); } | tr '\n' ' ' | sed 's/ *$$//')"; \
	bare="$$( { $(or $(2),true); } | tr '\n' ' ' | sed 's/ *$$//')"; \
	if [ -z "$$missing$$bare" ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing the Debian packages $$missing $$bare"; \
		apt-get update -qq && \
		{ [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } && \
		{ [ -z "$$bare" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$bare >/dev/null; }; \
	else \
		echo "Missing Debian packages: run 'sudo apt-get install $$missing $$bare'; or set FASHION_MNIST_DIR to a" \
			"folder holding Fashion-MNIST's four *-ubyte.gz files, or CHROMIUM to a chromium binary" >&2; \
		exit 1; \
	fi
endef

run: setup
	$(EDGEPORT) train --out $(ARTIFACTS)
	$(EDGEPORT) export $(ARTIFACTS)/model.keras --out $(ARTIFACTS) --budget $(BUDGET) --mobile --micro
	$(EDGEPORT) web $(ARTIFACTS) --out $(ARTIFACTS)/web
	$(EDGEPORT) report $(ARTIFACTS) --budget $(BUDGET)

train: setup
	$(EDGEPORT) train --out $(ARTIFACTS)

export: setup
	$(EDGEPORT) export $(ARTIFACTS)/model.keras --out $(ARTIFACTS) --budget $(BUDGET) --mobile --micro

report: setup
	$(EDGEPORT) report $(ARTIFACTS) --budget $(BUDGET)

web: setup
	$(EDGEPORT) web $(ARTIFACTS) --out $(ARTIFACTS)/web --serve

bench: setup browser
	$(PY) benchmarks/bench_formats.py $(ARTIFACTS)
	$(PY) benchmarks/bench_runtime.py $(ARTIFACTS)
	$(PY) benchmarks/bench_ladder.py $(ARTIFACTS)/model.keras
	EDGEPORT_CHROMIUM=$(CHROMIUM) $(PY) benchmarks/bench_web.py $(ARTIFACTS)

# The set-up's three downloads (Python packages, Debian packages, onnxruntime-web) run side by side.
test:
	$(MAKE) --no-print-directory -j3 $(STAMP) $(ORT_WEB_STAMP) packages
	EDGEPORT_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache $(ORT_WEB_DIR)
	find $(ARTIFACTS) -mindepth 1 ! -name README.md -delete
