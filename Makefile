# The README's two commands: `make run` (the main job on an embedded default) and `make test`.
BUILD ?= build
BUILD_TYPE ?= Release

.PHONY: all deps configure build run test bench format clean

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
# minutes (resumed when nasx-search/ holds the same search; remove it to start afresh).
RUN_OUT ?= nasx-search
run: build
	$(BUILD)/nasx search resnet18_cifar --data fashion-mnist --budget 4m --out $(RUN_OUT)
	@echo "report: $(RUN_OUT)/report.md (plots: $(RUN_OUT)/speedup.png, $(RUN_OUT)/pareto.png)"

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# Kernels against oneDNN and LibTorch, per layer and end to end; then the forced AVX2 path
# against oneDNN limited to AVX2. Never run by the tests. Results: bench-results/*.json.
bench: build
	@mkdir -p bench-results
	$(BUILD)/bench/nasx-bench --torch --json bench-results/avx512.json
	NASX_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2 $(BUILD)/bench/nasx-bench --json bench-results/avx2.json

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD)
