//! Signing in to Microsoft Graph. A `TokenSource` fetches access tokens one way
//! (client certificate, client secret, OIDC assertion, managed identity, Azure CLI);
//! `TokenCache` shares one token across all concurrent operations of a provider
//! process, renews it before it expires and refuses a token for the wrong tenant
//! before any Graph call is made.
//!
//! Tokens are acquired through `azure_identity` 1.x (its `azure_core` uses the
//! provider's reqwest 0.13, and every credential is given the provider's one
//! `reqwest::Client` as its transport). What stays the provider's own: the order in
//! which settings and `ARM_*` variables select a method (`select`), the explanations of
//! Entra ID's AADSTS errors and of the Azure CLI's failures, the tenant and `oid`
//! checks, the one shared token (`cache`), the OIDC token requests to GitHub Actions and
//! Azure DevOps (`oidc`), and certificates: the library's certificate credential needs
//! OpenSSL, so PKCS#12/PEM files are read here (`der`) and the client assertion is
//! signed with aws-lc-rs (`certificate`).
//!
//! - [`select::select_source`] picks the source from the settings (no I/O);
//! - [`cache::TokenCache`] shares and renews its tokens and checks their tenant;
//! - [`certificate`], [`client_secret`], [`oidc`], [`managed_identity`] and
//!   [`azure_cli`] are the sources; [`claims`] reads a JWT's payload; `entra` is what
//!   they share on top of the library.

pub mod azure_cli;
pub mod cache;
pub mod certificate;
pub mod claims;
pub mod client_secret;
mod der;
mod entra;
pub mod managed_identity;
pub mod oidc;
pub mod select;
#[cfg(test)]
mod tests_support;

pub use azure_cli::AzureCliSource;
pub use cache::TokenCache;
pub use certificate::{CertificateOrigin, CertificateSource};
pub use client_secret::ClientSecretSource;
pub use managed_identity::{IdentityEndpoint, ManagedIdentitySource};
pub use oidc::{AssertionSource, OidcSource};
pub use select::select_source;

use crate::config::Secret;
use async_trait::async_trait;
use std::time::SystemTime;

/// The claims of an access token that the provider acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// Tenant the token was issued for (`tid`).
    pub tenant_id: Option<String>,
    /// Object id of the signed-in user or service principal (`oid`).
    pub object_id: Option<String>,
    /// Client id of the application the token was issued to (`appid` / `azp`).
    pub app_id: Option<String>,
    /// User principal name, for people (`upn` / `unique_name`).
    pub user_principal_name: Option<String>,
    /// Directory role template ids the caller holds (`wids`).
    pub directory_roles: Vec<String>,
    /// Application permissions granted to an application signed in as itself (`roles`).
    pub app_permissions: Vec<String>,
}

#[derive(Clone)]
pub struct AccessToken {
    pub secret: Secret,
    pub expires_at: SystemTime,
    pub claims: TokenClaims,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Why signing in failed, written for the person running Terraform: what was tried
/// and what would fix it. Never contains a token or secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    pub summary: String,
    pub detail: String,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.summary, self.detail)
    }
}

impl std::error::Error for AuthError {}

impl AuthError {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        AuthError {
            summary: summary.into(),
            detail: detail.into(),
        }
    }
}

#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A fresh token for Microsoft Graph (`{graph_endpoint}/.default`).
    async fn fetch(&self) -> Result<AccessToken, AuthError>;
    /// How this source signs in, for logs and errors (no secrets), e.g.
    /// "client secret for client id 1234…".
    fn describe(&self) -> String;
}
