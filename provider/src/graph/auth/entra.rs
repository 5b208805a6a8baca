//! The Entra ID token endpoint (`{login}/{tenant}/oauth2/v2.0/token`), shared by the
//! client-secret and OIDC flows, and what its errors mean for the person running
//! Terraform. Only the first line of `error_description` is kept (the rest is trace
//! ids); secrets and assertions go in the form body only, never in a message.

use super::{AccessToken, AuthError, claims};
use crate::config::Secret;
use crate::graph::retry::{RetryPolicy, is_transient_status, parse_retry_after};
use serde_json::Value;
use std::time::{Duration, SystemTime};

pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts at the token endpoint before giving up, and the longest wait between two.
const TOKEN_ATTEMPTS: u32 = 4;
const MAX_TOKEN_RETRY_WAIT: Duration = Duration::from_secs(30);
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `{graph}/.default`, the scope of a client-credentials token for Graph.
pub(crate) fn graph_scope(graph_endpoint: &url::Url) -> String {
    format!("{}/.default", graph_endpoint.as_str().trim_end_matches('/'))
}

/// The tenant a flow needs, or an error saying how to set it.
pub(crate) fn require_tenant(tenant_id: Option<&str>, flow: &str) -> Result<String, AuthError> {
    let tenant = tenant_id.map(str::trim).filter(|t| !t.is_empty());
    let Some(tenant) = tenant else {
        return Err(AuthError::new(
            "Tenant id missing",
            format!(
                "Signing in with {flow} needs the tenant: set tenant_id or ARM_TENANT_ID to the \
                 directory (tenant) id of your Entra ID tenant."
            ),
        ));
    };
    if tenant
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '%' | '\\'))
    {
        return Err(AuthError::new(
            "Invalid tenant id",
            format!(
                "{tenant:?} is not a tenant id. Set tenant_id or ARM_TENANT_ID to the directory \
                 (tenant) id, a GUID such as 00000000-0000-0000-0000-000000000000."
            ),
        ));
    }
    Ok(tenant.to_owned())
}

/// `{login}/{tenant}/oauth2/v2.0/token`, keeping any path the login endpoint has.
pub(crate) fn token_url(login_endpoint: &url::Url, tenant: &str) -> url::Url {
    let mut url = login_endpoint.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
    }
    url
}

