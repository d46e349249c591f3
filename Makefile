# Thin wrapper over CMake.  `make` builds build/novacron; `make test` runs the
# suite; `make asan` builds and tests under ASan/UBSan; `make deps` installs
# the Debian packages; `make fuzz` builds the libFuzzer harness with clang.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps test asan fuzz bench clean

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

deps:
	./scripts/deps.sh

test: all
	cd $(BUILD) && ./nc-tests

asan:
	cmake -S . -B build-asan -DNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ./nc-tests

fuzz:
	CC=clang cmake -S . -B build-fuzz -DNC_FUZZ=ON -DNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target nc-fuzz-spec nc-fuzz-uri

bench: all
	./bench/run.sh

clean:
	rm -rf build build-asan build-fuzz
