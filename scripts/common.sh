# Shared by demo.sh, install.sh and release.sh: where things are, the provider's
# version, and the platform in Terraform's naming (linux_amd64, darwin_arm64, ...).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO="${CARGO:-cargo}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# The version Terraform sees is the provider crate's version.
provider_version() {
  sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/provider/Cargo.toml" | head -n 1
}

# The platform as Terraform names it: <os>_<arch>.
terraform_platform() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$os" in
    linux | darwin | freebsd | openbsd | netbsd | solaris) ;;
    mingw* | msys* | cygwin*) os=windows ;;
    *) echo "unsupported operating system: $(uname -s)" >&2; return 1 ;;
  esac
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    i386 | i686) arch=386 ;;
    armv6* | armv7* | arm) arch=arm ;;
    *) echo "unsupported architecture: $(uname -m)" >&2; return 1 ;;
  esac
  echo "${os}_${arch}"
}

# Heading for a step, so the output says what is happening.
step() {
  printf '\n==> %s\n' "$*"
}

# Build the provider with PROFILE (release, the default, or debug) and print the
# directory its binary lands in. A debug build also builds the emulator, exactly as the
# end-to-end tests do, so that cargo reuses their build instead of unifying features
# differently and rebuilding.
build_provider() {
  case "${PROFILE:-release}" in
    release)
      (cd "$ROOT" && "$CARGO" build --release --bins -p terraform-provider-psoxy) >&2
      echo "$TARGET_DIR/release"
      ;;
    debug | dev)
      (cd "$ROOT" && "$CARGO" build --bins -p terraform-provider-psoxy -p graph-emulator) >&2
      echo "$TARGET_DIR/debug"
      ;;
    *)
      echo "PROFILE must be release or debug, not ${PROFILE}" >&2
      return 1
      ;;
  esac
}