/// What the token endpoint is asked with.
pub(crate) enum Credential<'a> {
    Secret(&'a Secret),
    /// A federated token; its `iss`/`sub`/`aud` (not secret) explain a mismatch.
    Assertion(&'a Secret),
}

/// One application sign-in target: tenant, client id, scope.
#[derive(Clone, Debug)]
pub(crate) struct TokenEndpoint {
    pub url: url::Url,
    pub scope: String,
    pub tenant_id: String,
    pub client_id: String,
}

impl TokenEndpoint {
    pub(crate) fn new(
        login_endpoint: &url::Url,
        graph_endpoint: &url::Url,
        tenant_id: &str,
        client_id: &str,
    ) -> Self {
        TokenEndpoint {
            url: token_url(login_endpoint, tenant_id),
            scope: graph_scope(graph_endpoint),
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// Exchanges the credential for a Graph token. `source` describes the flow in
    /// errors and logs ("client secret", "OIDC token").
    pub(crate) async fn exchange(
        &self,
        http: &reqwest::Client,
        credential: Credential<'_>,
        source: &str,
    ) -> Result<AccessToken, AuthError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("scope", &self.scope),
        ];
        match &credential {
            Credential::Secret(s) => form.push(("client_secret", s.expose())),
            Credential::Assertion(a) => {
                form.push(("client_assertion_type", JWT_BEARER));
                form.push(("client_assertion", a.expose()));
            }
        }
        tracing::debug!(
            source,
            tenant = %self.tenant_id,
            client_id = %self.client_id,
            token_url = %self.url,
            "requesting a Microsoft Graph token"
        );
        // Token requests are idempotent, so throttling, transient server errors and lost
        // connections are retried, as Graph requests are.
        let policy = RetryPolicy::default();
        let mut attempt = 0;
        let (status, body) = loop {
            attempt += 1;
            let sent = http
                .post(self.url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&form)
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await;
            let retry_after = match sent {
                Err(e) if attempt >= TOKEN_ATTEMPTS => {
                    return Err(AuthError::new(
                        "Cannot reach the Entra ID token endpoint",
                        format!(
                            "Signing in with {source} failed after {attempt} attempts: {}. Check \
                             login_endpoint / environment and the network (proxy, firewall).",
                            error_chain(&e)
                        ),
                    ));
                }
                Err(e) => {
                    tracing::debug!(
                        source,
                        attempt,
                        "token request failed, retrying: {}",
                        error_chain(&e)
                    );
                    None
                }
                Ok(response)
                    if is_transient_status(response.status().as_u16())
                        && attempt < TOKEN_ATTEMPTS =>
                {
                    tracing::debug!(
                        source,
                        attempt,
                        status = response.status().as_u16(),
                        "token endpoint busy, retrying"
                    );
                    parse_retry_after(
                        response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()),
                    )
                }
                Ok(response) => {
                    let status = response.status();
                    let body = response.bytes().await.map_err(|e| {
                        AuthError::new(
                            "Cannot read the Entra ID token endpoint's answer",
                            format!("Signing in with {source} failed: {}.", error_chain(&e)),
                        )
                    })?;
                    break (status, body);
                }
            };
            tokio::time::sleep(
                policy
                    .backoff(attempt, retry_after)
                    .min(MAX_TOKEN_RETRY_WAIT),
            )
            .await;
        };
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            return Err(self.explain(status.as_u16(), json.as_ref(), &credential, source));
        }
        let Some(access_token) = json
            .as_ref()
            .and_then(|j| j.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Err(AuthError::new(
                "Unexpected answer from the Entra ID token endpoint",
                format!(
                    "{} answered HTTP {status} without an access_token. Check login_endpoint.",
                    self.url
                ),
            ));
        };
        let what = format!("the access token issued for {source}");
        let decoded = claims::decode(access_token, &what)?;
        let expires_in = json
            .as_ref()
            .and_then(|j| j.get("expires_in"))
            .and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
        let expires_at = match (expires_in, decoded.expires_at) {
            (Some(secs), _) => claims::expiry(SystemTime::now(), secs, &what)?,
            (None, Some(exp)) => exp,
            (None, None) => {
                return Err(AuthError::new(
                    "Unexpected answer from the Entra ID token endpoint",
                    format!("{what} has neither expires_in nor an exp claim."),
                ));
            }
        };
        Ok(AccessToken {
            secret: Secret::new(access_token),
            expires_at,
            claims: decoded.claims,
        })
    }

    /// Turns an Entra OAuth error into what to do about it.
    fn explain(
        &self,
        status: u16,
        body: Option<&Value>,
        credential: &Credential<'_>,
        source: &str,
    ) -> AuthError {
        let field = |k: &str| body.and_then(|b| b.get(k)).and_then(Value::as_str);
        let Some(error) = field("error") else {
            return AuthError::new(
                "Sign-in failed",
                format!(
                    "{} answered HTTP {status} without an OAuth error. Check login_endpoint \
                     (PSOXY_LOGIN_ENDPOINT) and environment (ARM_ENVIRONMENT).",
                    self.url
                ),
            );
        };
        let description = field("error_description")
            .and_then(|d| d.lines().next())
            .unwrap_or("")
            .trim()
            .to_owned();
        let code = body
            .and_then(|b| b.get("error_codes"))
            .and_then(Value::as_array)
            .and_then(|codes| codes.first())
            .and_then(Value::as_u64)
            .or_else(|| aadsts_code(&description));
        let (tenant, client) = (&self.tenant_id, &self.client_id);
        let said = if description.is_empty() {
            format!("Entra ID answered HTTP {status} {error}.")
        } else {
            format!("Entra ID answered HTTP {status} {error}: {description}")
        };
        let (summary, advice) = match code {
            Some(700016) => (
                "Unknown client id",
                format!(
                    "No application with client id {client} exists in tenant {tenant}. Set \
                     client_id / ARM_CLIENT_ID to the application's \"Application (client) ID\" \
                     — a common mistake is to use the object id of the application or of its \
                     enterprise application (service principal) — and check that tenant_id / \
                     ARM_TENANT_ID is the tenant the application is registered in."
                ),
            ),
            Some(7000215) => (
                "Invalid client secret",
                format!(
                    "The client secret for client id {client} was rejected. Set client_secret / \
                     ARM_CLIENT_SECRET to the secret's Value (shown once when it was created), \
                     not its Secret ID, and check that it belongs to this application and has \
                     not been deleted."
                ),
            ),
            Some(7000222) => (
                "Expired client secret",
                format!(
                    "The client secret for client id {client} has expired. Create a new one \
                     (Certificates & secrets) and set client_secret / ARM_CLIENT_SECRET."
                ),
            ),
            Some(70021) => (
                "No matching federated identity credential",
                format!(
                    "The application with client id {client} has no federated identity \
                     credential matching the presented token{}. Its issuer, subject and audience \
                     must equal a credential's exactly (for GitHub Actions the subject is e.g. \
                     repo:ORG/REPO:ref:refs/heads/main or repo:ORG/REPO:environment:NAME; the \
                     audience is usually api://AzureADTokenExchange). A credential created a \
                     moment ago may take a minute to take effect.",
                    assertion_summary(credential)
                ),
            ),
            Some(700024) | Some(50027) => (
                "Unusable OIDC token",
                format!(
                    "The OIDC token{} is expired or malformed. Tokens from pipelines live a few \
                     minutes: request a fresh one (oidc_token / ARM_OIDC_TOKEN, \
                     oidc_token_file_path / ARM_OIDC_TOKEN_FILE_PATH).",
                    assertion_summary(credential)
                ),
            ),
            Some(90002) | Some(900023) | Some(90023) => (
                "Unknown tenant",
                format!(
                    "Tenant {tenant} was not found at {}. Check tenant_id / ARM_TENANT_ID (the \
                     directory id, not a subscription id) and that environment / ARM_ENVIRONMENT \
                     is the cloud the tenant lives in.",
                    self.url.origin().ascii_serialization()
                ),
            ),
            Some(7000229) => (
                "Application has no service principal",
                format!(
                    "Client id {client} has no service principal (enterprise application) in \
                     tenant {tenant}. Create it, e.g. `az ad sp create --id {client}`."
                ),
            ),
            Some(7000112) => (
                "Application disabled",
                format!(
                    "The service principal of client id {client} is disabled in tenant {tenant} \
                     (Enterprise applications → Properties → Enabled for users to sign in)."
                ),
            ),
            Some(7000216) => (
                "No credential sent",
                format!("The token request for client id {client} carried no secret or assertion."),
            ),
            Some(500011) | Some(1002012) => (
                "Wrong resource for this cloud",
                format!(
                    "Entra ID does not know the resource {}. Check graph_endpoint / \
                     environment (ARM_ENVIRONMENT): tokens do not cross clouds.",
                    self.scope
                ),
            ),
            _ if status == 400 && error == "invalid_request" && description.contains("enant") => (
                "Unknown tenant",
                format!("Check tenant_id / ARM_TENANT_ID ({tenant})."),
            ),
            _ => (
                "Sign-in failed",
                format!(
                    "Signing in as client id {client} in tenant {tenant} with {source} failed."
                ),
            ),
        };
        AuthError::new(summary, format!("{advice}\n{said}"))
    }
}

