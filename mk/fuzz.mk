# Fuzzing (fuzz/: cargo fuzz, libFuzzer, on stable Rust with
# `--sanitizer none`): every target that parses what a client or a disk
# hands over (tokens and ids, attrs from JSON, counter hints, snapshot
# files, the web layer's cookies, headers and collect bodies). `make fuzz`
# (part of `make test`) installs cargo-fuzz into target/tools if missing,
# builds the targets into target/fuzz, and runs each for FUZZ_SECONDS:
# its checked-in corpus and regressions first (fuzz/corpus/T,
# fuzz/regressions/T), then what it finds from them (scripts/fuzz).
# `make fuzz-long` runs each for FUZZ_LONG_SECONDS; `make stress` runs it.

FUZZ_DEFAULT_GOAL := $(.DEFAULT_GOAL)

FUZZ_SECONDS ?= 15
FUZZ_LONG_SECONDS ?= 300
CARGO_FUZZ := target/tools/bin/cargo-fuzz

TESTS += fuzz

.PHONY: fuzz fuzz-long

$(CARGO_FUZZ):
	$(CARGO) install --debug --locked --quiet --root target/tools cargo-fuzz@0.13.2

fuzz: $(CARGO_FUZZ)
	scripts/fuzz $(FUZZ_SECONDS)

fuzz-long: $(CARGO_FUZZ)
	scripts/fuzz $(FUZZ_LONG_SECONDS)

stress: fuzz-long

.DEFAULT_GOAL := $(FUZZ_DEFAULT_GOAL)
