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

/// `gpg` with its own keyring in `home`.
fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--no-tty"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run gpg (install gnupg)")
}

/// A throw-away RSA signing key (registries take RSA), made in a keyring of its own;
/// returns its fingerprint.
fn throwaway_key(home: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let made = gpg(
        home,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "Psoxy Release Test <release-test@psoxy.invalid>",
            "rsa2048",
            "sign",
            "1d",
        ],
    );
    assert_ok("gpg --quick-gen-key", &made);
    let listed = gpg(home, &["--with-colons", "--list-secret-keys"]);
    let text = assert_ok("gpg --list-secret-keys", &listed);
    text.lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_owned())
        .expect("a fingerprint")
}

#[test]
fn make_release_signs_sha256sums_with_gpg_fingerprint_and_says_when_it_does_not() {
    let out = temp_dir("psoxy-dist-signed-");
    let home = out.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    let fingerprint = throwaway_key(&home);
    let dist = out.path().join("dist");
    let made = make(
        "release",
        &[
            ("DIST", dist.as_path()),
            ("GNUPGHOME", home.as_path()),
            ("GPG_FINGERPRINT", Path::new(&fingerprint)),
        ],
    );
    let said = String::from_utf8_lossy(&made.stdout).to_string();
    assert!(said.contains("Signing"), "{said}");
    let sums = dist.join(format!("terraform-provider-psoxy_{}_SHA256SUMS", version()));
    let sig = dist.join(format!(
        "terraform-provider-psoxy_{}_SHA256SUMS.sig",
        version()
    ));
    let bytes = std::fs::read(&sig).expect("SHA256SUMS.sig");
    assert!(!bytes.starts_with(b"-----BEGIN"), "binary, not armored");
    let verified = gpg(
        &home,
        &["--verify", sig.to_str().unwrap(), sums.to_str().unwrap()],
    );
    let verdict = String::from_utf8_lossy(&verified.stderr).to_string();
    assert!(verified.status.success(), "{verdict}");
    assert!(verdict.contains("Good signature"), "{verdict}");
    // The signature is over these sums: a changed file no longer verifies.
    let mut changed = std::fs::read(&sums).unwrap();
    changed.extend_from_slice(b"0000  extra.zip\n");
    let tampered = out.path().join("tampered");
    std::fs::write(&tampered, changed).unwrap();
    let check = gpg(
        &home,
        &[
            "--verify",
            sig.to_str().unwrap(),
            tampered.to_str().unwrap(),
        ],
    );
    assert!(!check.status.success(), "a tampered SHA256SUMS verified");

    // Without a key: said so, and no stale signature left beside the new sums.
    let made = make("release", &[("DIST", dist.as_path())]);
    let said = String::from_utf8_lossy(&made.stdout).to_string();
    assert!(said.contains("SHA256SUMS is unsigned"), "{said}");
    assert!(said.contains("GPG_FINGERPRINT"), "{said}");
    assert!(!sig.exists(), "a signature of older sums was left");
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &home)
        .args(["--kill", "gpg-agent"])
        .status();
}

/// The platforms `make release` documents (scripts/release.sh, `# PLATFORMS:`).
fn documented_platforms() -> Vec<String> {
    let script = std::fs::read_to_string(workspace_root().join("scripts/release.sh")).unwrap();
    script
        .lines()
        .find_map(|l| l.strip_prefix("# PLATFORMS:"))
        .expect("a `# PLATFORMS:` line in scripts/release.sh")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A small structural reading of the workflow (no YAML library): every line indents
/// with spaces by a multiple of two, keys are `key:` or `- key:`, and the mapping nests
/// one step at a time; good enough to catch a broken edit, and it yields the jobs.
fn workflow_jobs(text: &str) -> Vec<(String, String)> {
    let mut jobs: Vec<(String, String)> = Vec::new();
    let mut in_jobs = false;
    let mut block_scalar: Option<usize> = None;
    let mut prev_indent = 0usize;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        assert!(!line.contains('\t'), "line {n}: a tab");
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if let Some(min) = block_scalar {
            if body.is_empty() || indent >= min {
                if let (true, Some(job)) = (in_jobs, jobs.last_mut()) {
                    job.1.push_str(line);
                    job.1.push('\n');
                }
                continue;
            }
            block_scalar = None;
        }
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        assert_eq!(indent % 2, 0, "line {n}: odd indentation: {line}");
        assert!(
            indent <= prev_indent + 4,
            "line {n}: indented too far: {line}"
        );
        prev_indent = indent;
        let item = body.strip_prefix("- ").unwrap_or(body);
        let is_key = item
            .split_once(':')
            .is_some_and(|(k, _)| !k.is_empty() && !k.contains(' ') || k.starts_with('"'));
        assert!(
            is_key || body.starts_with("- "),
            "line {n}: neither `key:` nor a list item: {line}"
        );
        if body.ends_with('|') || body.ends_with('>') {
            block_scalar = Some(indent + 2);
        }
        if indent == 0 {
            in_jobs = body == "jobs:";
            continue;
        }
        if in_jobs && indent == 2 {
            jobs.push((body.trim_end_matches(':').to_owned(), String::new()));
        } else if in_jobs && let Some(job) = jobs.last_mut() {
            job.1.push_str(line);
            job.1.push('\n');
        }
    }
    jobs
}

#[test]
fn the_ci_workflow_parses_and_releases_every_documented_platform() {
    let text = std::fs::read_to_string(workspace_root().join(".github/workflows/ci.yml")).unwrap();
    let jobs = workflow_jobs(&text);
    let names: Vec<&str> = jobs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["test", "build", "release"], "{names:?}");
    let job = |name: &str| &jobs.iter().find(|(n, _)| n == name).unwrap().1;

    // Tests run on the three operating systems.
    for os in ["ubuntu-latest", "macos-latest", "windows-latest"] {
        assert!(job("test").contains(os), "test does not run on {os}");
    }
    // Releases happen on a tag, for exactly the documented platforms.
    assert!(text.contains("tags: [\"v*\"]"), "no tag trigger");
    let platforms = documented_platforms();
    assert_eq!(platforms.len(), 6, "{platforms:?}");
    let built: Vec<&str> = job("build")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- platform: "))
        .collect();
    assert_eq!(built, platforms, "built (left), documented (right)");
    for p in &platforms {
        let (os, arch) = p.split_once('_').unwrap();
        assert!(["linux", "darwin", "windows"].contains(&os), "{p}");
        assert!(["amd64", "arm64"].contains(&arch), "{p}");
    }
    // The release job signs the sums and publishes the signature.
    let release = job("release");
    for needed in [
        "GPG_FINGERPRINT",
        "make release",
        "SHA256SUMS.sig",
        "needs: build",
    ] {
        assert!(release.contains(needed), "release job lacks {needed}");
    }
    assert!(job("build").contains("needs: test"));
}

#[test]
fn the_workflow_reader_refuses_broken_yaml() {
    let good = "on:\n  push:\njobs:\n  a:\n    run: |\n      echo x\n  b:\n    x: 1\n";
    assert_eq!(workflow_jobs(good).len(), 2);
    for bad in [
        "jobs:\n\ta:\n",
        "jobs:\n   a:\n",
        "jobs:\n  a:\n          b: 1\n",
        "jobs:\n  a:\n    just words\n",
    ] {
        let r = std::panic::catch_unwind(|| workflow_jobs(bad));
        assert!(r.is_err(), "accepted: {bad:?}");
    }
}
