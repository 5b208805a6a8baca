//! The binary's contract: first stdout line is the base URL, flags, `--state`
//! persistence across restarts, `--tls` with cert.pem, `--admin-client`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> (Proc, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (
        Proc {
            child,
            base: line.trim().to_string(),
        },
        started.elapsed(),
    )
}

fn emu_at(base: &str) -> ClientOnly {
    ClientOnly {
        base: base.to_string(),
    }
}

/// The same helpers as `Emu`, for an out-of-process emulator.
struct ClientOnly {
    base: String,
}

impl ClientOnly {
    async fn token(&self, tenant: &str, client: &str, secret: &str) -> Res {
        request(
            &self.base,
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("grant_type=client_credentials&client_id={client}&client_secret={secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default").as_bytes(),
        )
        .await
    }
    async fn graph(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Res {
        let auth = format!("Bearer {token}");
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        request(
            &self.base,
            method,
            &format!("/v1.0{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &bytes,
        )
        .await
    }
}

#[tokio::test]
async fn binary_prints_base_url_and_persists_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_s = state.to_str().unwrap();
    let tenant = "99999999-0000-4000-8000-000000000001";
    let (p, took) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--state",
        state_s,
        "--tenant",
        tenant,
        "--admin-client",
        "my-admin:pa55:word",
    ]);
    assert!(p.base.starts_with("http://127.0.0.1:"), "{}", p.base);
    assert!(took < Duration::from_secs(3), "startup took {took:?}");
    eprintln!("startup: {took:?}");
    let c = emu_at(&p.base);
    let r = c.token(tenant, "my-admin", "pa55:word").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin_token = r.json()["access_token"].as_str().unwrap().to_string();
    let claims = graph_emulator::auth::decode_unverified(&admin_token).unwrap();
    let wids = claims["wids"].as_array().unwrap();
    assert!(
        wids.contains(&json!("158c047a-c907-4556-b7ef-446551a6b5f7"))
            && wids.contains(&json!("e8611ab8-c189-46e8-94e1-60213ab1f814"))
    );
    // The default tenant id is not this emulator's.
    assert_eq!(c.token(TENANT, "my-admin", "pa55:word").await.status, 400);

    let r = c
        .graph(
            &admin_token,
            "POST",
            "/applications",
            Some(json!({"displayName": "survives restart"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let app = r.json();
    let id = app["id"].as_str().unwrap().to_string();
    let r = c
        .graph(&admin_token, "POST", &format!("/applications/{id}/federatedIdentityCredentials"), Some(json!({"name": "keep", "issuer": "https://accounts.google.com", "subject": "1", "audiences": ["api://AzureADTokenExchange"]})))
        .await;
    assert_eq!(r.status, 201);
    let r = c
        .graph(
            &admin_token,
            "POST",
            "/servicePrincipals",
            Some(json!({"appId": app["appId"]})),
        )
        .await;
    assert_eq!(r.status, 201);
    let sp = r.json()["id"].as_str().unwrap().to_string();
    let r = c
        .graph(
            &admin_token,
            "POST",
            &format!("/servicePrincipals/{sp}/appRoleAssignments"),
            Some(json!({"principalId": sp, "resourceId": GRAPH_SP, "appRoleId": USER_READ_ALL})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .graph(
            &admin_token,
            "DELETE",
            &format!("/applications/{OWNED_APP2}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    drop(p);

    // Restart on the same file: every object and the signing key are back.
    let (p, _) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--state",
        state_s,
        "--tenant",
        tenant,
        "--admin-client",
        "my-admin:pa55:word",
    ]);
    let c = emu_at(&p.base);
    let r = c
        .graph(
            &admin_token,
            "GET",
            &format!("/applications/{id}/federatedIdentityCredentials"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "old token still valid: {}", r.body);
    assert_eq!(r.json()["value"][0]["name"], "keep");
    let r = c
        .graph(
            &admin_token,
            "GET",
            &format!("/servicePrincipals/{sp}/appRoleAssignments"),
            None,
        )
        .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = c
        .graph(
            &admin_token,
            "GET",
            "/directory/deletedItems/microsoft.graph.application",
            None,
        )
        .await;
    assert!(
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == OWNED_APP2)
    );
    // No temp files are left beside the state file.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "state.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(p);
}

#[tokio::test]
async fn tls_serves_metadata_with_written_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let (p, _) = spawn(&["--listen", "127.0.0.1:0", "--tls", tls.to_str().unwrap()]);
    assert!(p.base.starts_with("https://localhost:"), "{}", p.base);
    let pem = std::fs::read_to_string(tls.join("cert.pem")).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let r = https_request(
        &p.base,
        &pem,
        "GET",
        "/metadata/endpoints?api-version=2022-09-01",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = r.json();
    assert!(
        m["authentication"]["loginEndpoint"]
            .as_str()
            .unwrap()
            .starts_with(&p.base)
    );
    assert!(
        m["microsoftGraphResourceId"]
            .as_str()
            .unwrap()
            .starts_with(&p.base)
    );
    let r = https_request(&p.base, &pem, "GET", "/v1.0/applications").await;
    assert_eq!(r.status, 401);
    drop(p);
    // A restart reuses the certificate so clients that trust it keep working.
    let (p, _) = spawn(&["--listen", "127.0.0.1:0", "--tls", tls.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(tls.join("cert.pem")).unwrap(), pem);
    assert_eq!(
        https_request(
            &p.base,
            &pem,
            "GET",
            "/metadata/endpoints?api-version=2022-09-01"
        )
        .await
        .status,
        200
    );
}

#[test]
fn bad_flags_exit_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: graph-emulator"));
}

#[tokio::test]
async fn token_lifetime_flag_allows_renewal_tests() {
    let (p, _) = spawn(&["--listen", "127.0.0.1:0", "--token-lifetime-secs", "1"]);
    let c = emu_at(&p.base);
    let r = c.token(TENANT, CI_CLIENT, CI_SECRET).await;
    assert_eq!(r.json()["expires_in"], 0);
    let t = r.json()["access_token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = c.graph(&t, "GET", "/organization", None).await;
    assert_eq!(r.status, 401);
}
