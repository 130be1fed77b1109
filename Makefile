# The README's two commands: `make run` (the main job on an embedded default) and `make test`.
BUILD ?= build
BUILD_TYPE ?= Release

.PHONY: all deps configure build run test test-python test-sanitize fuzz bench bench-peers format clean

all: build

deps:
	@scripts/install-deps.sh

# TORCH_DIR=/path/to/share/cmake/Torch builds against another LibTorch (docs/training.md).
TORCH_DIR ?=
configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON $(if $(TORCH_DIR),-DTorch_DIR=$(TORCH_DIR)) >/dev/null

build: configure
	@cmake --build $(BUILD)

# The main job on an embedded default: search ResNet-18 (CIFAR shape) on Fashion-MNIST within 4
# minutes (an interrupted search in nasx-search/ resumes, a finished one prints its result at
# once; remove it to start afresh).
RUN_OUT ?= nasx-search
run: build
	$(BUILD)/nasx search resnet18_cifar --data fashion-mnist --budget 4m --out $(RUN_OUT)
	@echo "report: $(RUN_OUT)/report.md (plots: $(RUN_OUT)/pareto.png, $(RUN_OUT)/trajectory.png, $(RUN_OUT)/speedup.png)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# The Python package (docs/python.md): `pip install .` into a virtual environment that sees
# Debian's python3-torch (the package must work beside another PyTorch), then its pytest suite.
# scikit-build-core and pytest come from PyPI (pinned in pyproject.toml); the engine is built in
# $(BUILD)/python, apart from the main build.
PY_VENV ?= $(BUILD)/py-venv
test-python: deps
	@test -x $(PY_VENV)/bin/pip || /usr/bin/python3 -m venv --system-site-packages $(PY_VENV)
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY_VENV)/bin/pip install -q ".[test]"
	cd tests/python && ../../$(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider .

# The unit tests (every test binary that does not link LibTorch, and the CLI's) built with
# (handle_segv=0: the tuner's tests crash kernels on purpose and expect SIGSEGV, not ASan's abort)
# AddressSanitizer and UndefinedBehaviorSanitizer, in their own build tree.
SANITIZE_BUILD ?= build-sanitize
SANITIZE_TESTS ?= ir_test program_test toolchain_test network_test neural_test support_test tune_test lower_test runtime_test cli_test onnx_cli_test export_lib_test
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNASX_SANITIZE=ON >/dev/null
	cmake --build $(SANITIZE_BUILD) --target nasx nasx-worker $(SANITIZE_TESTS)
	@cd $(SANITIZE_BUILD) && for t in $(SANITIZE_TESTS); do echo "== $$t (ASan + UBSan)"; \
	  XDG_CACHE_HOME=$$PWD/test-cache ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ./tests/$$t --gtest_brief=1 || exit 1; done

# libFuzzer on the parsers of user input (.npy, sequences, schedules, ARCH.json, gzip, IDX,
# CIFAR-10, ONNX, torch.save .pt), clang with
# ASan + UBSan, FUZZ_SECONDS each, from the corpora in tests/fuzz/corpus (new inputs go to
# build-fuzz/corpus, the kept corpora are not modified). A finding leaves crash-* in build-fuzz.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 15
FUZZ_TARGETS ?= npy sequence schedule arch gzip idx cifar onnx pt
fuzz: SHELL := /bin/bash
fuzz: deps
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNASX_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@cd $(FUZZ_BUILD) && for t in $(FUZZ_TARGETS); do mkdir -p corpus/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  ./fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	    corpus/$$t ../tests/fuzz/corpus/$$t 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

# Kernels against oneDNN and LibTorch, per layer and end to end; then the forced AVX2 path
# against oneDNN limited to AVX2. Never run by the tests. Results: bench-results/*.json.
bench: build
	@mkdir -p bench-results
	$(BUILD)/bench/nasx-bench --torch --json bench-results/avx512.json
	NASX_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2 $(BUILD)/bench/nasx-bench --json bench-results/avx2.json

# nasx against ONNX Runtime, OpenVINO and Apache TVM (untuned and MetaSchedule-tuned) on whole
# networks, same ONNX weights, in one run (bench/peers/run.py; pinned versions in
# bench/peers/requirements.txt, installed into $(BUILD)/peers-venv). Never run by the tests.
# PEERS_ARGS passes options, e.g. PEERS_ARGS="--networks resnet18_cifar --batches 1".
PEERS_VENV ?= $(BUILD)/peers-venv
PEERS_ARGS ?=
bench-peers: build
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	@$(PEERS_VENV)/bin/pip install -q -r bench/peers/requirements.txt
	$(PEERS_VENV)/bin/python bench/peers/run.py --nasx $(BUILD)/nasx $(PEERS_ARGS)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD)
