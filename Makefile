# Thin wrapper over CMake. `make run` and `make test` do all the set-up.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and the tests need.
DEPS       := cmake make gcc libc6-dev pkgconf libcmocka-dev zlib1g-dev

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DBP_WERROR=ON

.PHONY: all deps build test run asan clang clean

all: build

deps:
	@sh scripts/deps.sh $(DEPS)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: build
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
	rm -rf $(BUILD) $(ASAN_BUILD) build-clang
