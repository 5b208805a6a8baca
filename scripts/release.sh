#!/usr/bin/env bash
# make release: the files a Terraform registry or network mirror serves, in dist/:
#
#   terraform-provider-psoxy_<version>_<os>_<arch>.zip   the provider, as terraform-provider-psoxy_v<version>
#   terraform-provider-psoxy_<version>_manifest.json     protocol 5.0
#   terraform-provider-psoxy_<version>_SHA256SUMS        sha256 of each zip and of the manifest
#   mirror/registry.terraform.io/psoxy/psoxy/            a provider mirror: index.json,
#       <version>.json (with h1: and zh: hashes) and the zips; serve it over HTTPS as a
#       network_mirror, or point a filesystem_mirror at dist/mirror (packed layout)
#
#   terraform-provider-psoxy_<version>_SHA256SUMS.sig    with GPG_FINGERPRINT: the detached,
#       binary GPG signature of SHA256SUMS a public registry asks for
#
# Builds for this machine's platform. Zips for other platforms of the same version
# already in dist/ (built on those platforms) are included in SHA256SUMS and the mirror.
# The platforms a release is made for (.github/workflows/ci.yml builds each on its own
# runner and runs this script once more with all the zips):
#
# PLATFORMS: linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64
#
#   DIST             output directory (default dist)
#   PROFILE          cargo profile: release (default) or debug (the tests use debug)
#   GPG_FINGERPRINT  the key to sign SHA256SUMS with (in gpg's keyring, GNUPGHOME);
#                    without it the sums are left unsigned, and the script says so
#   GPG_PASSPHRASE   its passphrase, if it has one (read by gpg from standard input)
set -euo pipefail
source "$(dirname "$0")/common.sh"

PROFILE="${PROFILE:-release}"
DIST="${DIST:-$ROOT/dist}"
case "$DIST" in /*) ;; *) DIST="$PWD/$DIST" ;; esac
VERSION="$(provider_version)"
PLATFORM="$(terraform_platform)"
NAME="terraform-provider-psoxy"
EXE="${NAME}_v${VERSION}"
[ "${PLATFORM%%_*}" = windows ] && EXE="$EXE.exe"

BIN="$NAME"
[ "${PLATFORM%%_*}" = windows ] && BIN="$NAME.exe"

step "Building $NAME $VERSION ($PROFILE) for $PLATFORM"
OUT_DIR="$(build_provider)"

mkdir -p "$DIST"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/psoxy-release.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

ZIP="${NAME}_${VERSION}_${PLATFORM}.zip"
step "Packing $ZIP"
cp "$OUT_DIR/$BIN" "$STAGE/$EXE"
chmod 755 "$STAGE/$EXE"
rm -f "$DIST/$ZIP"
if command -v zip >/dev/null; then
  (cd "$STAGE" && zip -q -X "$DIST/$ZIP" "$EXE")
else
  python3 - "$STAGE/$EXE" "$DIST/$ZIP" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo.from_file(src, arcname=os.path.basename(src))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, f.read())
PY
fi

MANIFEST="${NAME}_${VERSION}_manifest.json"
printf '{"version":1,"metadata":{"protocol_versions":["5.0"]}}\n' >"$DIST/$MANIFEST"

# Checksums and the mirror's JSON, over every zip of this version in dist/. python3 is
# on every machine this runs on; it also computes Terraform's h1: hash of the zip's
# contents, so a mirror lets `terraform init` record both hash kinds in the lock file.
step "Writing ${NAME}_${VERSION}_SHA256SUMS and the provider mirror"
python3 - "$DIST" "$NAME" "$VERSION" <<'PY'
import base64, glob, hashlib, json, os, shutil, sys, zipfile

dist, name, version = sys.argv[1:4]
prefix = f"{name}_{version}_"
zips = sorted(glob.glob(os.path.join(dist, prefix + "*.zip")))
manifest = os.path.join(dist, prefix + "manifest.json")

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def h1(path):
    # golang.org/x/mod/sumdb/dirhash Hash1 over the zip's files, as Terraform does.
    with zipfile.ZipFile(path) as z:
        names = sorted(i.filename for i in z.infolist() if not i.is_dir())
        summary = "".join(f"{hashlib.sha256(z.read(n)).hexdigest()}  {n}\n" for n in names)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()

with open(os.path.join(dist, prefix + "SHA256SUMS"), "w") as sums:
    for path in sorted(zips + [manifest]):
        sums.write(f"{sha256_file(path)}  {os.path.basename(path)}\n")

mirror = os.path.join(dist, "mirror", "registry.terraform.io", "psoxy", "psoxy")
os.makedirs(mirror, exist_ok=True)
archives = {}
for path in zips:
    base = os.path.basename(path)
    platform = base[len(prefix):-len(".zip")]
    shutil.copyfile(path, os.path.join(mirror, base))
    archives[platform] = {"url": base, "hashes": [h1(path), "zh:" + sha256_file(path)]}
with open(os.path.join(mirror, version + ".json"), "w") as f:
    json.dump({"archives": archives}, f, indent=2)
    f.write("\n")
index_path = os.path.join(mirror, "index.json")
versions = {}
if os.path.exists(index_path):
    with open(index_path) as f:
        versions = json.load(f).get("versions", {})
versions[version] = {}
with open(index_path, "w") as f:
    json.dump({"versions": dict(sorted(versions.items()))}, f, indent=2)
    f.write("\n")
PY

SUMS="${NAME}_${VERSION}_SHA256SUMS"
# A signature of earlier sums would not match these.
rm -f "$DIST/$SUMS.sig"
if [ -n "${GPG_FINGERPRINT:-}" ]; then
  step "Signing $SUMS with key $GPG_FINGERPRINT"
  GPG_ARGS=(--batch --yes --local-user "$GPG_FINGERPRINT" --detach-sign --output "$DIST/$SUMS.sig")
  if [ -n "${GPG_PASSPHRASE:-}" ]; then
    printf '%s' "$GPG_PASSPHRASE" |
      gpg --pinentry-mode loopback --passphrase-fd 0 "${GPG_ARGS[@]}" "$DIST/$SUMS"
  else
    gpg "${GPG_ARGS[@]}" "$DIST/$SUMS"
  fi
  # Binary (not --armor), as registries expect; checked before anyone downloads it.
  gpg --batch --verify "$DIST/$SUMS.sig" "$DIST/$SUMS"
else
  step "$SUMS is unsigned"
  echo "Set GPG_FINGERPRINT to the key your registry knows to write $SUMS.sig."
fi

step "Release files in $DIST"
(cd "$DIST" && ls -l "${NAME}_${VERSION}"_* && cat "${NAME}_${VERSION}_SHA256SUMS")
echo "Provider mirror: $DIST/mirror (network_mirror over HTTPS, or filesystem_mirror)"
