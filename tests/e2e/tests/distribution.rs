//! How the provider reaches people: `make install`, `make release` and `make demo`,
//! each run as a newcomer would run it, with the real `terraform` and no registry (none
//! is reachable here anyway).
//!
//! Builds: the targets take PROFILE=debug here, so they reuse the debug build the other
//! end-to-end tests make (same packages, same target directory: CARGO_TARGET_DIR is
//! passed through, or the workspace's `target/`). `make install` and `make release`
//! build release binaries by default; only the profile differs, not the packaging.

use e2e::workspace_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn version() -> String {
    let toml = std::fs::read_to_string(workspace_root().join("provider/Cargo.toml")).unwrap();
    toml.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in provider/Cargo.toml")
        .to_owned()
}

/// This machine's platform as Terraform names it.
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}_{arch}")
}

fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// `make <target>` from the workspace root, with these variables in the environment.
fn make(target: &str, vars: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new("make");
    cmd.current_dir(workspace_root())
        .arg(target)
        .env("PROFILE", "debug")
        .stdin(Stdio::null());
    // Moving HOME must not move the Rust toolchain.
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    if std::env::var_os("CARGO_HOME").is_none() {
        cmd.env("CARGO_HOME", home.join(".cargo"));
    }
    if std::env::var_os("RUSTUP_HOME").is_none() {
        cmd.env("RUSTUP_HOME", home.join(".rustup"));
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run make");
    assert!(
        out.status.success(),
        "make {target} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `terraform` in `dir` with only what a newcomer's shell would have: no CLI
/// configuration unless given, no Azure settings.
fn terraform(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new("terraform");
    cmd.current_dir(dir).args(args).stdin(Stdio::null());
    for var in ["TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR", "TF_LOG"] {
        cmd.env_remove(var);
    }
    cmd.env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run terraform")
}

#[track_caller]
fn assert_ok(what: &str, out: &Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// A copy of examples/quickstart's configuration.
fn quickstart_copy() -> tempfile::TempDir {
    let dir = temp_dir("psoxy-dist-quickstart-");
    for entry in std::fs::read_dir(workspace_root().join("examples/quickstart")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "tf") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn lock_file_hashes(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".terraform.lock.hcl")).expect("lock file written")
}

#[test]
fn make_install_lets_terraform_init_find_the_provider_without_a_registry() {
    let home = temp_dir("psoxy-dist-home-");
    make("install", &[("HOME", home.path())]);
    let v = version();
    let installed = home.path().join(format!(
        ".terraform.d/plugins/registry.terraform.io/psoxy/psoxy/{v}/{}/terraform-provider-psoxy_v{v}",
        platform()
    ));
    assert!(installed.is_file(), "{} not installed", installed.display());

    // No CLI configuration at all: the implied local mirror under HOME is all there is.
    let work = quickstart_copy();
    let env = [("HOME", home.path())];
    let init = assert_ok(
        "terraform init",
        &terraform(work.path(), &["init", "-no-color"], &env),
    );
    assert!(
        init.contains(&format!("Installed psoxy/psoxy v{v}")),
        "{init}"
    );
    assert!(lock_file_hashes(work.path()).contains("h1:"));
    assert_ok(
        "terraform validate",
        &terraform(work.path(), &["validate", "-no-color"], &env),
    );
}

fn sha256_hex(path: &Path) -> String {
    // sha256sum on Linux, shasum on macOS: both are on a fresh machine.
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(path)
                .output()
        })
        .expect("sha256sum or shasum");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn make_release_output_serves_as_a_provider_mirror() {
    let out = temp_dir("psoxy-dist-release-");
    let dist = out.path().join("dist");
    make("release", &[("DIST", dist.as_path())]);
    let v = version();
    let p = platform();
    let zip = format!("terraform-provider-psoxy_{v}_{p}.zip");
    let manifest = format!("terraform-provider-psoxy_{v}_manifest.json");
    let sums = format!("terraform-provider-psoxy_{v}_SHA256SUMS");

    assert_eq!(
        std::fs::read_to_string(dist.join(&manifest))
            .unwrap()
            .trim(),
        r#"{"version":1,"metadata":{"protocol_versions":["5.0"]}}"#
    );
    // SHA256SUMS lists the zip and the manifest, with the files' real digests.
    let sums_text = std::fs::read_to_string(dist.join(&sums)).unwrap();
    let mut listed: Vec<&str> = Vec::new();
    for line in sums_text.lines() {
        let (digest, name) = line.split_once("  ").expect("`<sha256>  <file>` lines");
        assert_eq!(digest, sha256_hex(&dist.join(name)), "digest of {name}");
        listed.push(name);
    }
    listed.sort();
    assert_eq!(listed, [zip.as_str(), manifest.as_str()]);

    // The network-mirror JSON.
    let mirror = dist.join("mirror/registry.terraform.io/psoxy/psoxy");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mirror.join("index.json")).unwrap()).unwrap();
    assert!(index["versions"][&v].is_object(), "{index}");
    let archives: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mirror.join(format!("{v}.json"))).unwrap())
            .unwrap();
    let archive = &archives["archives"][&p];
    assert_eq!(archive["url"], zip.as_str(), "{archives}");
    let hashes: Vec<&str> = archive["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(
        hashes.contains(&format!("zh:{}", sha256_hex(&dist.join(&zip))).as_str()),
        "{hashes:?}"
    );
    let h1 = hashes
        .iter()
        .find(|h| h.starts_with("h1:"))
        .expect("an h1: hash");

    // dist/mirror as a filesystem mirror (packed layout): terraform installs the zip,
    // and the h1: hash it computes is the one the mirror JSON announces.
    let work = quickstart_copy();
    let rc = work.path().join("terraform.rc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            dist.join("mirror").display()
        ),
    )
    .unwrap();
    let env = [("TF_CLI_CONFIG_FILE", rc.as_path())];
    let init = assert_ok(
        "terraform init",
        &terraform(work.path(), &["init", "-no-color"], &env),
    );
    assert!(
        init.contains(&format!("Installed psoxy/psoxy v{v}")),
        "{init}"
    );
    let lock = lock_file_hashes(work.path());
    assert!(lock.contains(h1), "lock file {lock} lacks {h1}");
    assert_ok(
        "terraform validate",
        &terraform(work.path(), &["validate", "-no-color"], &env),
    );
}

#[test]
fn make_demo_shows_consent_pending_then_granted_and_leaves_nothing_behind() {
    let tmp = temp_dir("psoxy-dist-demo-");
    let out = make("demo", &[("TMPDIR", tmp.path())]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("demo output lacks {needle:?}:\n{text}"))
    };
    let document = at("# Grant admin consent: Psoxy Connector - Outlook Calendar");
    let pending = at("consent_granted = false");
    let granting = at("Granting admin consent");
    let granted = text
        .rfind("consent_granted = true")
        .unwrap_or_else(|| panic!("demo output lacks consent_granted = true:\n{text}"));
    assert!(
        document < granting && pending < granting && granting < granted,
        "steps out of order:\n{text}"
    );
    assert!(text.contains("Admin consent: **pending**"), "{text}");
    assert!(
        text.contains("Destroy complete! Resources: 2 destroyed."),
        "{text}"
    );

    // The temporary directory is gone, and so is the emulator.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "demo left {left:?} behind");
    let base = text
        .lines()
        .find_map(|l| l.strip_prefix("Graph emulator at "))
        .and_then(|l| l.split(',').next())
        .expect("the demo names the emulator's address");
    let addr = base.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the emulator at {addr} is still running"
    );
}
