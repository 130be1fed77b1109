# The README's two commands: `make run` (the main job on an embedded default) and `make test`.
BUILD ?= build
BUILD_TYPE ?= Release

.PHONY: all deps configure build run test format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

build: configure
	@cmake --build $(BUILD)

# Until the search command exists: build, check and time a ResNet-sized convolution against LibTorch.
run: build
	$(BUILD)/nasx conv --in 64,56,56 --out 64 --kernel 3 --pad 1 --check

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD)
