//! Test helpers: the Graph emulator in-process, seeded ids, a one-shot HTTP responder
//! and leak assertions.

use super::AccessToken;
use serde_json::{Value, json};

pub use super::claims::tests::unsigned_jwt;

pub const TENANT: &str = "00000000-0000-4000-8000-00000000a001";
pub const CI_CLIENT: &str = "00000000-0000-4000-8000-00000000c101";
pub const CI_SECRET: &str = "terraform-ci-secret";
pub const CI_APP_OBJECT: &str = "00000000-0000-4000-8000-00000000c001";
pub const CI_SP: &str = "00000000-0000-4000-8000-00000000c201";

pub struct Emu {
    running: graph_emulator::RunningEmulator,
    pub url: url::Url,
    http: reqwest::Client,
}

impl Emu {
    pub async fn start() -> Emu {
        let running = graph_emulator::start(graph_emulator::Config::default())
            .await
            .expect("start the emulator");
        let url = url::Url::parse(&running.base_url).unwrap();
        Emu {
            running,
            url,
            http: reqwest::Client::new(),
        }
    }

    pub async fn stop(self) {
        self.running.shutdown().await;
    }

    fn at(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url.trim_end_matches('/'), path)
    }

    /// `POST /_emulator/tokens`: `{"access_token","expires_on","tenant","oid",…}`.
    pub async fn mint(&self, body: Value) -> Value {
        let r = self
            .http
            .post(self.at("/_emulator/tokens"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.unwrap()
    }

    pub async fn graph_get(&self, token: &AccessToken, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.at(path))
            .bearer_auth(token.secret.expose())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A federated credential on terraform-ci's application, created through Graph as
    /// terraform-ci (a Cloud Application Administrator).
    pub async fn add_fic(&self, issuer: &str, subject: &str, audience: &str) {
        let minted = self.mint(json!({"client_id": CI_CLIENT})).await;
        let r = self
            .http
            .post(self.at(&format!(
                "/v1.0/applications/{CI_APP_OBJECT}/federatedIdentityCredentials"
            )))
            .bearer_auth(minted["access_token"].as_str().unwrap())
            .json(&json!({
                "name": "psoxy-test",
                "issuer": issuer,
                "subject": subject,
                "audiences": [audience],
            }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(status.as_u16(), 201, "{}", r.text().await.unwrap());
    }
}

impl Emu {
    /// A certificate credential (DER) on terraform-ci's application.
    pub async fn add_key_credential(&self, cert_der: &[u8]) {
        use base64::Engine;
        let minted = self.mint(json!({"client_id": CI_CLIENT})).await;
        let r = self
            .http
            .patch(self.at(&format!("/v1.0/applications/{CI_APP_OBJECT}")))
            .bearer_auth(minted["access_token"].as_str().unwrap())
            .json(&json!({"keyCredentials": [{
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": base64::engine::general_purpose::STANDARD.encode(cert_der),
            }]}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_success(), "{status}: {}", r.text().await.unwrap());
    }
}

/// Answers exactly one HTTP request with a JSON body and keeps the request's head.
pub struct OneShotResponder {
    pub base: String,
    request: tokio::sync::oneshot::Receiver<String>,
}

impl OneShotResponder {
    pub async fn start(status: u16, body: Value) -> OneShotResponder {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head and whatever body Content-Length announces.
            loop {
                let n = stream.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let body = body.to_string();
            let reason = if status == 200 { "OK" } else { "Error" };
            let answer = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
            stream.shutdown().await.ok();
            let _ = tx.send(String::from_utf8_lossy(&buf).to_string());
        });
        OneShotResponder { base, request: rx }
    }

    /// The request as received (head and body).
    pub async fn request(self) -> String {
        self.request.await.unwrap()
    }
}

/// None of `needles` occurs in any of `haystacks`.
pub fn assert_no_leak(haystacks: &[&str], needles: &[&str]) {
    for h in haystacks {
        for n in needles {
            assert!(!n.is_empty());
            assert!(!h.contains(n), "a secret leaked into: {h}");
        }
    }
}
