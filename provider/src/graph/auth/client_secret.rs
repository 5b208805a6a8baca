//! Signing in as an application with a client secret (`client_id` + `client_secret`,
//! `ARM_CLIENT_ID` + `ARM_CLIENT_SECRET`): the client-credentials grant.

use super::entra::{Credential, TokenEndpoint, require_tenant};
use super::{AccessToken, AuthError, TokenSource};
use crate::config::Secret;
use async_trait::async_trait;

/// `Debug` shows no secret (`Secret` is redacted).
#[derive(Debug)]
pub struct ClientSecretSource {
    endpoint: TokenEndpoint,
    secret: Secret,
    http: reqwest::Client,
}

impl ClientSecretSource {
    /// Fails (without I/O) when the tenant is missing.
    pub fn new(
        http: reqwest::Client,
        login_endpoint: &url::Url,
        graph_endpoint: &url::Url,
        tenant_id: Option<&str>,
        client_id: &str,
        secret: Secret,
    ) -> Result<Self, AuthError> {
        let tenant = require_tenant(tenant_id, "a client secret")?;
        Ok(ClientSecretSource {
            endpoint: TokenEndpoint::new(login_endpoint, graph_endpoint, &tenant, client_id),
            secret,
            http,
        })
    }
}

#[async_trait]
impl TokenSource for ClientSecretSource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        self.endpoint
            .exchange(
                &self.http,
                Credential::Secret(&self.secret),
                "a client secret",
            )
            .await
    }

    fn describe(&self) -> String {
        format!(
            "client secret for client id {} in tenant {}",
            self.endpoint.client_id, self.endpoint.tenant_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::auth::tests_support::*;

    #[tokio::test]
    async fn signs_in_against_the_emulator() {
        let emu = Emu::start().await;
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let token = source.fetch().await.unwrap();
        assert_eq!(token.claims.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(token.claims.object_id.as_deref(), Some(CI_SP));
        assert_eq!(token.claims.app_id.as_deref(), Some(CI_CLIENT));
        let left = token
            .expires_at
            .duration_since(std::time::SystemTime::now())
            .unwrap();
        assert!(left.as_secs() > 3000, "{left:?}");
        // The token works against Graph.
        let org = emu.graph_get(&token, "/v1.0/organization").await;
        assert_eq!(org.0, 200, "{}", org.1);
        assert_no_leak(
            &[
                &format!("{source:?}"),
                &source.describe(),
                &format!("{token:?}"),
            ],
            &[CI_SECRET, token.secret.expose()],
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn a_wrong_secret_is_explained() {
        let emu = Emu::start().await;
        let secret = "wrong-secret-value-42";
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(secret),
        )
        .unwrap();
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Invalid client secret");
        assert!(e.detail.contains("AADSTS7000215"), "{e}");
        assert!(e.detail.contains("ARM_CLIENT_SECRET"), "{e}");
        assert!(e.detail.contains("not its Secret ID"), "{e}");
        assert!(!e.detail.contains("Trace ID"), "only the first line: {e}");
        assert_no_leak(
            &[&e.to_string(), &format!("{e:?}"), &format!("{source:?}")],
            &[secret],
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_client_id_is_explained() {
        let emu = Emu::start().await;
        let object_id_by_mistake = "00000000-0000-4000-8000-00000000c001";
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(TENANT),
            object_id_by_mistake,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Unknown client id");
        assert!(e.detail.contains("AADSTS700016"), "{e}");
        assert!(e.detail.contains("object id"), "{e}");
        assert!(e.detail.contains(object_id_by_mistake), "{e}");
        assert_no_leak(&[&e.to_string()], &[CI_SECRET]);
        emu.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_tenant_is_explained() {
        let emu = Emu::start().await;
        let other = "11111111-1111-4111-8111-111111111111";
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &emu.url,
            &emu.url,
            Some(other),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Unknown tenant");
        assert!(e.detail.contains("AADSTS90002"), "{e}");
        assert!(
            e.detail.contains(other) && e.detail.contains("ARM_TENANT_ID"),
            "{e}"
        );
        emu.stop().await;
    }

    #[tokio::test]
    async fn an_unreachable_login_endpoint_is_explained() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let source = ClientSecretSource::new(
            reqwest::Client::new(),
            &url,
            &url,
            Some(TENANT),
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap();
        let e = source.fetch().await.unwrap_err();
        assert_eq!(e.summary, "Cannot reach the Entra ID token endpoint");
        assert_no_leak(&[&e.to_string()], &[CI_SECRET]);
    }

    #[test]
    fn the_tenant_is_required() {
        let url = url::Url::parse("https://login.microsoftonline.com").unwrap();
        let e = ClientSecretSource::new(
            reqwest::Client::new(),
            &url,
            &url,
            None,
            CI_CLIENT,
            Secret::new(CI_SECRET),
        )
        .unwrap_err();
        assert!(e.detail.contains("set tenant_id or ARM_TENANT_ID"), "{e}");
    }
}
