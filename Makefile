# terraform-provider-psoxy: build, test, demo, install, release.
# Needs a Rust toolchain and Terraform 1.5 or newer on PATH; nothing else.

CARGO ?= cargo

.PHONY: build test lint bench demo install release

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

# Both tables of docs/benchmarks.md: plugin start and GetSchema, then the connector
# lifecycle with real terraform against the Graph emulator (release binaries, 100 ms
# per Graph request).
bench:
	$(CARGO) bench -p terraform-provider-psoxy --bench plugin
	E2E_PROFILE=release LATENCY_MS=100 $(CARGO) bench -p e2e --bench lifecycle

# The provider end to end against the Graph emulator: init, apply, the consent
# document, consent granted, destroy. Leaves nothing behind.
demo:
	./scripts/demo.sh

# Into Terraform's implied local mirror, so `terraform init` finds psoxy/psoxy with no
# registry. PREFIX (default ~/.terraform.d/plugins) and PROFILE (release) can be set.
install:
	./scripts/install.sh

# dist/: per-platform zip, SHA256SUMS, manifest (protocol 5.0) and a provider mirror;
# with GPG_FINGERPRINT (and GPG_PASSPHRASE if the key has one) also SHA256SUMS.sig, the
# detached signature a public registry asks for. Without it the sums are unsigned.
release:
	./scripts/release.sh
