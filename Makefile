# make        build build/cell (optimised, no sanitizers)
# make test   build build-test/ with ASan+UBSan and run every test
# make bench  run the benchmarks against build/cell
# make fuzz   build the libFuzzer targets in build-fuzz/ (clang)
MESON ?= meson
NINJA ?= ninja

all: build/build.ninja
	$(NINJA) -C build

build/build.ninja:
	$(MESON) setup build --buildtype=release -Doptimization=2 -Db_ndebug=true

build-test/build.ninja:
	$(MESON) setup build-test --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build-fuzz/build.ninja:
	CC=clang $(MESON) setup build-fuzz --buildtype=debug -Dfuzz=true -Db_lundef=false

test: build-test/build.ninja build-fuzz/build.ninja
	$(NINJA) -C build-test
	$(NINJA) -C build-fuzz
	tests/run

bench: all
	bench/run

fuzz: build-fuzz/build.ninja
	$(NINJA) -C build-fuzz

clean:
	rm -rf build build-test build-fuzz

.PHONY: all test bench fuzz clean
