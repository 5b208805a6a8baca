#!/usr/bin/env bash
# make install: build the provider and put it in Terraform's implied local mirror
#   ${PREFIX:-$HOME/.terraform.d/plugins}/registry.terraform.io/psoxy/psoxy/<version>/<os>_<arch>/
# so that `terraform init` resolves psoxy/psoxy with no registry and no CLI config.
#
#   PREFIX   plugin directory (default $HOME/.terraform.d/plugins)
#   PROFILE  cargo profile to install: release (default) or debug (the tests use the
#            debug build they already have)
set -euo pipefail
source "$(dirname "$0")/common.sh"

PROFILE="${PROFILE:-release}"
PREFIX="${PREFIX:-$HOME/.terraform.d/plugins}"
VERSION="$(provider_version)"
PLATFORM="$(terraform_platform)"

step "Building terraform-provider-psoxy $VERSION ($PROFILE)"
OUT_DIR="$(build_provider)"

DEST="$PREFIX/registry.terraform.io/psoxy/psoxy/$VERSION/$PLATFORM"
step "Installing into $DEST"
mkdir -p "$DEST"
# Copy to a temporary name and rename, so a running terraform never sees half a file.
cp "$OUT_DIR/terraform-provider-psoxy" "$DEST/.terraform-provider-psoxy_v$VERSION.tmp"
chmod 755 "$DEST/.terraform-provider-psoxy_v$VERSION.tmp"
mv -f "$DEST/.terraform-provider-psoxy_v$VERSION.tmp" "$DEST/terraform-provider-psoxy_v$VERSION"

echo "Installed $DEST/terraform-provider-psoxy_v$VERSION"
echo "terraform init now finds psoxy/psoxy $VERSION with no registry, e.g.:"
echo "  terraform -chdir=examples/quickstart init"
