//! What every source shares on top of `azure_identity`: the provider's one
//! `reqwest::Client` as the library's transport, the token-endpoint authority,
//! the conversion of the library's token into ours (claims read, expiry checked), and
//! what Entra ID's errors mean for the person running Terraform. Only the first line
//! of `error_description` is kept (the rest is trace ids); a secret or assertion is
//! never put in a message.

use super::{AccessToken, AuthError, claims};
use crate::config::Secret;
use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, Context, ExponentialRetryOptions, HttpClient, Request,
    RetryOptions, Transport,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest one sign-in may take, retries included: the library sets no deadline
/// of its own, and a token endpoint that never answers must not hang `terraform`.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(150);
/// Timeout of one request for an OIDC token from a pipeline.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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
    // The library puts the tenant in the token URL and accepts only these characters.
    if !tenant
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
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

/// Requests for `from` (an origin) go to `to` instead, keeping their path (after `to`'s
/// own) and query; with `from` None, every request does.
#[derive(Clone, Debug)]
pub(crate) struct Redirect {
    from: Option<String>,
    to: url::Url,
}

impl Redirect {
    pub(crate) fn everything_to(to: url::Url) -> Self {
        Redirect { from: None, to }
    }

    fn apply(&self, url: &mut url::Url) {
        if let Some(from) = &self.from
            && url.origin().ascii_serialization() != *from
        {
            return;
        }
        let mut target = self.to.clone();
        let path = format!(
            "{}{}",
            self.to.path().trim_end_matches('/'),
            if self.from.is_some() { url.path() } else { "" }
        );
        if self.from.is_some() {
            target.set_path(&path);
        }
        // A fixed endpoint keeps its own query and gains the library's parameters.
        let mut pairs: Vec<(String, String)> = target
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.extend(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        target.set_query(None);
        if !pairs.is_empty() {
            target.query_pairs_mut().extend_pairs(pairs);
        }
        *url = target;
    }
}

/// The last error answer a credential received. `azure_identity` 1.0 reads Entra's
/// error body into a borrowed `&str`, which fails on the `\r\n` every real
/// `error_description` contains, and then drops the answer; the transport keeps it.
#[derive(Debug, Default)]
pub(crate) struct Recorder(Mutex<Option<(u16, Vec<u8>)>>);

/// Error bodies are small; a larger one is cut (it only feeds explanations).
const MAX_RECORDED_BODY: usize = 64 * 1024;

impl Recorder {
    fn take(&self) -> Option<(u16, Vec<u8>)> {
        self.0.lock().ok()?.take()
    }
}

/// The library's transport: the provider's shared client (its TLS roots, user agent,
/// no redirects), optionally sending requests elsewhere first.
#[derive(Debug)]
struct SharedTransport {
    http: reqwest::Client,
    redirect: Option<Redirect>,
    recorder: Arc<Recorder>,
}

#[async_trait]
impl Policy for SharedTransport {
    async fn send(
        &self,
        _ctx: &Context,
        request: &mut Request,
        _next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if let Some(redirect) = &self.redirect {
            redirect.apply(request.url_mut());
        }
        let response = self.http.execute_request(request).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (status, headers, body) = response.deconstruct();
        let bytes = body.collect().await?;
        if let Ok(mut slot) = self.recorder.0.lock() {
            let kept = &bytes[..bytes.len().min(MAX_RECORDED_BODY)];
            *slot = Some((u16::from(status), kept.to_vec()));
        }
        Ok(AsyncRawResponse::from_bytes(status, headers, bytes))
    }
}

/// Pipeline options for one credential: our client, our retries (throttling, 5xx and
/// lost connections, as Graph requests; four attempts), and the authority.
pub(crate) fn client_options(
    http: &reqwest::Client,
    authority: Option<&Authority>,
    redirect: Option<Redirect>,
) -> (ClientOptions, Arc<Recorder>) {
    let redirect = redirect.or_else(|| authority.and_then(|a| a.redirect.clone()));
    let recorder = Arc::new(Recorder::default());
    let mut options = ClientOptions {
        transport: Some(Transport::with_policy(Arc::new(SharedTransport {
            http: http.clone(),
            redirect,
            recorder: recorder.clone(),
        }))),
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(90),
            max_delay: azure_core::time::Duration::seconds(30),
        }),
        ..ClientOptions::default()
    };
    if let Some(authority) = authority {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority.library.clone();
        options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    }
    (options, recorder)
}

