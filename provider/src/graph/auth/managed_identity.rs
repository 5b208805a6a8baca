//! Signing in as the Azure resource the provider runs on (`use_msi`, `ARM_USE_MSI`),
//! through `azure_identity`'s `ManagedIdentityCredential`: App Service, Functions and
//! Container Apps announce their endpoint in `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`;
//! elsewhere (virtual machines, scale sets, AKS) the instance metadata service answers
//! at 169.254.169.254. `client_id` (`ARM_CLIENT_ID`) picks a user-assigned identity.
//!
//! The library reads `IDENTITY_ENDPOINT` from the process environment and cannot be
//! given another endpoint, so `msi_endpoint` (`ARM_MSI_ENDPOINT`, as the azuread
//! provider names it) is honoured by the transport: every request of this credential
//! goes there instead.

use super::entra::{self, Failure, Redirect, graph_scope};
use super::{AccessToken, AuthError, TokenSource};
use async_trait::async_trait;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

/// Where the identity endpoint is, as the settings and environment say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityEndpoint {
    /// `msi_endpoint` / `ARM_MSI_ENDPOINT`.
    Configured(url::Url),
    /// App Service style: `IDENTITY_ENDPOINT` (with `IDENTITY_HEADER`).
    AppService(String),
    /// The instance metadata service.
    Imds,
}

impl IdentityEndpoint {
    /// The setting to fix when the endpoint does not work.
    fn setting(&self) -> String {
        match self {
            IdentityEndpoint::Configured(url) => {
                format!("msi_endpoint / ARM_MSI_ENDPOINT ({url})")
            }
            IdentityEndpoint::AppService(url) => {
                format!("IDENTITY_ENDPOINT ({url}, with IDENTITY_HEADER)")
            }
            IdentityEndpoint::Imds => {
                "the instance metadata service (169.254.169.254; msi_endpoint / \
                 ARM_MSI_ENDPOINT to use another)"
                    .into()
            }
        }
    }
}

#[derive(Debug)]
pub struct ManagedIdentitySource {
    http: reqwest::Client,
    scope: String,
    client_id: Option<String>,
    endpoint: IdentityEndpoint,
}

impl ManagedIdentitySource {
    pub fn new(
        http: reqwest::Client,
        graph_endpoint: &url::Url,
        client_id: Option<&str>,
        endpoint: IdentityEndpoint,
    ) -> Self {
        ManagedIdentitySource {
            http,
            scope: graph_scope(graph_endpoint),
            client_id: client_id.map(str::to_owned),
            endpoint,
        }
    }

    fn which(&self) -> String {
        match &self.client_id {
            Some(c) => format!("the user-assigned managed identity with client id {c}"),
            None => "the system-assigned managed identity".into(),
        }
    }

    fn explain(&self, failure: Failure) -> AuthError {
        let setting = self.endpoint.setting();
        let which = self.which();
        if failure.timed_out || (failure.status.is_none() && failure.unreachable.is_some()) {
            let why = match &failure.unreachable {
                Some(w) if !w.is_empty() => w.clone(),
                _ if failure.timed_out => "no answer".into(),
                _ => failure.message.clone(),
            };
            return AuthError::new(
                "Cannot reach the managed identity endpoint",
                format!(
                    "Signing in as {which} failed: {setting} cannot be reached: {why}. \
                     use_msi / ARM_USE_MSI works only on an Azure resource with a managed \
                     identity (virtual machine, App Service, Functions, Container Apps, AKS); \
                     elsewhere set use_msi = false and sign in another way, or point \
                     msi_endpoint / ARM_MSI_ENDPOINT at the identity endpoint."
                ),
            );
        }
        let said = failure
            .field("error_description")
            .or_else(|| failure.field("message"))
            .or_else(|| failure.field("error"))
            .map(|d| d.lines().next().unwrap_or("").trim().to_owned())
            .unwrap_or_else(|| failure.message.clone());
        let (summary, advice) = match failure.status {
            Some(400) | Some(404) => (
                "Managed identity not available",
                match &self.client_id {
                    Some(c) => format!(
                        "No managed identity with client id {c} is assigned to this resource. \
                         Assign it, or check client_id / ARM_CLIENT_ID (unset it for the \
                         system-assigned identity)."
                    ),
                    None => "This resource has no system-assigned managed identity. Turn it on \
                             (Identity → System assigned), or set client_id / ARM_CLIENT_ID to \
                             a user-assigned identity's client id."
                        .to_owned(),
                },
            ),
            Some(401) | Some(403) => (
                "Managed identity endpoint refused the request",
                format!(
                    "{setting} refused the request: the secret the platform puts in \
                     IDENTITY_HEADER is missing or wrong for this endpoint."
                ),
            ),
            _ => (
                "Managed identity sign-in failed",
                format!("Signing in as {which} through {setting} failed."),
            ),
        };
        let status = failure
            .status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no HTTP answer".into());
        AuthError::new(
            summary,
            format!("{advice}\nThe identity endpoint answered {status}: {said}"),
        )
    }
}

