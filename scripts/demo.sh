#!/usr/bin/env bash
# make demo: the provider end to end on this machine, with no Microsoft tenant.
#
# Builds the provider and the Graph emulator, starts the emulator (a stand-in for
# Microsoft Graph with a seeded tenant), installs the provider into a local provider
# mirror, and runs examples/quickstart: init, apply, the administrator's consent
# document, consent granted as an administrator would, a refresh showing it, destroy.
# Everything happens in a temporary directory that is removed at the end, and the
# emulator is stopped, whether the demo succeeds or not.
set -euo pipefail
source "$(dirname "$0")/common.sh"

VERSION="$(provider_version)"
PLATFORM="$(terraform_platform)"
# The seeded tenant and its "terraform-ci" pipeline identity
# (tests/graph-emulator/README.md, "Seeded tenant").
TENANT=00000000-0000-4000-8000-00000000a001
CI_CLIENT_ID=00000000-0000-4000-8000-00000000c101
CI_CLIENT_SECRET=terraform-ci-secret

command -v terraform >/dev/null || { echo "make demo needs terraform (1.5 or newer) on PATH" >&2; exit 1; }

WORK=""
EMULATOR_PID=""
cleanup() {
  local status=$?
  if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    rm -rf "$WORK"
  fi
  if [ "$status" -ne 0 ]; then
    echo >&2
    echo "The demo failed (exit status $status); the emulator was stopped and $WORK removed." >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Colours only on a terminal, so logs and tests see plain text.
NO_COLOR_FLAG=()
[ -t 1 ] || NO_COLOR_FLAG=(-no-color)

# POST a JSON body; curl if present, else python3 (both are on a fresh machine).
post_json() {
  local url=$1 body=$2
  if command -v curl >/dev/null; then
    curl --silent --show-error --fail -X POST -H 'Content-Type: application/json' -d "$body" "$url"
  else
    python3 - "$url" "$body" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST",
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req).read().decode())
PY
  fi
}

step "Building the provider and the Graph emulator (cargo, debug profile)"
BIN="$(PROFILE=debug build_provider)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/psoxy-demo.XXXXXX")"

step "Starting the Graph emulator (a stand-in for Microsoft Graph and Entra ID sign-in)"
"$BIN/graph-emulator" --listen 127.0.0.1:0 >"$WORK/emulator.out" 2>"$WORK/emulator.log" &
EMULATOR_PID=$!
BASE_URL=""
for _ in $(seq 1 100); do
  BASE_URL="$(head -n 1 "$WORK/emulator.out" 2>/dev/null || true)"
  case "$BASE_URL" in http*) break ;; esac
  kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$WORK/emulator.log" >&2; echo "the emulator exited" >&2; exit 1; }
  sleep 0.1
done
case "$BASE_URL" in http*) ;; *) echo "the emulator did not print its address" >&2; exit 1 ;; esac
echo "Graph emulator at $BASE_URL, tenant $TENANT"
echo "Signing in as its seeded pipeline identity \"terraform-ci\" (Cloud Application Administrator)"

step "Putting the provider in a local provider mirror (no registry needed)"
MIRROR="$WORK/mirror"
DEST="$MIRROR/registry.terraform.io/psoxy/psoxy/$VERSION/$PLATFORM"
mkdir -p "$DEST"
cp "$BIN/terraform-provider-psoxy" "$DEST/terraform-provider-psoxy_v$VERSION"
cat >"$WORK/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/psoxy/*"]
  }
  direct {
    exclude = ["registry.terraform.io/psoxy/*"]
  }
}
RC
echo "psoxy/psoxy $VERSION for $PLATFORM in $MIRROR"

# Terraform, the provider and nothing from the caller's Azure settings.
for var in $(env | sed -n 's/^\(ARM_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(PSOXY_[A-Za-z0-9_]*\)=.*/\1/p'); do
  unset "$var"
done
unset TF_CLI_CONFIG_FILE TF_PLUGIN_CACHE_DIR
export TF_CLI_CONFIG_FILE="$WORK/terraform.rc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export PSOXY_GRAPH_ENDPOINT="$BASE_URL" PSOXY_LOGIN_ENDPOINT="$BASE_URL"
export ARM_TENANT_ID="$TENANT" ARM_CLIENT_ID="$CI_CLIENT_ID" ARM_CLIENT_SECRET="$CI_CLIENT_SECRET"
export ARM_USE_CLI=false

QUICKSTART="$WORK/quickstart"
mkdir -p "$QUICKSTART"
cp "$ROOT"/examples/quickstart/*.tf "$QUICKSTART/"
tf() { terraform -chdir="$QUICKSTART" "$@"; }
# Terraform prints the consent document (a multi-line string) in every plan and in the
# outputs; the demo prints it once, on its own, so fold it elsewhere.
fold_documents() {
  awk '
    /<<-?EOT$/ { sub(/<<-?EOT$/, ""); head = $0; lines = 0; folding = 1; next }
    folding && /^ *EOT/ {
      sub(/^ *EOT/, "")
      print head "<<EOT ... (" lines " lines; the demo prints the document once, on its own) EOT" $0
      folding = 0; next
    }
    folding { lines++; next }
    { print }
  '
}

step "terraform init (examples/quickstart)"
tf init "${NO_COLOR_FLAG[@]}"
echo "(A local mirror gives Terraform no registry checksums, hence the lock-file warning above.)"

step "terraform apply: the Outlook Calendar connector's application and its GCP credential"
tf apply -auto-approve "${NO_COLOR_FLAG[@]}" | fold_documents

CLIENT_ID="$(tf output -raw client_id)"

step "The administrator's consent document (terraform output -raw consent_instructions)"
tf output -raw consent_instructions
echo

step "Consent status before an administrator acts"
echo "consent_granted = $(tf output -raw consent_granted)"

step "Granting admin consent as a Privileged Role Administrator would (through the emulator)"
echo "POST $BASE_URL/_emulator/consent {\"appId\": \"$CLIENT_ID\"}"
post_json "$BASE_URL/_emulator/consent" "{\"appId\": \"$CLIENT_ID\"}" >/dev/null
echo "Consent granted for client id $CLIENT_ID"

step "terraform apply -refresh-only: Terraform sees the consent"
tf apply -refresh-only -auto-approve "${NO_COLOR_FLAG[@]}" | fold_documents

step "Consent status after the administrator acted"
echo "consent_granted = $(tf output -raw consent_granted)"

step "terraform plan: nothing left to change"
tf plan "${NO_COLOR_FLAG[@]}" | fold_documents

step "terraform destroy: removing the application and the credential"
tf destroy -auto-approve "${NO_COLOR_FLAG[@]}" | fold_documents

step "Done: the emulator is stopped and the temporary directory removed on exit"
