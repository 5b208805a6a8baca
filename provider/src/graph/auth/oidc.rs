//! Signing in as an application with a federated (OIDC) token instead of a secret: the
//! client-credentials grant with `client_assertion`. The token comes from `oidc_token`,
//! from `oidc_token_file_path` (re-read at each sign-in: tokens on disk rotate), or is
//! requested from the pipeline: GitHub Actions (`ACTIONS_ID_TOKEN_REQUEST_URL` +
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, GET with `audience=api://AzureADTokenExchange`,
//! answer `{"value"}`) or Azure DevOps (`SYSTEM_OIDCREQUESTURI` + `SYSTEM_ACCESSTOKEN`
//! and a service connection id, POST with `api-version=7.1&serviceConnectionId=…`,
//! answer `{"oidcToken"}`), as the azuread provider does.

use super::entra::{self, Credential, REQUEST_TIMEOUT, Target, error_chain, require_tenant};
use super::{AccessToken, AuthError, TokenSource};
use crate::config::Secret;
use async_trait::async_trait;
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;

/// The audience Entra ID expects in a federated token (GitHub requests it explicitly).
pub const AZURE_AD_TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";

/// Where the federated token comes from. `Debug` shows no token.
#[derive(Clone, Debug)]
pub enum AssertionSource {
    /// `oidc_token` / `ARM_OIDC_TOKEN`.
    Token(Secret),
    /// `oidc_token_file_path` / `ARM_OIDC_TOKEN_FILE_PATH`, read at each fetch.
    File(PathBuf),
    /// GitHub Actions' ID token endpoint.
    GitHubActions {
        request_url: url::Url,
        request_token: Secret,
    },
    /// Azure DevOps' pipeline OIDC endpoint for a service connection.
    AzureDevOps {
        request_url: url::Url,
        request_token: Secret,
        service_connection_id: String,
    },
}

impl AssertionSource {
    fn describe(&self) -> String {
        match self {
            AssertionSource::Token(_) => "oidc_token".into(),
            AssertionSource::File(p) => format!("the token file {}", p.display()),
            AssertionSource::GitHubActions { request_url, .. } => format!(
                "GitHub Actions' ID token ({})",
                request_url.host_str().unwrap_or("?")
            ),
            AssertionSource::AzureDevOps {
                service_connection_id,
                ..
            } => format!("Azure DevOps service connection {service_connection_id}"),
        }
    }

    /// The federated token, fetched or read now.
    pub async fn assertion(&self, http: &reqwest::Client) -> Result<Secret, AuthError> {
        let token = match self {
            AssertionSource::Token(t) => t.expose().trim().to_owned(),
            AssertionSource::File(path) => tokio::fs::read_to_string(path).await.map_err(|e| {
                AuthError::new(
                    "Cannot read the OIDC token file",
                    format!(
                        "Reading oidc_token_file_path / ARM_OIDC_TOKEN_FILE_PATH {}: {e}.",
                        path.display()
                    ),
                )
            })?,
            AssertionSource::GitHubActions {
                request_url,
                request_token,
            } => {
                let mut url = request_url.clone();
                url.query_pairs_mut()
                    .append_pair("audience", AZURE_AD_TOKEN_EXCHANGE);
                let request = http.get(url).bearer_auth(request_token.expose());
                request_token_from(request, "GitHub Actions", "value").await?
            }
            AssertionSource::AzureDevOps {
                request_url,
                request_token,
                service_connection_id,
            } => {
                let mut url = request_url.clone();
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "api-version" && k != "serviceConnectionId")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept)
                    .append_pair("api-version", "7.1")
                    .append_pair("serviceConnectionId", service_connection_id);
                let request = http
                    .post(url)
                    .bearer_auth(request_token.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json");
                request_token_from(request, "Azure DevOps", "oidcToken").await?
            }
        };
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::new(
                "Empty OIDC token",
                format!("{} is empty.", self.describe()),
            ));
        }
        Ok(Secret::new(token))
    }
}

async fn request_token_from(
    request: reqwest::RequestBuilder,
    provider: &str,
    field: &str,
) -> Result<String, AuthError> {
    let hint = if provider == "GitHub Actions" {
        "The workflow job needs `permissions: id-token: write`."
    } else {
        "Check ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID and that the task exposes \
         SYSTEM_ACCESSTOKEN (AzureCLI@2 / env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))."
    };
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            AuthError::new(
                "Cannot request the OIDC token",
                format!(
                    "Requesting an ID token from {provider} failed: {}.",
                    error_chain(&e)
                ),
            )
        })?;
    let status = response.status();
    let json: Option<Value> = response.json().await.ok();
    if !status.is_success() {
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
            .and_then(|m| m.lines().next())
            .map(|m| format!(" ({})", m.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        return Err(AuthError::new(
            "Cannot request the OIDC token",
            format!("{provider} answered HTTP {status}{message} to the ID token request. {hint}"),
        ));
    }
    json.as_ref()
        .and_then(|j| j.get(field))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            AuthError::new(
                "Cannot request the OIDC token",
                format!("{provider}'s ID token answer has no {field:?}. {hint}"),
            )
        })
}

