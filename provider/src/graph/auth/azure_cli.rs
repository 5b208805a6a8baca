//! Signing in as the person (or pipeline) logged in to the Azure CLI, through
//! `azure_identity`'s `AzureCliCredential` (`az account get-access-token -o json
//! --scope {graph}/.default [--tenant T]`, Azure CLI 2.54 or newer). The CLI keeps and
//! refreshes its own tokens; this source asks it again whenever the cache needs a new
//! one. The provider runs the command itself (the library's `Executor`), to bound it in
//! time and to read the CLI's own words when it fails ("Please run 'az login'", not
//! installed, another tenant, another cloud), which become errors that say which `az`
//! command fixes them.

use super::entra::{self, graph_scope};
use super::{AccessToken, AuthError, TokenSource};
use crate::catalog::Cloud;
use async_trait::async_trait;
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions, Executor};
use std::ffi::{OsStr, OsString};
use std::process::{ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug)]
pub struct AzureCliSource {
    path: Option<OsString>,
    scope: String,
    tenant_id: Option<String>,
    cloud: Cloud,
    timeout: Duration,
}

/// What the CLI did, as the runner saw it.
#[derive(Debug)]
enum Ran {
    Exited { status: ExitStatus, stderr: String },
    TimedOut,
    CannotStart(String),
}

/// Runs the library's command with the provider's PATH (tests), a time limit and no
/// standard input, and keeps the outcome (never stdout, which holds the token).
#[derive(Debug)]
struct Runner {
    path: Option<OsString>,
    timeout: Duration,
    ran: Mutex<Option<Ran>>,
}

impl Runner {
    fn keep(&self, ran: Ran) {
        if let Ok(mut slot) = self.ran.lock() {
            *slot = Some(ran);
        }
    }
}

#[async_trait]
impl Executor for Runner {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<Output> {
        let mut attempts = 0;
        loop {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            if let Some(path) = &self.path {
                cmd.env("PATH", path);
            }
            match tokio::time::timeout(self.timeout, cmd.output()).await {
                Err(_) => {
                    self.keep(Ran::TimedOut);
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
                Ok(Ok(output)) => {
                    self.keep(Ran::Exited {
                        status: output.status,
                        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    });
                    return Ok(output);
                }
                // A script just written by another thread may still be open for writing
                // in a forked child ("Text file busy"); it clears at once.
                Ok(Err(e)) if e.raw_os_error() == Some(26) && cfg!(unix) && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Err(e)) => {
                    self.keep(Ran::CannotStart(e.to_string()));
                    return Err(e);
                }
            }
        }
    }
}