/// The first `AADSTSnnnn` code of a description.
fn aadsts_code(description: &str) -> Option<u64> {
    let rest = &description[description.find("AADSTS")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// " (issuer X, subject Y, audience Z)" of an assertion: not secret, and exactly what a
/// federated credential must match.
fn assertion_summary(credential: &Credential<'_>) -> String {
    let Credential::Assertion(jwt) = credential else {
        return String::new();
    };
    match claims::payload(jwt.expose(), "the OIDC token") {
        Ok(map) => {
            let get = |k| claims::string_claim(&map, k).unwrap_or_else(|| "(none)".into());
            format!(
                " (issuer {}, subject {}, audience {})",
                get("iss"),
                get("sub"),
                get("aud")
            )
        }
        Err(_) => " (which is not a readable JWT)".into(),
    }
}

/// An error and its causes on one line ("error sending request …: connection refused").
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_and_scope() {
        let login = url::Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            token_url(&login, "t1").as_str(),
            "http://127.0.0.1:9/t1/oauth2/v2.0/token"
        );
        let login = url::Url::parse("https://login.example/prefix").unwrap();
        assert_eq!(
            token_url(&login, "t1").as_str(),
            "https://login.example/prefix/t1/oauth2/v2.0/token"
        );
        let graph = url::Url::parse("https://graph.microsoft.us/").unwrap();
        assert_eq!(graph_scope(&graph), "https://graph.microsoft.us/.default");
    }

    #[test]
    fn tenant_is_required_and_checked() {
        let e = require_tenant(None, "a client secret").unwrap_err();
        assert!(e.detail.contains("set tenant_id or ARM_TENANT_ID"), "{e}");
        assert!(require_tenant(Some("a/b"), "x").is_err());
        assert_eq!(require_tenant(Some(" t "), "x").unwrap(), "t");
    }

    #[test]
    fn aadsts_codes_are_found_in_descriptions() {
        assert_eq!(aadsts_code("AADSTS7000215: Invalid"), Some(7000215));
        assert_eq!(aadsts_code("nothing"), None);
    }

    /// Answers each connection with the next scripted (status, body), then stops.
    async fn scripted(answers: Vec<(u16, String)>) -> (url::Url, tokio::task::JoinHandle<usize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let handle = tokio::spawn(async move {
            let mut served = 0;
            for (status, body) in answers {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let _ = conn.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nRetry-After: 0\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(reply.as_bytes()).await.unwrap();
                served += 1;
            }
            served
        });
        (url, handle)
    }

    #[tokio::test]
    async fn throttled_and_unavailable_answers_are_retried() {
        let token = crate::graph::auth::tests_support::unsigned_jwt(&serde_json::json!({
            "tid": "t", "oid": "o", "appid": "c", "exp": 4_000_000_000u64
        }));
        let ok =
            serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token})
                .to_string();
        let (login, served) =
            scripted(vec![(429, "{}".into()), (503, "{}".into()), (200, ok)]).await;
        let graph = url::Url::parse("https://graph.microsoft.com").unwrap();
        let endpoint = TokenEndpoint::new(&login, &graph, "t", "c");
        let secret = Secret::new("s");
        let got = endpoint
            .exchange(
                &reqwest::Client::new(),
                Credential::Secret(&secret),
                "client secret",
            )
            .await
            .expect("third attempt succeeds");
        assert_eq!(got.claims.object_id.as_deref(), Some("o"));
        assert_eq!(served.await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried() {
        let refusal = serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}).to_string();
        let (login, served) = scripted(vec![(401, refusal)]).await;
        let graph = url::Url::parse("https://graph.microsoft.com").unwrap();
        let endpoint = TokenEndpoint::new(&login, &graph, "t", "c");
        let secret = Secret::new("s");
        let err = endpoint
            .exchange(
                &reqwest::Client::new(),
                Credential::Secret(&secret),
                "client secret",
            )
            .await
            .unwrap_err();
        assert!(
            err.detail.contains("7000215") || err.summary.contains("secret"),
            "{err}"
        );
        assert_eq!(served.await.unwrap(), 1, "one request only");
    }
}