/// Where tokens are requested. The library takes an `https://` origin only; the
/// provider also allows plain `http://` on loopback (a local emulator) and a path
/// prefix, so for those the library is given the `https://` origin of the same host
/// and the transport sends its requests to the configured endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Authority {
    library: String,
    redirect: Option<Redirect>,
}

impl Authority {
    pub(crate) fn new(login_endpoint: &url::Url) -> Self {
        let host = login_endpoint.host_str().unwrap_or("localhost");
        let library = match login_endpoint.port() {
            Some(port) => format!("https://{host}:{port}"),
            None => format!("https://{host}"),
        };
        let plain = login_endpoint.scheme() == "https"
            && login_endpoint.path().trim_matches('/').is_empty();
        let redirect = (!plain).then(|| Redirect {
            from: url::Url::parse(&library)
                .ok()
                .map(|u| u.origin().ascii_serialization()),
            to: login_endpoint.clone(),
        });
        Authority { library, redirect }
    }
}

/// One token from `credential`, as the provider's `AccessToken`. `what` names the
/// token in errors ("the access token issued for a client secret"); `explain` turns
/// the library's failure into what to do.
pub(crate) async fn fetch(
    credential: &dyn TokenCredential,
    scope: &str,
    what: &str,
    recorder: &Recorder,
    explain: impl FnOnce(Failure) -> AuthError,
) -> Result<AccessToken, AuthError> {
    let got = tokio::time::timeout(FETCH_TIMEOUT, credential.get_token(&[scope], None)).await;
    let token = match got {
        Err(_) => {
            return Err(explain(Failure {
                timed_out: true,
                ..Failure::default()
            }));
        }
        Ok(Err(e)) => {
            let mut failure = Failure::from_error(&e);
            // The library lost the answer (see `Recorder`): use the transport's copy.
            if failure.status.is_none()
                && failure.unreachable.is_none()
                && let Some((status, body)) = recorder.take()
            {
                failure.status = Some(status);
                failure.body = serde_json::from_slice(&body).ok();
            }
            return Err(explain(failure));
        }
        Ok(Ok(token)) => token,
    };
    let jwt = token.token.secret();
    let decoded = claims::decode(jwt, what)?;
    let expires_at = u64::try_from(token.expires_on.unix_timestamp())
        .ok()
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .filter(|at| *at > SystemTime::now())
        .ok_or_else(|| {
            AuthError::new(
                "Unexpected token lifetime",
                format!("{what} is already expired or has no usable expiry."),
            )
        })?;
    Ok(AccessToken {
        secret: Secret::new(jwt),
        expires_at,
        claims: decoded.claims,
    })
}

/// What went wrong in the library, in the parts the provider explains.
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// The HTTP status of an error answer.
    pub status: Option<u16>,
    /// Its JSON body.
    pub body: Option<Value>,
    /// The connection failed (after retries); the transport's own words.
    pub unreachable: Option<String>,
    /// No answer within `FETCH_TIMEOUT`.
    pub timed_out: bool,
    /// The library's message, without its troubleshooting link. Never a parser's text,
    /// which may quote what it could not read.
    pub message: String,
}

impl Failure {
    pub(crate) fn from_error(error: &azure_core::Error) -> Self {
        let mut failure = Failure {
            message: first_message(error),
            ..Failure::default()
        };
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = current {
            if let Some(ae) = e.downcast_ref::<azure_core::Error>() {
                match ae.kind() {
                    ErrorKind::HttpResponse {
                        status,
                        raw_response,
                        ..
                    } if failure.status.is_none() => {
                        failure.status = Some(u16::from(*status));
                        failure.body = raw_response
                            .as_ref()
                            .and_then(|r| serde_json::from_slice(r.body()).ok());
                    }
                    ErrorKind::Connection | ErrorKind::Io if failure.unreachable.is_none() => {
                        failure.unreachable = Some(String::new());
                    }
                    _ => {}
                }
            }
            if let Some(re) = e.downcast_ref::<reqwest::Error>() {
                failure.unreachable = Some(error_chain(re));
                break;
            }
            current = e.source();
        }
        failure
    }

    /// A field of the JSON error body.
    pub(crate) fn field(&self, key: &str) -> Option<&str> {
        self.body.as_ref()?.get(key)?.as_str()
    }
}

/// The library's own message (its first line, without "To troubleshoot, visit …"),
/// unless it comes from a JSON parser.
fn first_message(error: &azure_core::Error) -> String {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<serde_json::Error>() {
            return "its answer could not be read".into();
        }
        current = e.source();
    }
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// What the token endpoint was asked with, for explanations.
pub(crate) enum Credential {
    Secret,
    /// A federated token; its `iss`/`sub`/`aud` (not secret) explain a mismatch.
    Federated(Option<String>),
    /// A certificate: where it came from and its thumbprint.
    Certificate {
        setting: String,
        thumbprint: String,
    },
}

