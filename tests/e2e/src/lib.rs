//! Helpers for the end-to-end tests: build the provider and the Graph emulator, run the
//! real `terraform` binary against them in a scratch directory through a CLI
//! configuration with `dev_overrides`, and read what came back.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Directory holding the debug binaries of the provider and the emulator.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Build once per test process; cargo's own lock makes concurrent runs safe, and
        // an up-to-date build costs well under a second.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--quiet",
                "--bins",
                "-p",
                "terraform-provider-psoxy",
                "-p",
                "graph-emulator",
            ])
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "building the provider and emulator failed"
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        target.join("debug")
    })
}

pub fn provider_binary() -> PathBuf {
    bin_dir().join("terraform-provider-psoxy")
}

pub fn emulator_binary() -> PathBuf {
    bin_dir().join("graph-emulator")
}

/// What a terraform command printed, and whether it succeeded.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Both streams, for assertions about messages wherever Terraform put them.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Both streams with whitespace runs collapsed: Terraform wraps diagnostics at its
    /// terminal width, so phrases are matched on this form.
    pub fn flat(&self) -> String {
        self.all().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success, "terraform failed:\n{}", self.all());
        self
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.success,
            "terraform unexpectedly succeeded:\n{}",
            self.all()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A scratch Terraform working directory using this build of the provider.
pub struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new(main_tf: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("psoxy-e2e-")
            .tempdir()
            .expect("temp dir");
        let cli_config = dir.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"psoxy/psoxy\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                bin_dir().display()
            ),
        )
        .expect("write CLI config");
        let ws = Self {
            dir,
            env: vec![
                (
                    "TF_CLI_CONFIG_FILE".into(),
                    cli_config.display().to_string(),
                ),
                ("TF_IN_AUTOMATION".into(), "1".into()),
                ("CHECKPOINT_DISABLE".into(), "1".into()),
                ("TF_INPUT".into(), "0".into()),
            ],
        };
        if !main_tf.contains("required_providers") {
            ws.write(
                "versions.tf",
                "terraform {\n  required_providers {\n    psoxy = { source = \"psoxy/psoxy\" }\n  }\n}\n",
            );
        }
        ws.write("main.tf", main_tf);
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.dir.path().join(name), contents).expect("write file");
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    pub fn terraform(&self, args: &[&str]) -> Run {
        self.terraform_with_env(args, &[])
    }

    pub fn terraform_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new("terraform");
        cmd.current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null());
        // The surrounding environment must not leak credentials or log settings in.
        for var in ["TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"] {
            cmd.env_remove(var);
        }
        for (key, _) in std::env::vars() {
            if key.starts_with("ARM_") || key.starts_with("PSOXY_") {
                cmd.env_remove(key);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("run terraform"))
    }
}

/// A running Graph emulator, stopped when dropped.
pub struct Emulator {
    child: Child,
    pub base_url: String,
}

impl Emulator {
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(emulator_binary())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start graph-emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read base URL");
        let base_url = line.trim().to_owned();
        assert!(
            base_url.starts_with("http"),
            "emulator printed {base_url:?}"
        );
        Self { child, base_url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
