//! Signing in as the person (or pipeline) logged in to the Azure CLI:
//! `az account get-access-token --scope {graph}/.default [--tenant T] --output json`.
//! The CLI keeps and refreshes its own tokens; this source asks it again whenever the
//! cache needs a new one. Its failures ("Please run 'az login'", not installed, another
//! tenant, another cloud) become errors that say which `az` command fixes them.

use super::entra::graph_scope;
use super::{AccessToken, AuthError, TokenSource, claims};
use crate::catalog::Cloud;
use crate::config::Secret;
use async_trait::async_trait;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug)]
pub struct AzureCliSource {
    program: PathBuf,
    path: Option<OsString>,
    scope: String,
    tenant_id: Option<String>,
    cloud: Cloud,
    timeout: Duration,
}

impl AzureCliSource {
    pub fn new(graph_endpoint: &url::Url, tenant_id: Option<&str>, cloud: Cloud) -> Self {
        AzureCliSource {
            program: PathBuf::from(if cfg!(windows) { "az.cmd" } else { "az" }),
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

    /// The program to run instead of `az` (a path, or a name looked up on `PATH`).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// `PATH` for the `az` child process only (also used to find the program).
    pub fn with_path(mut self, path: impl Into<OsString>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The arguments after `az`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "account".to_owned(),
            "get-access-token".to_owned(),
            "--scope".to_owned(),
            self.scope.clone(),
        ];
        if let Some(t) = &self.tenant_id {
            args.push("--tenant".to_owned());
            args.push(t.clone());
        }
        args.push("--output".to_owned());
        args.push("json".to_owned());
        args
    }

    /// The command that signs in to the right tenant (and cloud), for messages.
    pub fn login_command(&self) -> String {
        login_command(self.tenant_id.as_deref(), self.cloud)
    }

    async fn run(&self) -> Result<std::process::Output, AuthError> {
        let mut attempts = 0;
        loop {
            let mut cmd = tokio::process::Command::new(&self.program);
            cmd.args(self.args())
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            if let Some(path) = &self.path {
                cmd.env("PATH", path);
            }
            match tokio::time::timeout(self.timeout, cmd.output()).await {
                Err(_) => {
                    return Err(AuthError::new(
                        "Azure CLI did not answer",
                        format!(
                            "`az account get-access-token` did not finish within {}s. Run it \
                             yourself to see whether it waits for input, then sign in with `{}`.",
                            self.timeout.as_secs(),
                            self.login_command()
                        ),
                    ));
                }
                Ok(Ok(output)) => return Ok(output),
                // A script just written by another thread may still be open for writing
                // in a forked child ("Text file busy"); it clears at once.
                Ok(Err(e)) if e.raw_os_error() == Some(26) && cfg!(unix) && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(AuthError::new(
                        "Azure CLI not found",
                        format!(
                            "`{}` is not installed or not on PATH. Install the Azure CLI \
                             (https://aka.ms/azure-cli) and run `{}`, or sign in as an \
                             application instead: ARM_CLIENT_ID + ARM_CLIENT_SECRET, or \
                             ARM_USE_OIDC=true with ARM_CLIENT_ID and an OIDC token.",
                            self.program.display(),
                            self.login_command()
                        ),
                    ));
                }
                Ok(Err(e)) => {
                    return Err(AuthError::new(
                        "Cannot run the Azure CLI",
                        format!("Starting `{}` failed: {e}.", self.program.display()),
                    ));
                }
            }
        }
    }

    fn explain_failure(&self, stderr: &str, status: std::process::ExitStatus) -> AuthError {
        let wanted = self.tenant_id.as_deref().unwrap_or("your tenant");
        let login = self.login_command();
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
                    "`az {}` failed. If you are not signed in, run `{login}`.",
                    self.args().join(" ")
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
            program = %self.program.display(),
            args = %self.args().join(" "),
            "asking the Azure CLI for a Microsoft Graph token"
        );
        let output = self.run().await?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.explain_failure(&stderr, output.status));
        }
        let unexpected = |why: &str| {
            AuthError::new(
                "Unexpected answer from the Azure CLI",
                format!(
                    "`az account get-access-token` {why}. Update the Azure CLI (`az upgrade`) \
                     and run `{}`.",
                    self.login_command()
                ),
            )
        };
        let json: Value =
            serde_json::from_slice(&output.stdout).map_err(|_| unexpected("did not print JSON"))?;
        let access_token = json
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unexpected("printed no accessToken"))?;
        let decoded = claims::decode(access_token, "the access token from the Azure CLI")?;
        let mut token_claims = decoded.claims;
        if token_claims.tenant_id.is_none() {
            token_claims.tenant_id = json
                .get("tenant")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        let expires_on = json.get("expires_on").and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let expires_at = match (expires_on, decoded.expires_at) {
            (Some(secs), _) => claims::expiry(UNIX_EPOCH, secs, "the Azure CLI's expires_on")?,
            (None, Some(exp)) => exp,
            (None, None) => json
                .get("expiresOn")
                .and_then(Value::as_str)
                .and_then(parse_local_expiry)
                .ok_or_else(|| unexpected("printed no expiry (expires_on / expiresOn)"))?,
        };
        Ok(AccessToken {
            secret: Secret::new(access_token),
            expires_at,
            claims: token_claims,
        })
    }

    fn describe(&self) -> String {
        match &self.tenant_id {
            Some(t) => format!("Azure CLI (az account get-access-token) for tenant {t}"),
            None => "Azure CLI (az account get-access-token) for its default tenant".to_owned(),
        }
    }
}

/// `expiresOn` as older CLIs print it: "2025-01-31 12:34:56.000000", in the machine's
/// local time, whose offset the provider cannot know without a time-zone database. It is
/// read as UTC and capped at one hour from now (tokens from the CLI live 60–90 minutes),
/// so the cache renews early rather than late. Used only when neither `expires_on` nor
/// the token's `exp` is there.
fn parse_local_expiry(text: &str) -> Option<SystemTime> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let parsed = UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
    Some(parsed.min(SystemTime::now() + Duration::from_secs(3600)))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;
    use serde_json::json;

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
            format!("account get-access-token --scope {scope} --tenant {TENANT} --output json")
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
    async fn without_a_tenant_no_tenant_flag_is_passed_and_exp_is_the_fallback() {
        let emu = Emu::start().await;
        let minted = emu.mint(json!({"user": "owner@psoxy.test"})).await;
        let answer =
            json!({"accessToken": minted["access_token"], "tenant": TENANT, "tokenType": "Bearer"});
        let az = FakeAz::logged_in(&answer);
        let token = az.source(&emu.url, None).fetch().await.unwrap();
        assert!(!az.args().contains("--tenant"), "{}", az.args());
        let exp = token
            .expires_at
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(exp.abs_diff(minted["expires_on"].as_u64().unwrap()) <= 1);
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

    #[test]
    fn local_expiry_is_parsed_and_capped() {
        let t = parse_local_expiry("1970-01-02 00:00:01.000000").unwrap();
        assert_eq!(t, UNIX_EPOCH + Duration::from_secs(86_401));
        let far = parse_local_expiry("2099-01-01 00:00:00").unwrap();
        assert!(far <= SystemTime::now() + Duration::from_secs(3601));
        assert!(parse_local_expiry("yesterday").is_none());
    }
}