impl AzureCliSource {
    pub fn new(graph_endpoint: &url::Url, tenant_id: Option<&str>, cloud: Cloud) -> Self {
        AzureCliSource {
            path: None,
            scope: graph_scope(graph_endpoint),
            tenant_id: tenant_id
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            cloud,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `PATH` for the `az` child process only (the shell finds `az` on it).
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command that signs in to the right tenant (and cloud), for messages.
    pub fn login_command(&self) -> String {
        login_command(self.tenant_id.as_deref(), self.cloud)
    }

    fn explain(&self, ran: Option<Ran>, failure: entra::Failure) -> AuthError {
        let login = self.login_command();
        match ran {
            Some(Ran::TimedOut) => AuthError::new(
                "Azure CLI did not answer",
                format!(
                    "`az account get-access-token` did not finish within {}s. Run it yourself \
                     to see whether it waits for input, then sign in with `{login}`.",
                    self.timeout.as_secs()
                ),
            ),
            Some(Ran::CannotStart(why)) => AuthError::new(
                "Cannot run the Azure CLI",
                format!("Starting the Azure CLI failed: {why}."),
            ),
            Some(Ran::Exited { status, stderr }) if !status.success() => {
                self.explain_failure(&stderr, status)
            }
            // It ran and succeeded, but its answer is not a token the library reads.
            _ => AuthError::new(
                "Unexpected answer from the Azure CLI",
                format!(
                    "`az account get-access-token`: {}. Update the Azure CLI (2.54 or newer: \
                     `az upgrade`) and run `{login}`.",
                    failure
                        .message
                        .trim_start_matches("AzureCliCredential authentication failed.")
                        .trim()
                ),
            ),
        }
    }

    fn explain_failure(&self, stderr: &str, status: ExitStatus) -> AuthError {
        let wanted = self.tenant_id.as_deref().unwrap_or("your tenant");
        let login = self.login_command();
        // The shell's "not found" (127; cmd's "is not recognized"): no `az` on PATH.
        if status.code() == Some(127) || stderr.contains("' is not recognized") {
            return AuthError::new(
                "Azure CLI not found",
                format!(
                    "`az` is not installed or not on PATH. Install the Azure CLI \
                     (https://aka.ms/azure-cli) and run `{login}`, or sign in as an \
                     application instead: ARM_CLIENT_ID + ARM_CLIENT_SECRET, or \
                     ARM_USE_OIDC=true with ARM_CLIENT_ID and an OIDC token."
                ),
            );
        }
        // The CLI's own words: its ERROR lines (not WARNING/INFO noise), a few of them.
        let mut said: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("WARNING"))
            .collect();
        if let Some(first_error) = said.iter().position(|l| l.starts_with("ERROR")) {
            said.drain(..first_error);
        }
        said.truncate(4);
        let said = if said.is_empty() {
            format!("The Azure CLI exited with {status} and printed nothing.")
        } else {
            format!("The Azure CLI said: {}", said.join(" "))
        };
        let has = |needle: &str| stderr.contains(needle);
        let (summary, advice) = if has("AADSTS90002")
            || has("AADSTS50020")
            || has("AADSTS90072")
            || has("AADSTS700016")
            || (has("Tenant '") && has("not found"))
            || has("No subscriptions found for")
        {
            (
                "Azure CLI account cannot sign in to this tenant",
                format!(
                    "The account the Azure CLI is signed in with cannot get a token for tenant \
                     {wanted}. Sign in with an account of that tenant: `{login}`; or, if the \
                     tenant id is wrong, fix tenant_id / ARM_TENANT_ID."
                ),
            )
        } else if has("AADSTS500011") || has("AADSTS900382") || has("was not found in the tenant") {
            (
                "Azure CLI is signed in to another cloud",
                format!(
                    "The Azure CLI cannot get a token for {}; it is probably set to another \
                     cloud than environment = {}. Run `{login}`.",
                    self.scope, self.cloud
                ),
            )
        } else if has("az login")
            || has("AADSTS700082")
            || has("AADSTS50173")
            || has("AADSTS50076")
            || has("AADSTS50079")
            || has("AADSTS530003")
            || has("InteractionRequired")
            || has("interaction_required")
        {
            (
                "Azure CLI not signed in",
                format!(
                    "The Azure CLI has no usable sign-in for tenant {wanted} (never signed in, \
                     signed out, or the session expired or needs MFA). Run `{login}` and try \
                     again; pipelines sign in as an application instead (ARM_CLIENT_ID + \
                     ARM_CLIENT_SECRET, or ARM_USE_OIDC=true)."
                ),
            )
        } else {
            (
                "Azure CLI failed",
                format!(
                    "`az account get-access-token --scope {}` failed. If you are not signed \
                     in, run `{login}`.",
                    self.scope
                ),
            )
        };
        AuthError::new(summary, format!("{advice}\n{said}"))
    }
}

/// `az login --tenant T`, preceded by `az cloud set` outside the global cloud.
pub fn login_command(tenant_id: Option<&str>, cloud: Cloud) -> String {
    let login = format!("az login --tenant {}", tenant_id.unwrap_or("<tenant-id>"));
    match cloud {
        Cloud::Global => login,
        Cloud::UsGovL4 | Cloud::UsGovL5 => {
            format!("az cloud set --name AzureUSGovernment && {login}")
        }
        Cloud::China => format!("az cloud set --name AzureChinaCloud && {login}"),
    }
}

#[async_trait]
impl TokenSource for AzureCliSource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        tracing::debug!(
            scope = %self.scope,
            tenant = self.tenant_id.as_deref().unwrap_or("(the CLI's default)"),
            "asking the Azure CLI for a Microsoft Graph token"
        );
        let runner = Arc::new(Runner {
            path: self.path.clone(),
            timeout: self.timeout,
            ran: Mutex::new(None),
        });
        let options = AzureCliCredentialOptions {
            tenant_id: self.tenant_id.clone(),
            executor: Some(runner.clone()),
            ..Default::default()
        };
        let credential = AzureCliCredential::new(Some(options)).map_err(|e| {
            AuthError::new(
                "Invalid tenant id",
                format!(
                    "The Azure CLI cannot be asked for tenant {:?} ({}). Set tenant_id or \
                     ARM_TENANT_ID to the directory (tenant) id.",
                    self.tenant_id.as_deref().unwrap_or(""),
                    entra::Failure::from_error(&e).message
                ),
            )
        })?;
        entra::fetch(
            credential.as_ref(),
            &self.scope,
            "the access token from the Azure CLI",
            &entra::Recorder::default(),
            |failure| {
                let ran = runner.ran.lock().ok().and_then(|mut r| r.take());
                self.explain(ran, failure)
            },
        )
        .await
    }

    fn describe(&self) -> String {
        match &self.tenant_id {
            Some(t) => format!("Azure CLI (az account get-access-token) for tenant {t}"),
            None => "Azure CLI (az account get-access-token) for its default tenant".to_owned(),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;
    use serde_json::{Value, json};
    use std::time::UNIX_EPOCH;

    /// A stand-in `az` in its own directory; `source` puts that directory first on the
    /// child's PATH.
    struct FakeAz {
        dir: tempfile::TempDir,
    }

    impl FakeAz {
        fn new(stdout: &str, stderr: &str, exit: i32) -> Self {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/args.log\"\n\
                 cat <<'PSOXY_EOF'\n{stdout}\nPSOXY_EOF\n\
                 cat >&2 <<'PSOXY_EOF'\n{stderr}\nPSOXY_EOF\nexit {exit}\n"
            );
            let path = dir.path().join("az");
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            FakeAz { dir }
        }

        fn logged_in(answer: &Value) -> Self {
            Self::new(&serde_json::to_string_pretty(answer).unwrap(), "", 0)
        }

        fn source(&self, graph: &url::Url, tenant: Option<&str>) -> AzureCliSource {
            let path = std::env::join_paths(std::iter::once(self.dir.path().to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ))
            .unwrap();
            AzureCliSource::new(graph, tenant, Cloud::Global).with_path(path)
        }

        fn args(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("args.log")).unwrap_or_default()
        }
    }

    fn cli_answer(minted: &Value) -> Value {
        // The real CLI's fields (2.54+: expires_on as unix seconds, expiresOn local time).
        json!({
            "accessToken": minted["access_token"],
            "expiresOn": "2099-01-01 00:00:00.000000",
            "expires_on": minted["expires_on"],
            "subscription": "5f3c0b1e-0000-4000-8000-000000000001",
            "tenant": minted["tenant"],
            "tokenType": "Bearer"
        })
    }

    #[tokio::test]
    async fn the_cli_token_is_used_with_its_claims_and_expiry() {
        let emu = Emu::start().await;
        let minted = emu.mint(json!({"user": "app-admin@psoxy.test"})).await;
        let az = FakeAz::logged_in(&cli_answer(&minted));
        let source = az.source(&emu.url, Some(TENANT));
        let token = source.fetch().await.unwrap();
        assert_eq!(token.claims.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(
            token.claims.object_id.as_deref(),
            Some("00000000-0000-4000-8000-00000000b001")
        );
        assert_eq!(
            token.claims.user_principal_name.as_deref(),
            Some("app-admin@psoxy.test")
        );
        assert_eq!(
            token.expires_at,
            UNIX_EPOCH + Duration::from_secs(minted["expires_on"].as_u64().unwrap())
        );
        let scope = format!("{}/.default", emu.url.as_str().trim_end_matches('/'));
        assert_eq!(
            az.args().trim(),
            format!("account get-access-token -o json --scope {scope} --tenant {TENANT}")
        );
        let org = emu.graph_get(&token, "/v1.0/me").await;
        assert_eq!(org.0, 200, "{}", org.1);
        assert_no_leak(
            &[
                &format!("{source:?}"),
                &source.describe(),
                &format!("{token:?}"),
            ],
            &[token.secret.expose()],
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn without_a_tenant_no_tenant_flag_is_passed() {
        let emu = Emu::start().await;
        let minted = emu.mint(json!({"user": "owner@psoxy.test"})).await;
        let az = FakeAz::logged_in(&cli_answer(&minted));
        az.source(&emu.url, None).fetch().await.unwrap();
        assert!(!az.args().contains("--tenant"), "{}", az.args());
        emu.stop().await;
    }

    /// CLIs before 2.54 print no `expires_on`; the library needs it.
    #[tokio::test]
    async fn an_old_cli_is_told_to_upgrade() {
        let emu = Emu::start().await;
        let minted = emu.mint(json!({"user": "owner@psoxy.test"})).await;
        let answer = json!({"accessToken": minted["access_token"], "expiresOn": "2099-01-01 00:00:00.000000", "tenant": TENANT, "tokenType": "Bearer"});
        let az = FakeAz::logged_in(&answer);
        let e = az.source(&emu.url, None).fetch().await.unwrap_err();
        assert_eq!(e.summary, "Unexpected answer from the Azure CLI");
        assert!(
            e.detail.contains("az upgrade") && e.detail.contains("2.54"),
            "{e}"
        );
        assert_no_leak(
            &[&e.to_string()],
            &[minted["access_token"].as_str().unwrap()],
        );
        emu.stop().await;
    }

    /// The CLI signed in to another tenant (no tenant_id passed to it here, as with a
    /// CLI whose default account is elsewhere): the cache refuses its token before any
    /// Graph call, naming both tenants.
    #[tokio::test]
    async fn a_token_for_another_tenant_is_refused_by_the_cache() {
        use crate::graph::auth::TokenCache;
        let emu = Emu::start().await;
        let other = "22222222-2222-4222-8222-222222222222";
        let minted = emu
            .mint(json!({"user": "app-admin@psoxy.test", "tenant": other}))
            .await;
        let az = FakeAz::logged_in(&cli_answer(&minted));
        let cache = TokenCache::new(
            std::sync::Arc::new(az.source(&emu.url, None)),
            Some(TENANT.into()),
        );
        let e = cache.caller().await.unwrap_err();
        assert_eq!(e.summary, "Signed in to the wrong tenant");
        assert!(e.detail.contains(other) && e.detail.contains(TENANT), "{e}");
        assert!(
            e.detail.contains(&format!("az login --tenant {TENANT}")),
            "{e}"
        );
        assert_no_leak(
            &[&e.to_string()],
            &[minted["access_token"].as_str().unwrap()],
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn not_logged_in_says_az_login_with_the_tenant() {
        let az = FakeAz::new("", "ERROR: Please run 'az login' to setup account.", 1);
        let url = url::Url::parse("https://graph.microsoft.com").unwrap();
        let e = az.source(&url, Some(TENANT)).fetch().await.unwrap_err();
        assert_eq!(e.summary, "Azure CLI not signed in");
        assert!(
            e.detail.contains(&format!("`az login --tenant {TENANT}`")),
            "{e}"
        );
        assert!(
            e.detail
                .contains("ERROR: Please run 'az login' to setup account."),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_tenant_the_account_is_not_in_is_explained() {
        let stderr = "WARNING: something\nERROR: AADSTS50020: User account 'x@other.test' from identity provider 'live.com' does not exist in tenant 'Psoxy Test' and cannot access the application.";
        let az = FakeAz::new("", stderr, 1);
        let url = url::Url::parse("https://graph.microsoft.com").unwrap();
        let e = az.source(&url, Some(TENANT)).fetch().await.unwrap_err();
        assert_eq!(e.summary, "Azure CLI account cannot sign in to this tenant");
        assert!(
            e.detail.contains(&format!("az login --tenant {TENANT}")),
            "{e}"
        );
        assert!(!e.detail.contains("WARNING"), "{e}");
    }

    #[tokio::test]
    async fn a_missing_cli_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::parse("https://graph.microsoft.us").unwrap();
        let e = AzureCliSource::new(&url, Some(TENANT), Cloud::UsGovL4)
            .with_path(dir.path())
            .fetch()
            .await
            .unwrap_err();
        assert_eq!(e.summary, "Azure CLI not found");
        assert!(
            e.detail
                .contains("az cloud set --name AzureUSGovernment && az login --tenant"),
            "{e}"
        );
        assert!(e.detail.contains("ARM_CLIENT_SECRET"), "{e}");
    }

    #[tokio::test]
    async fn garbage_output_is_reported_without_echoing_it() {
        let az = FakeAz::new("this is not json secret-ish", "", 0);
        let url = url::Url::parse("https://graph.microsoft.com").unwrap();
        let e = az.source(&url, None).fetch().await.unwrap_err();
        assert_eq!(e.summary, "Unexpected answer from the Azure CLI");
        assert!(!e.to_string().contains("secret-ish"));
    }
}
