# Thin wrapper over CMake. `make run` and `make test` do all the set-up.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and the tests need (the Fashion-MNIST tests
# read Debian's data package).
DEPS       := cmake make gcc libc6-dev pkgconf libcmocka-dev zlib1g-dev dataset-fashion-mnist
# Reference tests compare with PyTorch and NumPy; without them they skip.
REF_DEPS   := python3-torch python3-numpy

# Where `make run` writes its model and metrics log.
RUN_DIR    ?= out

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON

.PHONY: all deps ref-deps build test run lesson asan clang clean

all: build

deps:
	@sh scripts/deps.sh $(DEPS)

ref-deps:
	@sh scripts/deps.sh $(REF_DEPS)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Train the classic MLP on Fashion-MNIST with the default settings, then
# measure the saved model on the test set.
run: build
	@mkdir -p $(RUN_DIR)
	$(BUILD)/backprop train --data fashion-mnist --test fashion-mnist:test \
	  --net 784,256:relu,128:relu,10:softmax \
	  --out $(RUN_DIR)/fashion-mnist.safetensors --log $(RUN_DIR)/fashion-mnist.csv
	$(BUILD)/backprop eval --model $(RUN_DIR)/fashion-mnist.safetensors --data fashion-mnist:test
	@echo "model: $(RUN_DIR)/fashion-mnist.safetensors  metrics: $(RUN_DIR)/fashion-mnist.csv"

# The lessons' worked examples, computed live.
lesson: build
	$(BUILD)/backprop lesson

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBP_SANITIZE=ON -DBP_WERROR=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# A warnings-as-errors build with clang (installed on demand).
clang:
	@sh scripts/deps.sh clang
	cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON
	cmake --build build-clang -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-clang $(RUN_DIR)