/// `Debug` shows no token (`Secret` is redacted).
#[derive(Debug)]
pub struct OidcSource {
    target: Target,
    assertion: AssertionSource,
    http: reqwest::Client,
}

impl OidcSource {
    /// Fails (without I/O) when the tenant is missing.
    pub fn new(
        http: reqwest::Client,
        login_endpoint: &url::Url,
        graph_endpoint: &url::Url,
        tenant_id: Option<&str>,
        client_id: &str,
        assertion: AssertionSource,
    ) -> Result<Self, AuthError> {
        let tenant = require_tenant(tenant_id, "an OIDC token")?;
        Ok(OidcSource {
            target: Target::new(login_endpoint, graph_endpoint, &tenant, client_id),
            assertion,
            http,
        })
    }
}

/// Hands one assertion to the library and keeps what the provider needs afterwards:
/// the error of getting it (an `AuthError` of our own), or its (non-secret) claims.
pub(crate) struct Handover<T> {
    maker: T,
    outcome: Mutex<Option<Result<String, AuthError>>>,
}

impl<T> std::fmt::Debug for Handover<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handover(redacted)")
    }
}

impl<T> Handover<T> {
    fn new(maker: T) -> Self {
        Handover {
            maker,
            outcome: Mutex::new(None),
        }
    }

    /// Our error, if getting the assertion failed; else the summary kept on success.
    fn outcome(&self) -> Option<Result<String, AuthError>> {
        self.outcome.lock().ok()?.take()
    }
}

/// Produces the assertion on the library's request (it may ask again on a retry).
#[async_trait]
pub(crate) trait MakeAssertion: Send + Sync {
    /// The assertion and a summary of it that may be shown.
    async fn make(&self) -> Result<(Secret, String), AuthError>;
}

#[async_trait]
impl<T: MakeAssertion> ClientAssertion for Handover<T> {
    async fn secret(
        &self,
        _options: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        let result = self.maker.make().await;
        let (kept, answer) = match result {
            Ok((assertion, summary)) => (Ok(summary), Ok(assertion.expose().to_owned())),
            // The library only passes this on; `exchange` reports our own error.
            Err(e) => (
                Err(e),
                Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "no client assertion",
                )),
            ),
        };
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(kept);
        }
        answer
    }
}

struct Federated {
    source: AssertionSource,
    http: reqwest::Client,
}

#[async_trait]
impl MakeAssertion for Federated {
    async fn make(&self) -> Result<(Secret, String), AuthError> {
        let jwt = self.source.assertion(&self.http).await?;
        let summary = entra::assertion_summary(jwt.expose());
        Ok((jwt, summary))
    }
}

/// Exchanges what `maker` produces for a Graph token through the library's
/// client-assertion credential; `credential` says what it was for explanations.
pub(crate) async fn exchange<T: MakeAssertion>(
    target: &Target,
    http: &reqwest::Client,
    maker: T,
    source: &str,
    credential: impl FnOnce(Option<String>) -> Credential,
) -> Result<AccessToken, AuthError> {
    tracing::debug!(
        source,
        tenant = %target.tenant_id,
        client_id = %target.client_id,
        token_url = %target.token_url(),
        "requesting a Microsoft Graph token"
    );
    let (client_options, recorder) = entra::client_options(http, Some(&target.authority()), None);
    let options = ClientAssertionCredentialOptions { client_options };
    let handover = std::sync::Arc::new(Handover::new(maker));
    // A new credential per fetch: `TokenCache` is the one cache (see client_secret).
    let library = ClientAssertionCredential::new(
        target.tenant_id.clone(),
        target.client_id.clone(),
        Shared(handover.clone()),
        Some(options),
    )
    .map_err(|e| {
        AuthError::new(
            "Invalid sign-in settings",
            entra::Failure::from_error(&e).message,
        )
    })?;
    let what = format!("the access token issued for {source}");
    entra::fetch(
        library.as_ref(),
        &target.scope,
        &what,
        &recorder,
        |failure| {
            let summary = match handover.outcome() {
                Some(Err(ours)) => return ours,
                Some(Ok(summary)) => Some(summary),
                None => None,
            };
            target.explain(failure, &credential(summary), source)
        },
    )
    .await
}

/// The library takes its assertion provider by value; this lets us keep a handle.
struct Shared<T>(std::sync::Arc<Handover<T>>);

impl<T> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait]
impl<T: MakeAssertion> ClientAssertion for Shared<T> {
    async fn secret(
        &self,
        options: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.0.secret(options).await
    }
}