#[async_trait]
impl TokenSource for ManagedIdentitySource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        tracing::debug!(
            identity = %self.which(),
            endpoint = %self.endpoint.setting(),
            "requesting a Microsoft Graph token"
        );
        let redirect = match &self.endpoint {
            IdentityEndpoint::Configured(url) => Some(Redirect::everything_to(url.clone())),
            _ => None,
        };
        let (client_options, recorder) = entra::client_options(&self.http, None, redirect);
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: self.client_id.clone().map(UserAssignedId::ClientId),
            client_options,
        };
        // A new credential per fetch: `TokenCache` is the one cache (see client_secret).
        let credential = ManagedIdentityCredential::new(Some(options)).map_err(|e| {
            AuthError::new(
                "Managed identity not supported here",
                format!(
                    "{}. use_msi / ARM_USE_MSI supports App Service style endpoints \
                     (IDENTITY_ENDPOINT + IDENTITY_HEADER) and the instance metadata service.",
                    Failure::from_error(&e).message
                ),
            )
        })?;
        let what = format!("the access token of {}", self.which());
        entra::fetch(
            credential.as_ref(),
            &self.scope,
            &what,
            &recorder,
            |failure| self.explain(failure),
        )
        .await
    }

    fn describe(&self) -> String {
        format!(
            "managed identity ({} through {})",
            self.which(),
            self.endpoint.setting()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;
    use serde_json::json;

    fn graph() -> url::Url {
        url::Url::parse("https://graph.microsoft.com").unwrap()
    }

    #[tokio::test]
    async fn msi_endpoint_receives_the_request_and_its_token_is_used() {
        let token = unsigned_jwt(&json!({"tid": TENANT, "oid": "mi-oid", "exp": 4_000_000_000u64}));
        let responder = OneShotResponder::start(
            200,
            json!({"access_token": token, "expires_on": "4000000000", "resource": "https://graph.microsoft.com", "token_type": "Bearer"}),
        )
        .await;
        let endpoint = url::Url::parse(&format!("{}/custom/token", responder.base)).unwrap();
        let source = ManagedIdentitySource::new(
            reqwest::Client::new(),
            &graph(),
            Some("mi-client"),
            IdentityEndpoint::Configured(endpoint),
        );
        let got = source.fetch().await.unwrap();
        assert_eq!(got.claims.object_id.as_deref(), Some("mi-oid"));
        let request = responder.request().await;
        let line = request.lines().next().unwrap();
        assert!(line.starts_with("GET /custom/token?"), "{request}");
        assert!(line.contains("api-version=2019-08-01"), "{line}");
        assert!(
            line.contains("resource=https%3A%2F%2Fgraph.microsoft.com"),
            "{line}"
        );
        assert!(line.contains("client_id=mi-client"), "{line}");
        assert!(
            request.to_ascii_lowercase().contains("metadata: true"),
            "{request}"
        );
        assert!(source.describe().contains("ARM_MSI_ENDPOINT"));
        assert_no_leak(&[&source.describe(), &format!("{got:?}")], &[&token]);
    }

    #[tokio::test]
    async fn an_unassigned_identity_is_explained() {
        let responder = OneShotResponder::start(
            400,
            json!({"error": "invalid_request", "error_description": "Identity not found"}),
        )
        .await;
        let source = ManagedIdentitySource::new(
            reqwest::Client::new(),
            &graph(),
            Some("not-assigned"),
            IdentityEndpoint::Configured(url::Url::parse(&responder.base).unwrap()),
        );
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Managed identity not available");
        assert!(
            e.detail.contains("not-assigned") && e.detail.contains("ARM_CLIENT_ID"),
            "{e}"
        );
        assert!(e.detail.contains("Identity not found"), "{e}");
    }

    /// The instance metadata service's own retries (six, over about a minute) run on
    /// tokio's paused clock here.
    #[tokio::test(start_paused = true)]
    async fn an_unreachable_msi_endpoint_names_the_setting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url =
            url::Url::parse(&format!("http://{}/msi", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let source = ManagedIdentitySource::new(
            reqwest::Client::new(),
            &graph(),
            None,
            IdentityEndpoint::Configured(url.clone()),
        );
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Cannot reach the managed identity endpoint");
        assert!(e.detail.contains("msi_endpoint / ARM_MSI_ENDPOINT"), "{e}");
        assert!(e.detail.contains(url.as_str()), "{e}");
        assert!(e.detail.contains("use_msi = false"), "{e}");
    }
}
