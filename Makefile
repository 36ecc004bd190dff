# Thin wrapper over CMake. `make run` and `make test` do all the set-up.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and the tests need (the Fashion-MNIST tests
# read Debian's data package).
# oneDNN (libdnnl-dev) computes the matrix products; without it the build
# falls back to the built-in kernel. Open MPI (libopenmpi-dev, openmpi-bin)
# builds data-parallel training across processes and its tests.
DEPS       := cmake make gcc libc6-dev pkgconf libcmocka-dev zlib1g-dev libdnnl-dev \
              dataset-fashion-mnist libopenmpi-dev openmpi-bin
# `make bench` compares with these peers (each skipped when absent); OpenBLAS
# for the kernel comparison, GNU time for peak memory.
BENCH_DEPS := python3-torch python3-numpy libfann-dev libopenblas-dev time
BENCH_BUILD ?= build-bench
# Reference tests compare with PyTorch and NumPy, and check ONNX exports with
# onnx's checker; without them they skip.
REF_DEPS   := python3-torch python3-numpy python3-onnx
# The report's browser test renders it in headless Chromium; without it the
# test skips.
BROWSER_DEPS := chromium

# Where `make run` writes its model and metrics log.
RUN_DIR    ?= out

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON

.PHONY: all deps ref-deps browser-deps build test run lesson asan clang bench builtin fuzz valgrind clean

all: build

deps:
	@sh scripts/deps.sh $(DEPS)

ref-deps:
	@sh scripts/deps.sh $(REF_DEPS)

browser-deps:
	@sh scripts/deps.sh $(BROWSER_DEPS)

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
	  --out $(RUN_DIR)/fashion-mnist.safetensors --log $(RUN_DIR)/fashion-mnist.csv \
	  --report $(RUN_DIR)/fashion-mnist.html
	$(BUILD)/backprop eval --model $(RUN_DIR)/fashion-mnist.safetensors --data fashion-mnist:test
	@echo "model: $(RUN_DIR)/fashion-mnist.safetensors  metrics: $(RUN_DIR)/fashion-mnist.csv"
	@echo "report: $(RUN_DIR)/fashion-mnist.html"

# backprop against PyTorch, NumPy and FANN in one run (see docs/PERFORMANCE.md).
bench: deps
	-@sh scripts/deps.sh $(BENCH_DEPS)
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DBP_BUILD_BENCH=ON
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	/usr/bin/python3 bench/run.py $(BENCH_BUILD) $(BENCH_FLAGS)

# The whole suite on the built-in kernel alone (no oneDNN).
builtin: deps
	cmake -S . -B build-builtin -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON -DBP_GEMM=builtin
	cmake --build build-builtin -j $(JOBS)
	cd build-builtin && ctest --output-on-failure -j $(JOBS)

# The lessons' worked examples, computed live.
lesson: build
	$(BUILD)/backprop lesson

# oneDNN is linked at start-up there (BP_DNNL_LAZY=OFF): LeakSanitizer's
# exit-time scan of the threads' stacks and TLS sometimes crashes ("Tracer
# caught signal 11") in a multi-threaded run that loaded oneDNN, with its
# thread-local storage, after the threads had started.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBP_SANITIZE=ON -DBP_WERROR=ON \
	  -DBP_DNNL_LAZY=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (fuzz/), one after the other, FUZZ_SECONDS each;
# clang and its fuzzer runtime are installed on demand.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_DEPS    := clang libclang-rt-14-dev
fuzz:
	@sh scripts/deps.sh $(FUZZ_DEPS) zlib1g-dev
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBP_FUZZ=ON -DBP_BUILD_TESTS=OFF -DBP_WERROR=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(FUZZ_BUILD)

# The unit tests and the fuzz corpora under valgrind's memcheck: any error,
# and any block leaked (definitely or indirectly lost), fails the test.
# (Blocks the OpenMP runtime keeps until exit are still reachable, not
# leaks.) The shell tests run the tool natively; `make asan` covers it.
# The built-in matrix kernel is used: valgrind cannot follow oneDNN's JIT
# code, whose deliberate vector reads inside its own padded buffers it
# reports as errors (AddressSanitizer checks the oneDNN build). The
# determinism test is left to the native and AddressSanitizer builds: it
# trains networks wide enough to be split over threads, which under
# memcheck's emulation of AVX2 takes over ten minutes (0.7 s natively).
VALGRIND_BUILD ?= build-valgrind
VALGRIND_CMD   := valgrind;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite,indirect;--show-leak-kinds=definite,indirect;--track-origins=yes;--quiet
valgrind: deps
	@sh scripts/deps.sh valgrind
	cmake -S . -B $(VALGRIND_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBP_WERROR=ON \
	  -DBP_GEMM=builtin "-DCMAKE_CROSSCOMPILING_EMULATOR=$(VALGRIND_CMD)"
	cmake --build $(VALGRIND_BUILD) -j $(JOBS)
	cd $(VALGRIND_BUILD) && ctest --output-on-failure -j $(JOBS) \
	  -E '^(cli_|ref_|install_|train_test_determinism$$)'

# A warnings-as-errors build with clang (installed on demand).
clang:
	@sh scripts/deps.sh clang
	cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON
	cmake --build build-clang -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-clang build-builtin $(BENCH_BUILD) $(FUZZ_BUILD) $(VALGRIND_BUILD) $(RUN_DIR)