/// One application sign-in target: tenant, client id, scope, token URL.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub login_endpoint: url::Url,
    pub scope: String,
    pub tenant_id: String,
    pub client_id: String,
}

impl Target {
    pub(crate) fn new(
        login_endpoint: &url::Url,
        graph_endpoint: &url::Url,
        tenant_id: &str,
        client_id: &str,
    ) -> Self {
        Target {
            login_endpoint: login_endpoint.clone(),
            scope: graph_scope(graph_endpoint),
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    pub(crate) fn authority(&self) -> Authority {
        Authority::new(&self.login_endpoint)
    }

    pub(crate) fn token_url(&self) -> url::Url {
        token_url(&self.login_endpoint, &self.tenant_id)
    }

    /// Turns a failed token request into what to do about it.
    pub(crate) fn explain(
        &self,
        failure: Failure,
        credential: &Credential,
        source: &str,
    ) -> AuthError {
        let url = self.token_url();
        if failure.timed_out {
            return AuthError::new(
                "Entra ID token endpoint did not answer",
                format!(
                    "Signing in with {source} got no answer from {url} within {}s. Check \
                     login_endpoint / environment and the network (proxy, firewall).",
                    FETCH_TIMEOUT.as_secs()
                ),
            );
        }
        if failure.status.is_none()
            && let Some(why) = &failure.unreachable
        {
            let why = if why.is_empty() {
                &failure.message
            } else {
                why
            };
            return AuthError::new(
                "Cannot reach the Entra ID token endpoint",
                format!(
                    "Signing in with {source} failed: {url}: {why}. Check login_endpoint / \
                     environment and the network (proxy, firewall; a private certificate \
                     authority needs SSL_CERT_FILE)."
                ),
            );
        }
        let Some(error) = failure.field("error").map(str::to_owned) else {
            let status = failure
                .status
                .map(|s| format!("HTTP {s}"))
                .unwrap_or_else(|| "an unreadable answer".into());
            return AuthError::new(
                "Sign-in failed",
                format!(
                    "{url} answered {status} without an OAuth error ({}). Check login_endpoint \
                     (PSOXY_LOGIN_ENDPOINT) and environment (ARM_ENVIRONMENT).",
                    failure.message
                ),
            );
        };
        let status = failure.status.unwrap_or(400);
        let description = failure
            .field("error_description")
            .and_then(|d| d.lines().next())
            .unwrap_or("")
            .trim()
            .to_owned();
        let code = failure
            .body
            .as_ref()
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
        let federated = match credential {
            Credential::Federated(summary) => summary.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let (summary, advice) = match (code, credential) {
            (Some(700016), _) => (
                "Unknown client id",
                format!(
                    "No application with client id {client} exists in tenant {tenant}. Set \
                     client_id / ARM_CLIENT_ID to the application's \"Application (client) ID\" \
                     — a common mistake is to use the object id of the application or of its \
                     enterprise application (service principal) — and check that tenant_id / \
                     ARM_TENANT_ID is the tenant the application is registered in."
                ),
            ),
            (Some(7000215), Credential::Secret) => (
                "Invalid client secret",
                format!(
                    "The client secret for client id {client} was rejected. Set client_secret / \
                     ARM_CLIENT_SECRET (or ARM_CLIENT_SECRET_FILE_PATH) to the secret's Value \
                     (shown once when it was created), not its Secret ID, and check that it \
                     belongs to this application and has not been deleted."
                ),
            ),
            (Some(7000222), _) => (
                "Expired client secret",
                format!(
                    "The client secret for client id {client} has expired. Create a new one \
                     (Certificates & secrets) and set client_secret / ARM_CLIENT_SECRET."
                ),
            ),
            (
                Some(700027) | Some(7000215),
                Credential::Certificate {
                    setting,
                    thumbprint,
                },
            ) => (
                "Certificate not accepted",
                format!(
                    "Entra ID did not accept the certificate from {setting} (SHA-256 thumbprint \
                     {thumbprint}) for client id {client}: upload its public part to the \
                     application (Certificates & secrets → Certificates), check that it has \
                     not expired there, and that {setting} holds the matching private key."
                ),
            ),
            (Some(700021) | Some(700212), Credential::Certificate { setting, .. }) => (
                "Certificate assertion refused",
                format!(
                    "Entra ID refused the assertion signed with the certificate from {setting} \
                     for client id {client}. Check client_id / ARM_CLIENT_ID, tenant_id and \
                     login_endpoint / environment."
                ),
            ),
            (Some(70021), _) => (
                "No matching federated identity credential",
                format!(
                    "The application with client id {client} has no federated identity \
                     credential matching the presented token{federated}. Its issuer, subject \
                     and audience must equal a credential's exactly (for GitHub Actions the \
                     subject is e.g. repo:ORG/REPO:ref:refs/heads/main or \
                     repo:ORG/REPO:environment:NAME; the audience is usually \
                     api://AzureADTokenExchange). A credential created a moment ago may take a \
                     minute to take effect."
                ),
            ),
            (Some(700024) | Some(50027), Credential::Federated(_)) => (
                "Unusable OIDC token",
                format!(
                    "The OIDC token{federated} is expired or malformed. Tokens from pipelines \
                     live a few minutes: request a fresh one (oidc_token / ARM_OIDC_TOKEN, \
                     oidc_token_file_path / ARM_OIDC_TOKEN_FILE_PATH)."
                ),
            ),
            (Some(90002) | Some(900023) | Some(90023), _) => (
                "Unknown tenant",
                format!(
                    "Tenant {tenant} was not found at {}. Check tenant_id / ARM_TENANT_ID (the \
                     directory id, not a subscription id) and that environment / ARM_ENVIRONMENT \
                     is the cloud the tenant lives in.",
                    url.origin().ascii_serialization()
                ),
            ),
            (Some(7000229), _) => (
                "Application has no service principal",
                format!(
                    "Client id {client} has no service principal (enterprise application) in \
                     tenant {tenant}. Create it, e.g. `az ad sp create --id {client}`."
                ),
            ),
            (Some(7000112), _) => (
                "Application disabled",
                format!(
                    "The service principal of client id {client} is disabled in tenant {tenant} \
                     (Enterprise applications → Properties → Enabled for users to sign in)."
                ),
            ),
            (Some(7000216), _) => (
                "No credential sent",
                format!("The token request for client id {client} carried no secret or assertion."),
            ),
            (Some(500011) | Some(1002012), _) => (
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
pub(crate) fn assertion_summary(jwt: &str) -> String {
    match claims::payload(jwt, "the OIDC token") {
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
    fn the_library_is_given_https_and_requests_go_to_the_configured_endpoint() {
        let plain = Authority::new(&url::Url::parse("https://login.microsoftonline.us/").unwrap());
        assert_eq!(plain.library, "https://login.microsoftonline.us");
        assert!(plain.redirect.is_none());

        let emulator = Authority::new(&url::Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(emulator.library, "https://127.0.0.1:8080");
        let mut url = url::Url::parse("https://127.0.0.1:8080/t/oauth2/v2.0/token").unwrap();
        emulator.redirect.as_ref().unwrap().apply(&mut url);
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/t/oauth2/v2.0/token");
        // Another origin is left alone.
        let mut other = url::Url::parse("https://elsewhere.example/x").unwrap();
        emulator.redirect.as_ref().unwrap().apply(&mut other);
        assert_eq!(other.as_str(), "https://elsewhere.example/x");

        let prefixed = Authority::new(&url::Url::parse("https://login.example/prefix/").unwrap());
        let mut url = url::Url::parse("https://login.example/t/oauth2/v2.0/token").unwrap();
        prefixed.redirect.as_ref().unwrap().apply(&mut url);
        assert_eq!(
            url.as_str(),
            "https://login.example/prefix/t/oauth2/v2.0/token"
        );

        let msi = Redirect::everything_to(url::Url::parse("http://127.0.0.1:1/msi?x=1").unwrap());
        let mut url = url::Url::parse(
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2019-08-01",
        )
        .unwrap();
        msi.apply(&mut url);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/msi?x=1&api-version=2019-08-01"
        );
    }

    #[test]
    fn tenant_is_required_and_checked() {
        let e = require_tenant(None, "a client secret").unwrap_err();
        assert!(e.detail.contains("set tenant_id or ARM_TENANT_ID"), "{e}");
        assert!(require_tenant(Some("a/b"), "x").is_err());
        assert!(require_tenant(Some("a b"), "x").is_err());
        assert_eq!(require_tenant(Some(" t "), "x").unwrap(), "t");
        assert_eq!(
            require_tenant(Some("psoxy.test"), "x").unwrap(),
            "psoxy.test"
        );
    }

    #[test]
    fn aadsts_codes_are_found_in_descriptions() {
        assert_eq!(aadsts_code("AADSTS7000215: Invalid"), Some(7000215));
        assert_eq!(aadsts_code("nothing"), None);
    }
}