#[async_trait]
impl TokenSource for OidcSource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let source = format!("an OIDC token from {}", self.assertion.describe());
        exchange(
            &self.target,
            &self.http,
            Federated {
                source: self.assertion.clone(),
                http: self.http.clone(),
            },
            &source,
            Credential::Federated,
        )
        .await
    }

    fn describe(&self) -> String {
        format!(
            "OIDC token from {} for client id {} in tenant {}",
            self.assertion.describe(),
            self.target.client_id,
            self.target.tenant_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;
    use serde_json::json;

    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    const SUBJECT: &str = "repo:psoxy/infra:ref:refs/heads/main";

    fn assertion(subject: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        unsigned_jwt(&json!({
            "iss": ISSUER, "sub": subject, "aud": AZURE_AD_TOKEN_EXCHANGE,
            "iat": now, "nbf": now, "exp": now + 600,
        }))
    }

    fn source(emu: &Emu, assertion: AssertionSource) -> OidcSource {
        OidcSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            assertion,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_literal_token_is_exchanged() {
        let emu = Emu::start().await;
        emu.add_fic(ISSUER, SUBJECT, AZURE_AD_TOKEN_EXCHANGE).await;
        let jwt = assertion(SUBJECT);
        let s = source(&emu, AssertionSource::Token(Secret::new(&jwt)));
        let token = s.fetch().await.unwrap();
        assert_eq!(token.claims.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        assert_no_leak(&[&format!("{s:?}"), &s.describe()], &[&jwt]);
        emu.stop().await;
    }

    #[tokio::test]
    async fn a_token_file_is_read_at_each_fetch() {
        let emu = Emu::start().await;
        emu.add_fic(ISSUER, SUBJECT, AZURE_AD_TOKEN_EXCHANGE).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let s = source(&emu, AssertionSource::File(path.clone()));
        let e = s.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Cannot read the OIDC token file");
        assert!(e.detail.contains(&path.display().to_string()), "{e}");

        std::fs::write(&path, format!("{}\n", assertion("repo:someone/else:ref:x"))).unwrap();
        let e = s.fetch().await.unwrap_err();
        assert_eq!(e.summary, "No matching federated identity credential");
        assert!(e.detail.contains("AADSTS70021"), "{e}");
        assert!(e.detail.contains("subject repo:someone/else:ref:x"), "{e}");
        assert!(e.detail.contains(&format!("issuer {ISSUER}")), "{e}");
        assert!(
            e.detail.contains("audience api://AzureADTokenExchange"),
            "{e}"
        );

        // Rotated on disk: the next fetch reads the new token.
        let jwt = assertion(SUBJECT);
        std::fs::write(&path, &jwt).unwrap();
        let token = s.fetch().await.unwrap();
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        assert_no_leak(&[&e.to_string(), &format!("{s:?}")], &[&jwt]);
        emu.stop().await;
    }

    #[tokio::test]
    async fn github_actions_is_asked_for_a_token() {
        let emu = Emu::start().await;
        emu.add_fic(ISSUER, SUBJECT, AZURE_AD_TOKEN_EXCHANGE).await;
        let jwt = assertion(SUBJECT);
        let responder = OneShotResponder::start(200, json!({ "value": jwt })).await;
        let request_url =
            url::Url::parse(&format!("{}/idtoken?api-version=2.0", responder.base)).unwrap();
        let s = source(
            &emu,
            AssertionSource::GitHubActions {
                request_url,
                request_token: Secret::new("gh-request-token-123"),
            },
        );
        let token = s.fetch().await.unwrap();
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        let request = responder.request().await;
        assert!(
            request.starts_with(
                "GET /idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange "
            ),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer gh-request-token-123"),
            "{request}"
        );
        assert_no_leak(
            &[&format!("{s:?}"), &s.describe()],
            &["gh-request-token-123", &jwt],
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn a_refused_github_request_says_what_to_fix() {
        let responder = OneShotResponder::start(403, json!({"message": "nope"})).await;
        let s = AssertionSource::GitHubActions {
            request_url: url::Url::parse(&format!("{}/idtoken?x=1", responder.base)).unwrap(),
            request_token: Secret::new("gh-request-token-123"),
        };
        let e = s.assertion(&reqwest::Client::new()).await.unwrap_err();
        assert!(e.detail.contains("id-token: write"), "{e}");
        assert!(e.detail.contains("403") && e.detail.contains("nope"), "{e}");
        assert_no_leak(&[&e.to_string()], &["gh-request-token-123"]);
    }

    #[tokio::test]
    async fn azure_devops_is_asked_for_a_token() {
        let responder = OneShotResponder::start(200, json!({"oidcToken": "ado.jwt.x"})).await;
        let s = AssertionSource::AzureDevOps {
            request_url: url::Url::parse(&format!(
                "{}/org/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken",
                responder.base
            ))
            .unwrap(),
            request_token: Secret::new("ado-access-token"),
            service_connection_id: "sc-1".into(),
        };
        let token = s.assertion(&reqwest::Client::new()).await.unwrap();
        assert_eq!(token.expose(), "ado.jwt.x");
        let request = responder.request().await;
        assert!(
            request.starts_with(
                "POST /org/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken?api-version=7.1&serviceConnectionId=sc-1 "
            ),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer ado-access-token")
        );
    }
}
