//! Signing in as an application with a client secret (`client_id` + `client_secret`,
//! `ARM_CLIENT_ID` + `ARM_CLIENT_SECRET`): the client-credentials grant.

use super::entra::{self, Credential, Target, require_tenant};
use super::{AccessToken, AuthError, TokenSource};
use crate::config::Secret;
use async_trait::async_trait;
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};

/// `Debug` shows no secret (`Secret` is redacted).
#[derive(Debug)]
pub struct ClientSecretSource {
    target: Target,
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
            target: Target::new(login_endpoint, graph_endpoint, &tenant, client_id),
            secret,
            http,
        })
    }
}

#[async_trait]
impl TokenSource for ClientSecretSource {
    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let t = &self.target;
        tracing::debug!(
            source = "client secret",
            tenant = %t.tenant_id,
            client_id = %t.client_id,
            token_url = %t.token_url(),
            "requesting a Microsoft Graph token"
        );
        let (client_options, recorder) =
            entra::client_options(&self.http, Some(&t.authority()), None);
        let options = ClientSecretCredentialOptions { client_options };
        // A new credential per fetch: `TokenCache` is the one cache, and its
        // `invalidate` must reach the token endpoint (the library's credential would
        // hand back its own cached token).
        let credential = ClientSecretCredential::new(
            &t.tenant_id,
            t.client_id.clone(),
            azure_core::credentials::Secret::new(self.secret.expose().to_owned()),
            Some(options),
        )
        .map_err(|e| {
            AuthError::new(
                "Invalid client secret settings",
                entra::Failure::from_error(&e).message,
            )
        })?;
        entra::fetch(
            credential.as_ref(),
            &t.scope,
            "the access token issued for a client secret",
            &recorder,
            |failure| t.explain(failure, &Credential::Secret, "a client secret"),
        )
        .await
    }

    fn describe(&self) -> String {
        format!(
            "client secret for client id {} in tenant {}",
            self.target.client_id, self.target.tenant_id
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

    fn scripted_source(login: &url::Url) -> ClientSecretSource {
        let graph = url::Url::parse("https://graph.microsoft.com").unwrap();
        ClientSecretSource::new(
            reqwest::Client::new(),
            login,
            &graph,
            Some("t"),
            "c",
            Secret::new("s"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn throttled_and_unavailable_answers_are_retried() {
        let token = unsigned_jwt(&serde_json::json!({
            "tid": "t", "oid": "o", "appid": "c", "exp": 4_000_000_000u64
        }));
        let ok =
            serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token})
                .to_string();
        let (login, served) =
            scripted(vec![(429, "{}".into()), (503, "{}".into()), (200, ok)]).await;
        let got = scripted_source(&login)
            .fetch()
            .await
            .expect("third attempt succeeds");
        assert_eq!(got.claims.object_id.as_deref(), Some("o"));
        assert_eq!(served.await.unwrap(), 3);
    }

    /// Entra's descriptions hold "\r\n" (trace ids), which azure_identity 1.0 cannot
    /// read; the explanation comes from the transport's copy of the answer.
    #[tokio::test]
    async fn a_refusal_is_not_retried_and_is_explained() {
        let refusal = serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x", "error_codes": [7000215]}).to_string();
        let (login, served) = scripted(vec![(401, refusal)]).await;
        let err = scripted_source(&login).fetch().await.unwrap_err();
        assert_eq!(err.summary, "Invalid client secret", "{err}");
        assert!(!err.detail.contains("Trace ID"), "{err}");
        assert_eq!(served.await.unwrap(), 1, "one request only");
    }
}
