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
        // Benchmarks ask for release binaries with E2E_PROFILE=release.
        let release = std::env::var("E2E_PROFILE").is_ok_and(|p| p == "release");
        let mut args = vec![
            "build",
            "--quiet",
            "--bins",
            "-p",
            "terraform-provider-psoxy",
            "-p",
            "graph-emulator",
        ];
        if release {
            args.push("--release");
        }
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(&args)
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "building the provider and emulator failed"
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        target.join(if release { "release" } else { "debug" })
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

    pub fn with_env(mut self, vars: Vec<(String, String)>) -> Self {
        for (k, v) in vars {
            self.set_env(&k, &v);
        }
        self
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    pub fn terraform(&self, args: &[&str]) -> Run {
        self.terraform_with_env(args, &[])
    }

    /// `terraform apply -auto-approve`.
    pub fn apply(&self) -> Run {
        self.terraform(&["apply", "-auto-approve", "-no-color"])
    }

    /// Fails the test unless `terraform plan` finds nothing to do.
    #[track_caller]
    pub fn assert_plan_empty(&self) {
        let run = self.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
        assert!(run.success, "expected an empty plan:\n{}", run.all());
    }

    pub fn terraform_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut cmd = self.terraform_command(args, extra_env);
        Run::from(cmd.output().expect("run terraform"))
    }

    /// `terraform` with this workspace's environment, for a test that needs to do
    /// something while it runs (interrupt it, say); it writes to pipes.
    pub fn terraform_command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
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
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    /// Runs `terraform` and presses Ctrl-C once `interrupt_when` says so: SIGINT to the
    /// whole process group, provider included, as a terminal does. Returns what
    /// terraform printed.
    #[cfg(unix)]
    pub fn terraform_interrupted(
        &self,
        args: &[&str],
        mut interrupt_when: impl FnMut() -> bool,
    ) -> Run {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.terraform_command(args, &[]);
        cmd.process_group(0);
        // A shell's background job starts with SIGINT ignored, and children inherit
        // that; a terminal's Ctrl-C reaches a foreground terraform with it handled.
        // SAFETY: signal() is async-signal-safe, as pre_exec requires.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("run terraform");
        let group = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !interrupt_when() {
            assert!(
                std::time::Instant::now() < deadline,
                "the moment to interrupt terraform never came"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let status = Command::new("kill")
            .args(["-s", "INT", "--", &format!("-{group}")])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
        Run::from(child.wait_with_output().expect("terraform ends"))
    }

    /// The state as `terraform show -json` prints it: every resource instance's values
    /// by address, with whether it is tainted.
    pub fn state_resources(&self) -> Vec<StateResource> {
        let run = self.terraform(&["show", "-json", "-no-color"]);
        run.assert_success();
        let json = run.json();
        json["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| StateResource {
                address: r["address"].as_str().unwrap_or_default().to_owned(),
                tainted: r["tainted"].as_bool().unwrap_or(false),
                values: r["values"].clone(),
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct StateResource {
    pub address: String,
    pub tainted: bool,
    pub values: serde_json::Value,
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

/// The seeded tenant and the pipeline identity the provider signs in as in tests
/// (tests/graph-emulator/README.md).
pub const TENANT: &str = "00000000-0000-4000-8000-00000000a001";
pub const CI_CLIENT_ID: &str = "00000000-0000-4000-8000-00000000c101";
pub const CI_CLIENT_SECRET: &str = "terraform-ci-secret";

impl Emulator {
    /// Environment that points the provider at this emulator, signed in as the
    /// `terraform-ci` application (Cloud Application Administrator).
    pub fn provider_env(&self) -> Vec<(String, String)> {
        vec![
            ("PSOXY_GRAPH_ENDPOINT".into(), self.base_url.clone()),
            ("PSOXY_LOGIN_ENDPOINT".into(), self.base_url.clone()),
            ("ARM_TENANT_ID".into(), TENANT.into()),
            ("ARM_CLIENT_ID".into(), CI_CLIENT_ID.into()),
            ("ARM_CLIENT_SECRET".into(), CI_CLIENT_SECRET.into()),
            ("ARM_USE_CLI".into(), "false".into()),
        ]
    }

    /// A request to the emulator; returns the status and the JSON body (Null if none).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        http_request(&self.base_url, method, path, body, token)
    }

    /// The emulator's admin side, which stands for what people do in the portal.
    #[track_caller]
    pub fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let (status, json) = self.request(method, &format!("/_emulator/{path}"), body, None);
        assert!(
            (200..300).contains(&status),
            "{method} /_emulator/{path}: {status} {json}"
        );
        json
    }

    /// Graph as a person with Cloud Application Administrator sees it in the portal.
    #[track_caller]
    pub fn portal(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let token = self.admin(
            "POST",
            "tokens",
            Some(&serde_json::json!({"user": "app-admin@psoxy.test"})),
        );
        let token = token["access_token"].as_str().expect("token").to_owned();
        self.request(method, &format!("/v1.0{path}"), body, Some(&token))
    }

    pub fn set_faults(&self, faults: serde_json::Value) {
        self.admin("PUT", "faults", Some(&faults));
    }

    /// Graph requests received since the log was last cleared, with whether each was
    /// an item inside a `$batch` (and so not a round trip of its own).
    pub fn logged_requests(&self) -> Vec<LoggedRequest> {
        let log = self.admin("GET", "requests", None);
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| LoggedRequest {
                method: r["method"].as_str().unwrap_or_default().to_owned(),
                path: r["path"].as_str().unwrap_or_default().to_owned(),
                status: r["status"].as_u64().unwrap_or_default() as u16,
                in_batch: r["batch_item"].as_bool().unwrap_or(false),
                fault: r["fault"].as_str().map(str::to_owned),
                tenant: r["tenant"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// Adds fault rules (tests/graph-emulator/README.md, "Fault rules"), replacing any.
    pub fn set_fault_rules(&self, rules: serde_json::Value) {
        self.set_faults(serde_json::json!({ "rules": rules }));
    }

    /// How many times each fault rule has fired, in the order they were set.
    pub fn fault_rules_fired(&self) -> Vec<u64> {
        self.admin("GET", "faults", None)["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| r["fired"].as_u64().unwrap_or(0))
            .collect()
    }

    /// Per application object id (lower case), the most writes to it or its
    /// sub-resources that were in flight at once since the stats were last cleared
    /// (`GET /_emulator/stats`).
    pub fn peak_writes_in_flight(&self) -> std::collections::BTreeMap<String, u64> {
        self.admin("GET", "stats", None)["peak_writes_in_flight"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(app, n)| (app, n.as_u64().unwrap_or_default()))
            .collect()
    }

    /// Forgets the write-concurrency peaks.
    pub fn clear_stats(&self) {
        self.admin("DELETE", "stats", None);
    }

    /// The directory of `tenant` (or of the home tenant) as the emulator holds it.
    pub fn directory(&self, tenant: Option<&str>) -> serde_json::Value {
        match tenant {
            Some(t) => self.admin("GET", &format!("state?tenant_id={t}"), None),
            None => self.admin("GET", "state", None),
        }
    }

    /// The live applications carrying the provider's tag, in `tenant` (or the home
    /// tenant): what the directory holds, whatever state says. Each is the emulator's
    /// record: `data` (Graph's JSON), `owners`, `fics`.
    pub fn psoxy_applications(&self, tenant: Option<&str>) -> Vec<serde_json::Value> {
        live(&self.directory(tenant)["applications"])
            .into_iter()
            .filter(|a| {
                a["data"]["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "psoxy:managed"))
            })
            .collect()
    }

    /// The live service principals of the application with this client id.
    pub fn service_principals_of(&self, tenant: Option<&str>, client_id: &str) -> usize {
        live(&self.directory(tenant)["service_principals"])
            .iter()
            .filter(|sp| sp["data"]["appId"] == client_id)
            .count()
    }

    /// Graph requests received since the log was last cleared: (method, path, status).
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        let log = self.admin("GET", "requests", None);
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or_default().to_owned(),
                    r["path"].as_str().unwrap_or_default().to_owned(),
                    r["status"].as_u64().unwrap_or_default() as u16,
                )
            })
            .collect()
    }

    pub fn clear_requests(&self) {
        self.admin("DELETE", "requests", None);
    }
}

/// The records of a directory list that are not deleted.
fn live(records: &serde_json::Value) -> Vec<serde_json::Value> {
    records
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["deleted_ms"].is_null())
        .collect()
}

#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub in_batch: bool,
    /// The injected fault that shaped the answer, if any.
    pub fault: Option<String>,
    pub tenant: Option<String>,
}

/// A minimal HTTP/1.1 client for the emulator on loopback (plain HTTP only), so the
/// tests need no HTTP library.
pub fn http_request(
    base_url: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let host = base_url
        .strip_prefix("http://")
        .expect("plain http emulator");
    let mut stream = std::net::TcpStream::connect(host).expect("connect to emulator");
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(payload.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
