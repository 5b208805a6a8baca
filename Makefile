# terraform-provider-psoxy: build, test, demo, install, release.
# Needs a Rust toolchain and Terraform 1.5 or newer on PATH; nothing else.

CARGO ?= cargo

.PHONY: build test lint bench

build:
	$(CARGO) build --workspace --bins

# Unit and property tests, the emulator's tests, and the end-to-end tests that drive
# the real terraform binary against the provider and the Graph emulator.
test:
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) bench -p terraform-provider-psoxy --bench plugin
