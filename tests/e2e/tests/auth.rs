//! Signing in, with real Terraform against the Graph emulator: each credential source
//! (client secret from the environment and from the provider block, OIDC token from a
//! variable and from a file, the Azure CLI through a stand-in `az` first on `PATH`), a
//! token for the wrong tenant refused before any Graph request, no credential at all,
//! and a `TF_LOG=trace` apply whose output and state hold neither secret nor token.
//!
//! Then every method over HTTPS (the emulator with `--tls`, trusted through
//! `SSL_CERT_FILE`), each applying the quickstart: client certificates (PKCS#12, PEM),
//! client secret (also from files), OIDC, managed identity (App Service style and
//! `ARM_MSI_ENDPOINT`) and the Azure CLI; a wrong certificate password, an expired
//! certificate and an unreachable identity endpoint each named in the diagnostic; and
//! the provider page against the methods' order and the schema's variables.

use e2e::{CI_CLIENT_ID, CI_CLIENT_SECRET, Emulator, Run, TENANT, Workspace, workspace_root};
use serde_json::json;

const ONE: &str = r#"
resource "psoxy_msft_connector" "x" {
  connectors = ["outlook-cal"]
}

output "object_id" { value = psoxy_msft_connector.x.object_id }
"#;

/// terraform-ci's application object and service principal (its `oid` in tokens).
const CI_APP_OBJECT: &str = "00000000-0000-4000-8000-00000000c001";
const CI_SP: &str = "00000000-0000-4000-8000-00000000c201";
/// app-admin@psoxy.test, Cloud Application Administrator.
const APP_ADMIN: &str = "00000000-0000-4000-8000-00000000b001";
const OTHER_TENANT: &str = "99999999-0000-4000-8000-000000000999";

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GITHUB_SUBJECT: &str = "repo:psoxy/infra:ref:refs/heads/main";
const TOKEN_EXCHANGE: &str = "api://AzureADTokenExchange";

/// The emulator's endpoints and tenant, with no credential and the CLI off.
fn bare_env(emulator: &Emulator) -> Vec<(String, String)> {
    let mut env = emulator.provider_env();
    env.retain(|(k, _)| k != "ARM_CLIENT_ID" && k != "ARM_CLIENT_SECRET");
    env
}

fn with(mut env: Vec<(String, String)>, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in pairs {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

fn apply(ws: &Workspace) -> Run {
    ws.terraform(&["apply", "-auto-approve", "-no-color"])
}

/// `ONE` with the client secret and the emulator in the provider block.
fn provider_block(emulator: &Emulator) -> String {
    format!(
        r#"
provider "psoxy" {{
  tenant_id      = "{TENANT}"
  client_id      = "{CI_CLIENT_ID}"
  client_secret  = "{CI_CLIENT_SECRET}"
  use_cli        = false
  graph_endpoint = "{base}"
  login_endpoint = "{base}"
}}
{ONE}"#,
        base = emulator.base_url
    )
}

/// `terraform apply` with `TF_LOG=trace`: Terraform's and the provider's logs in the output.
fn apply_traced(ws: &Workspace) -> Run {
    ws.terraform_with_env(
        &["apply", "-auto-approve", "-no-color"],
        &[("TF_LOG", "trace")],
    )
}

/// The traced output holds the provider's sign-in log lines but nothing token-shaped,
/// nor the client secret.
#[track_caller]
fn assert_no_token_in(run: &Run) {
    let all = run.all();
    assert!(
        all.contains("fetched a Microsoft Graph token"),
        "provider logs missing from the trace ({} bytes)",
        all.len()
    );
    assert!(!all.contains(CI_CLIENT_SECRET), "the client secret leaked");
    let tokens = jwt_like(&all);
    assert!(
        tokens.is_empty(),
        "token-shaped strings in the trace: {tokens:?}"
    );
}

/// The owners of the application the workspace created: the caller is always one, so
/// this shows who the provider signed in as (the token's `oid`).
fn owners_of_created_app(emulator: &Emulator, ws: &Workspace) -> Vec<String> {
    let out = ws
        .terraform(&["output", "-json", "object_id"])
        .assert_success()
        .json();
    let object_id = out.as_str().expect("object_id output").to_owned();
    let (status, owners) =
        emulator.portal("GET", &format!("/applications/{object_id}/owners"), None);
    assert_eq!(status, 200, "{owners}");
    owners["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Applications whose name the connector gives them.
fn connector_apps(emulator: &Emulator) -> usize {
    let (status, apps) = emulator.portal(
        "GET",
        "/applications?$filter=startswith(displayName,'Psoxy')",
        None,
    );
    assert_eq!(status, 200, "{apps}");
    apps["value"].as_array().unwrap().len()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A federated token as GitHub Actions would issue it, unsigned: the emulator (like the
/// provider) reads its claims and matches them against the federated credentials.
fn github_token(subject: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"alg": "none", "typ": "JWT"});
    let payload = json!({
        "iss": GITHUB_ISSUER, "sub": subject, "aud": TOKEN_EXCHANGE,
        "iat": now, "nbf": now, "exp": now + 600,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        base64url(header.to_string().as_bytes()),
        base64url(payload.to_string().as_bytes())
    )
}

/// Every substring shaped like a JWT: `eyJ` then three base64url segments.
fn jwt_like(text: &str) -> Vec<String> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let candidate: String = rest[at..]
            .chars()
            .take_while(|c| is_b64(*c) || *c == '.')
            .collect();
        let parts: Vec<&str> = candidate.split('.').collect();
        if parts.len() >= 3 && parts[0].len() >= 10 && parts[1].len() >= 10 {
            found.push(candidate.clone());
        }
        rest = &rest[at + 3..];
    }
    found
}

/// A stand-in for the Azure CLI: a directory holding an `az` script that answers
/// `az account get-access-token …` as the real CLI does, and logs its arguments.
struct FakeAz {
    dir: tempfile::TempDir,
}

enum AzBehaviour<'a> {
    /// Prints a token minted by the emulator for this user (and tenant, if given).
    SignedIn {
        user: &'a str,
        tenant: Option<&'a str>,
    },
    /// What the real CLI does before `az login` (or after `az logout`).
    NotLoggedIn,
}

impl FakeAz {
    fn new(emulator: &Emulator, behaviour: AzBehaviour) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("psoxy-fake-az-")
            .tempdir()
            .unwrap();
        let calls = dir.path().join("calls.log");
        let answer = match behaviour {
            AzBehaviour::NotLoggedIn => {
                "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n".to_owned()
            }
            AzBehaviour::SignedIn { user, tenant } => {
                let mut request = json!({ "user": user });
                if let Some(t) = tenant {
                    request["tenant"] = json!(t);
                }
                format!(
                    r#"resp=$(curl -sS -f ${{SSL_CERT_FILE:+--cacert "$SSL_CERT_FILE"}} -X POST -H 'Content-Type: application/json' -d '{request}' '{base}/_emulator/tokens') || {{ echo "ERROR: the stand-in could not reach the emulator" >&2; exit 1; }}
field() {{ printf '%s' "$resp" | sed -n "s/.*\"$1\" *: *\"\{{0,1\}}\([^\",}}]*\).*/\1/p"; }}
token=$(field access_token)
exp=$(field expires_on)
tenant=$(field tenant)
local=$(date -d "@$exp" '+%Y-%m-%d %H:%M:%S.000000')
cat <<EOF
{{
  "accessToken": "$token",
  "expiresOn": "$local",
  "expires_on": $exp,
  "subscription": "00000000-0000-4000-8000-0000000005b5",
  "tenant": "$tenant",
  "tokenType": "Bearer"
}}
EOF
"#,
                    base = emulator.base_url
                )
            }
        };
        let script = format!(
            "#!/bin/sh\n\
             echo \"$*\" >> '{calls}'\n\
             if [ \"$1 $2\" != \"account get-access-token\" ]; then\n\
             \x20 echo \"ERROR: the stand-in only knows 'account get-access-token'\" >&2\n\
             \x20 exit 2\n\
             fi\n\
             {answer}",
            calls = calls.display()
        );
        let path = dir.path().join("az");
        std::fs::write(&path, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeAz { dir }
    }

    /// `PATH` with the stand-in first.
    fn path_env(&self) -> (String, String) {
        let original = std::env::var("PATH").unwrap_or_default();
        (
            "PATH".to_owned(),
            format!("{}:{original}", self.dir.path().display()),
        )
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Environment for signing in with the stand-in `az`.
fn cli_env(emulator: &Emulator, az: &FakeAz) -> Vec<(String, String)> {
    let mut env = with(bare_env(emulator), &[("ARM_USE_CLI", "true")]);
    env.push(az.path_env());
    env
}

fn assert_no_graph_write(requests: &[(String, String, u16)]) {
    let writes: Vec<_> = requests.iter().filter(|(m, _, _)| m != "GET").collect();
    assert!(writes.is_empty(), "Graph writes happened: {writes:?}");
}

#[test]
fn client_secret_from_the_environment_and_from_the_provider_block() {
    let emulator = Emulator::start(&[]);

    // ARM_CLIENT_ID / ARM_CLIENT_SECRET / ARM_TENANT_ID, as the azuread provider takes them.
    let ws = Workspace::new(ONE).with_env(emulator.provider_env());
    apply(&ws).assert_success();
    assert_eq!(owners_of_created_app(&emulator, &ws), vec![CI_SP]);

    // The same in the provider block; an attribute wins over its variable (the wrong
    // secret in the environment is not used).
    let block = provider_block(&emulator);
    let ws = Workspace::new(&block)
        .with_env(vec![("ARM_CLIENT_SECRET".into(), "not-the-secret".into())]);
    let run = apply(&ws);
    run.assert_success();
    assert!(!run.all().contains(CI_CLIENT_SECRET), "{}", run.all());
    assert_eq!(owners_of_created_app(&emulator, &ws), vec![CI_SP]);
    assert_eq!(connector_apps(&emulator), 2);
}

#[test]
fn wrong_client_secret_or_object_id_as_client_id_say_what_to_fix() {
    let emulator = Emulator::start(&[]);

    let ws = Workspace::new(ONE).with_env(with(
        emulator.provider_env(),
        &[("ARM_CLIENT_SECRET", "a-wrong-secret-value")],
    ));
    let run = apply(&ws);
    run.assert_failure();
    let text = run.flat();
    assert!(text.contains("Invalid client secret"), "{text}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("not its Secret ID"), "{text}");
    assert!(!text.contains("a-wrong-secret-value"), "{text}");

    // The application's object id where its client id belongs.
    let ws = Workspace::new(ONE).with_env(with(
        emulator.provider_env(),
        &[("ARM_CLIENT_ID", CI_APP_OBJECT)],
    ));
    let run = apply(&ws);
    run.assert_failure();
    let text = run.flat();
    assert!(text.contains("Unknown client id"), "{text}");
    assert!(text.contains("AADSTS700016"), "{text}");
    assert!(text.contains("object id"), "{text}");
    assert_eq!(connector_apps(&emulator), 0);
}

#[test]
fn oidc_token_from_a_variable_and_from_a_file() {
    let emulator = Emulator::start(&[]);
    // The federated credential a pipeline's admin puts on terraform-ci's application.
    let (status, fic) = emulator.portal(
        "POST",
        &format!("/applications/{CI_APP_OBJECT}/federatedIdentityCredentials"),
        Some(&json!({
            "name": "github-main",
            "issuer": GITHUB_ISSUER,
            "subject": GITHUB_SUBJECT,
            "audiences": [TOKEN_EXCHANGE],
        })),
    );
    assert_eq!(status, 201, "{fic}");
    let oidc = with(
        bare_env(&emulator),
        &[("ARM_USE_OIDC", "true"), ("ARM_CLIENT_ID", CI_CLIENT_ID)],
    );

    // ARM_OIDC_TOKEN.
    let jwt = github_token(GITHUB_SUBJECT);
    let ws = Workspace::new(ONE).with_env(with(oidc.clone(), &[("ARM_OIDC_TOKEN", &jwt)]));
    let run = apply_traced(&ws);
    run.assert_success();
    assert_no_token_in(&run);
    assert_eq!(owners_of_created_app(&emulator, &ws), vec![CI_SP]);

    // ARM_OIDC_TOKEN_FILE_PATH (as Kubernetes or a CI runner mounts it).
    let ws = Workspace::new(ONE);
    let file = ws.path().join("oidc-token");
    std::fs::write(&file, format!("{}\n", github_token(GITHUB_SUBJECT))).unwrap();
    let ws = ws.with_env(with(
        oidc.clone(),
        &[("ARM_OIDC_TOKEN_FILE_PATH", &file.display().to_string())],
    ));
    apply(&ws).assert_success();
    assert_eq!(owners_of_created_app(&emulator, &ws), vec![CI_SP]);

    // A token from another branch matches no credential: the diagnostic shows what
    // the token says, so it can be compared with the credential.
    let other = "repo:psoxy/infra:ref:refs/heads/feature";
    let ws = Workspace::new(ONE).with_env(with(oidc, &[("ARM_OIDC_TOKEN", &github_token(other))]));
    let run = apply(&ws);
    run.assert_failure();
    let text = run.flat();
    assert!(
        text.contains("No matching federated identity credential"),
        "{text}"
    );
    assert!(text.contains("AADSTS70021"), "{text}");
    assert!(text.contains(&format!("subject {other}")), "{text}");
    assert_eq!(connector_apps(&emulator), 2);
}

#[test]
fn azure_cli_signed_in_and_not_signed_in() {
    let emulator = Emulator::start(&[]);
    let az = FakeAz::new(
        &emulator,
        AzBehaviour::SignedIn {
            user: "app-admin@psoxy.test",
            tenant: None,
        },
    );
    let ws = Workspace::new(ONE).with_env(cli_env(&emulator, &az));
    let run = apply_traced(&ws);
    run.assert_success();
    assert_no_token_in(&run);
    // The person signed in to the CLI is the owner of what they created.
    assert_eq!(owners_of_created_app(&emulator, &ws), vec![APP_ADMIN]);
    let calls = az.calls();
    assert!(!calls.is_empty());
    // The command azure_identity's AzureCliCredential runs.
    let expected = format!(
        "account get-access-token -o json --scope {}/.default --tenant {TENANT}",
        emulator.base_url
    );
    assert!(calls.iter().all(|c| c == &expected), "{calls:?}");

    // Not signed in: the CLI's own error, and the command that fixes it.
    let az = FakeAz::new(&emulator, AzBehaviour::NotLoggedIn);
    let ws = Workspace::new(ONE).with_env(cli_env(&emulator, &az));
    let run = apply(&ws);
    run.assert_failure();
    let text = run.flat();
    assert!(text.contains("Azure CLI not signed in"), "{text}");
    assert!(
        text.contains(&format!("az login --tenant {TENANT}")),
        "{text}"
    );
    assert!(text.contains("Please run 'az login'"), "{text}");
    assert_eq!(connector_apps(&emulator), 1);
}

#[test]
fn a_token_for_another_tenant_is_refused_before_any_graph_request() {
    let emulator = Emulator::start(&[]);
    let wrong = FakeAz::new(
        &emulator,
        AzBehaviour::SignedIn {
            user: "app-admin@psoxy.test",
            tenant: Some(OTHER_TENANT),
        },
    );
    let check = |run: &Run| {
        run.assert_failure();
        let text = run.flat();
        assert!(text.contains("Signed in to the wrong tenant"), "{text}");
        assert!(
            text.contains(&format!(
                "is for tenant {OTHER_TENANT}, but tenant_id is {TENANT}"
            )),
            "names both tenants: {text}"
        );
        assert!(
            text.contains(&format!("az login --tenant {TENANT}")),
            "{text}"
        );
        assert!(text.contains("Nothing was changed"), "{text}");
    };

    // Creating.
    emulator.clear_requests();
    let ws = Workspace::new(ONE).with_env(cli_env(&emulator, &wrong));
    check(&apply(&ws));
    let requests = emulator.requests();
    assert_no_graph_write(&requests);
    assert!(requests.is_empty(), "no Graph request at all: {requests:?}");
    assert!(!wrong.calls().is_empty(), "the CLI was asked");

    // Updating and destroying what exists: created correctly first, then the CLI is
    // signed in to the other tenant.
    let ws = Workspace::new(ONE).with_env(emulator.provider_env());
    apply(&ws).assert_success();
    let object_id = ws
        .terraform(&["output", "-json", "object_id"])
        .json()
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = ws.with_env(cli_env(&emulator, &wrong));
    // An empty variable counts as unset: the client secret no longer applies.
    ws.set_env("ARM_CLIENT_ID", "");
    ws.set_env("ARM_CLIENT_SECRET", "");
    ws.write(
        "main.tf",
        &ONE.replace(
            "connectors = [\"outlook-cal\"]",
            "connectors = [\"outlook-cal\"]\n  display_name = \"Renamed\"",
        ),
    );
    emulator.clear_requests();
    check(&apply(&ws));
    check(&ws.terraform(&["destroy", "-auto-approve", "-no-color"]));
    let requests = emulator.requests();
    assert!(requests.is_empty(), "no Graph request at all: {requests:?}");
    let (status, app) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    assert_eq!(status, 200, "still there");
    assert_eq!(app["displayName"], "Psoxy Connector - Outlook Calendar");
}

#[test]
fn no_credential_gives_one_diagnostic_with_what_was_tried_and_the_fix() {
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(ONE).with_env(bare_env(&emulator));
    let run = apply(&ws);
    run.assert_failure();
    let text = run.flat();
    assert_eq!(
        text.matches("No credentials to sign in to Microsoft Graph")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("Error:").count(), 1, "one diagnostic: {text}");
    for expected in [
        "Tried, in order (first match wins):",
        "- client certificate: client_certificate_path and client_certificate are not set",
        "ARM_CLIENT_CERTIFICATE_PATH",
        "- client secret: client_id and client_secret are not both set",
        "ARM_CLIENT_ID + ARM_CLIENT_SECRET",
        "- OIDC token: use_oidc (ARM_USE_OIDC) is not true",
        "ARM_USE_OIDC=true",
        "id-token: write",
        "- managed identity: use_msi (ARM_USE_MSI) is not true",
        "- Azure CLI: use_cli (ARM_USE_CLI) is false",
        &format!("az login --tenant {TENANT}"),
    ] {
        assert!(text.contains(expected), "missing {expected:?}: {text}");
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn trace_logs_and_state_hold_neither_secret_nor_token() {
    let emulator = Emulator::start(&[]);
    let assert_clean_state = |ws: &Workspace| {
        let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
        assert!(state.contains("psoxy_msft_connector"), "{state}");
        assert!(!state.contains(CI_CLIENT_SECRET));
        assert!(jwt_like(&state).is_empty(), "{state}");
    };

    // The secret in ARM_CLIENT_SECRET.
    let ws = Workspace::new(ONE).with_env(emulator.provider_env());
    let run = apply_traced(&ws);
    run.assert_success();
    assert!(
        run.all().contains("Microsoft Graph"),
        "Graph requests are logged"
    );
    assert_no_token_in(&run);
    assert_clean_state(&ws);

    // The secret in the provider block.
    let block = provider_block(&emulator);
    let ws = Workspace::new(&block);
    let run = apply_traced(&ws);
    run.assert_success();
    assert_no_token_in(&run);
    assert_clean_state(&ws);

    // A token the emulator issues for terraform-ci has the shape looked for above.
    let minted = emulator.admin("POST", "tokens", Some(&json!({"client_id": CI_CLIENT_ID})));
    let token = minted["access_token"].as_str().unwrap();
    assert_eq!(jwt_like(token), vec![token.to_owned()]);
}

#[test]
fn jwt_shapes_are_recognised() {
    let t = github_token("s");
    assert_eq!(jwt_like(&format!("x {t}\"")), vec![t.clone()]);
    assert!(jwt_like("eyJ short.x.y and no dots eyJabcdefghijkl").is_empty());
    assert_eq!(base64url(b"Man"), "TWFu");
    assert_eq!(base64url(b"Ma"), "TWE");
    assert_eq!(base64url(b"\xfb\xff"), "-_8");
}

// ---------------------------------------------------------------------------------
// Every method over HTTPS.

/// The managed identity `--managed-identity` gives the emulator, and its header secret.
const MI_CLIENT: &str = "0000000a-0000-4000-8000-0000000000a1";
const MI_HEADER: &str = "psoxy-identity-header-secret";
const CERT_PASSWORD: &str = "psoxy-test-password";

fn cert_fixture(name: &str) -> String {
    workspace_root()
        .join("provider/src/graph/auth/testdata")
        .join(name)
        .display()
        .to_string()
}

/// An emulator serving HTTPS, its directory kept in a state file so that a plain
/// HTTP emulator (which the test's own HTTP helpers reach) can prepare or inspect it
/// between runs.
struct Tls {
    dir: tempfile::TempDir,
}

impl Tls {
    fn new() -> Self {
        Tls {
            dir: tempfile::Builder::new()
                .prefix("psoxy-tls-")
                .tempdir()
                .unwrap(),
        }
    }

    fn state(&self) -> String {
        self.dir.path().join("state.json").display().to_string()
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn https(&self) -> Emulator {
        let tls = self.dir.path().display().to_string();
        let state = self.state();
        let mi = format!("{MI_CLIENT}:{MI_HEADER}");
        let e = Emulator::start(&["--tls", &tls, "--state", &state, "--managed-identity", &mi]);
        assert!(
            e.base_url.starts_with("https://localhost:"),
            "{}",
            e.base_url
        );
        e
    }

    /// The same directory over plain HTTP (start it only while `https` is stopped).
    fn plain(&self) -> Emulator {
        let mi = format!("{MI_CLIENT}:{MI_HEADER}");
        Emulator::start(&["--state", &self.state(), "--managed-identity", &mi])
    }

    /// The emulator's endpoints, its CA trusted, no credential, the CLI off.
    fn env(&self, emulator: &Emulator) -> Vec<(String, String)> {
        with(bare_env(emulator), &[("SSL_CERT_FILE", &self.cert())])
    }
}

fn quickstart() -> String {
    std::fs::read_to_string(workspace_root().join("examples/quickstart/main.tf")).unwrap()
}

/// Applies the quickstart and returns the client id of the application it created.
#[track_caller]
fn apply_quickstart(env: Vec<(String, String)>) -> (Workspace, Run) {
    let ws = Workspace::new(&quickstart()).with_env(env);
    let run = apply_traced(&ws);
    (ws, run)
}

#[track_caller]
fn created_client_id(ws: &Workspace) -> String {
    ws.terraform(&["output", "-json", "client_id"])
        .assert_success()
        .json()
        .as_str()
        .expect("client_id output")
        .to_owned()
}

/// Who owns the application with this client id (the identity that signed in).
fn owners_by_client_id(emulator: &Emulator, client_id: &str) -> Vec<String> {
    let (status, apps) = emulator.portal(
        "GET",
        &format!("/applications?$filter=appId%20eq%20'{client_id}'"),
        None,
    );
    assert_eq!(status, 200, "{apps}");
    let object_id = apps["value"][0]["id"].as_str().expect("the app").to_owned();
    let (status, owners) =
        emulator.portal("GET", &format!("/applications/{object_id}/owners"), None);
    assert_eq!(status, 200, "{owners}");
    owners["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn service_principal_of(emulator: &Emulator, app_id: &str) -> String {
    let (status, sps) = emulator.portal(
        "GET",
        &format!("/servicePrincipals?$filter=appId%20eq%20'{app_id}'"),
        None,
    );
    assert_eq!(status, 200, "{sps}");
    sps["value"][0]["id"]
        .as_str()
        .expect("service principal")
        .to_owned()
}

/// The DER certificate of a PEM fixture, base64 (a keyCredential's `key`).
fn certificate_b64(pem_fixture: &str) -> String {
    let pem = std::fs::read_to_string(cert_fixture(pem_fixture)).unwrap();
    let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap() + 27;
    let end = pem.find("-----END CERTIFICATE-----").unwrap();
    pem[start..end].split_whitespace().collect()
}

#[test]
fn every_method_signs_in_over_https_and_applies_the_quickstart() {
    let tls = Tls::new();
    // Prepared as an administrator would: the test certificate on terraform-ci's
    // application, and a federated credential for a GitHub workflow.
    {
        let plain = tls.plain();
        let (status, body) = plain.portal(
            "PATCH",
            &format!("/applications/{CI_APP_OBJECT}"),
            Some(&json!({"keyCredentials": [{
                "type": "AsymmetricX509Cert", "usage": "Verify",
                "key": certificate_b64("cert-and-key.pem"),
            }]})),
        );
        assert_eq!(status, 204, "{body}");
        let (status, fic) = plain.portal(
            "POST",
            &format!("/applications/{CI_APP_OBJECT}/federatedIdentityCredentials"),
            Some(&json!({"name": "github-main", "issuer": GITHUB_ISSUER,
                "subject": GITHUB_SUBJECT, "audiences": [TOKEN_EXCHANGE]})),
        );
        assert_eq!(status, 201, "{fic}");
    }
    let emulator = tls.https();
    let env = tls.env(&emulator);
    let ci = [("ARM_CLIENT_ID", CI_CLIENT_ID)];
    let secret_files = tempfile::tempdir().unwrap();
    let id_file = secret_files.path().join("client-id");
    let secret_file = secret_files.path().join("client-secret");
    std::fs::write(&id_file, CI_CLIENT_ID).unwrap();
    std::fs::write(&secret_file, format!("{CI_CLIENT_SECRET}\n")).unwrap();
    let token_file = secret_files.path().join("oidc-token");
    std::fs::write(&token_file, github_token(GITHUB_SUBJECT)).unwrap();
    let az = FakeAz::new(
        &emulator,
        AzBehaviour::SignedIn {
            user: "app-admin@psoxy.test",
            tenant: None,
        },
    );
    let inline_pem = {
        let bytes = std::fs::read(cert_fixture("cert-and-key.pem")).unwrap();
        base64_std(&bytes)
    };

    // (what, environment, who signs in: "ci", "mi" or "user")
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "PKCS#12 certificate",
            with(
                env.clone(),
                &[
                    ci[0],
                    ("ARM_CLIENT_CERTIFICATE_PATH", &cert_fixture("aes.pfx")),
                    ("ARM_CLIENT_CERTIFICATE_PASSWORD", CERT_PASSWORD),
                ],
            ),
            "ci",
        ),
        (
            "PEM certificate, inline",
            with(
                env.clone(),
                &[ci[0], ("ARM_CLIENT_CERTIFICATE", &inline_pem)],
            ),
            "ci",
        ),
        (
            "client secret",
            with(
                env.clone(),
                &[ci[0], ("ARM_CLIENT_SECRET", CI_CLIENT_SECRET)],
            ),
            "ci",
        ),
        (
            "client id and secret from files",
            with(
                env.clone(),
                &[
                    ("ARM_CLIENT_ID_FILE_PATH", &id_file.display().to_string()),
                    (
                        "ARM_CLIENT_SECRET_FILE_PATH",
                        &secret_file.display().to_string(),
                    ),
                ],
            ),
            "ci",
        ),
        (
            "OIDC token file",
            with(
                env.clone(),
                &[
                    ci[0],
                    ("ARM_USE_OIDC", "true"),
                    (
                        "ARM_OIDC_TOKEN_FILE_PATH",
                        &token_file.display().to_string(),
                    ),
                ],
            ),
            "ci",
        ),
        (
            "managed identity, App Service style",
            with(
                env.clone(),
                &[
                    ("ARM_USE_MSI", "true"),
                    (
                        "IDENTITY_ENDPOINT",
                        &format!("{}/msi/token", emulator.base_url),
                    ),
                    ("IDENTITY_HEADER", MI_HEADER),
                ],
            ),
            "mi",
        ),
        (
            "managed identity at ARM_MSI_ENDPOINT, user-assigned",
            with(
                env.clone(),
                &[
                    ("ARM_USE_MSI", "true"),
                    ("ARM_CLIENT_ID", MI_CLIENT),
                    (
                        "ARM_MSI_ENDPOINT",
                        &format!("{}/msi/token", emulator.base_url),
                    ),
                    ("IDENTITY_HEADER", MI_HEADER),
                ],
            ),
            "mi",
        ),
        ("Azure CLI", cli_env_tls(&tls, &emulator, &az), "user"),
    ];
    let mut created = Vec::new();
    for (what, env, who) in cases {
        let (ws, run) = apply_quickstart(env);
        assert!(run.success, "{what}: {}", run.all());
        assert_no_token_in(&run);
        for secret in [
            CERT_PASSWORD,
            MI_HEADER,
            CI_CLIENT_SECRET,
            &inline_pem[..40],
        ] {
            assert!(!run.all().contains(secret), "{what}: a secret leaked");
        }
        created.push((what, created_client_id(&ws), who));
    }
    drop(emulator);

    let plain = tls.plain();
    let mi_sp = service_principal_of(&plain, MI_CLIENT);
    for (what, client_id, who) in created {
        let expected = match who {
            "ci" => CI_SP.to_owned(),
            "mi" => mi_sp.clone(),
            _ => APP_ADMIN.to_owned(),
        };
        assert_eq!(
            owners_by_client_id(&plain, &client_id),
            vec![expected],
            "{what} signed in as someone else"
        );
    }
}

fn cli_env_tls(tls: &Tls, emulator: &Emulator, az: &FakeAz) -> Vec<(String, String)> {
    let mut env = with(tls.env(emulator), &[("ARM_USE_CLI", "true")]);
    env.push(az.path_env());
    env
}

fn base64_std(bytes: &[u8]) -> String {
    base64url(bytes).replace('-', "+").replace('_', "/") + ["", "==", "="][bytes.len() % 3]
}

#[test]
fn certificate_and_identity_failures_name_the_setting() {
    let tls = Tls::new();
    let emulator = tls.https();
    let env = with(tls.env(&emulator), &[("ARM_CLIENT_ID", CI_CLIENT_ID)]);
    let check = |what: &str, env: Vec<(String, String)>, expected: &[&str]| {
        let (_ws, run) = apply_quickstart(env);
        run.assert_failure();
        let text = run.flat();
        for e in expected {
            assert!(text.contains(e), "{what}: missing {e:?}: {text}");
        }
        assert!(jwt_like(&run.all()).is_empty(), "{what}: a token leaked");
        text
    };

    let text = check(
        "wrong password",
        with(
            env.clone(),
            &[
                ("ARM_CLIENT_CERTIFICATE_PATH", &cert_fixture("aes.pfx")),
                ("ARM_CLIENT_CERTIFICATE_PASSWORD", "not-the-password"),
            ],
        ),
        &[
            "Wrong client certificate password",
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "aes.pfx",
        ],
    );
    assert!(!text.contains("not-the-password"));

    check(
        "expired certificate",
        with(
            env.clone(),
            &[("ARM_CLIENT_CERTIFICATE_PATH", &cert_fixture("expired.pem"))],
        ),
        &[
            "Expired client certificate",
            "ARM_CLIENT_CERTIFICATE_PATH",
            "expired on 2020-02-01",
        ],
    );

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = format!("https://127.0.0.1:{closed}/msi/token");
    check(
        "unreachable identity endpoint",
        with(
            tls.env(&emulator),
            &[
                ("ARM_USE_MSI", "true"),
                ("IDENTITY_ENDPOINT", &unreachable),
                ("IDENTITY_HEADER", MI_HEADER),
            ],
        ),
        &[
            "Cannot reach the managed identity endpoint",
            &format!("IDENTITY_ENDPOINT ({unreachable}"),
            "ARM_USE_MSI",
        ],
    );

    // The emulator's certificate is not trusted without SSL_CERT_FILE.
    let mut untrusted = with(env, &[("ARM_CLIENT_SECRET", CI_CLIENT_SECRET)]);
    untrusted.retain(|(k, _)| k != "SSL_CERT_FILE");
    check(
        "untrusted certificate authority",
        untrusted,
        &["Cannot reach the Entra ID token endpoint", "SSL_CERT_FILE"],
    );
    assert!(emulator.base_url.starts_with("https://"));
}

/// The provider page's method list is the order the provider tries (as its "no
/// credentials" diagnostic lists them), and its argument table gives each setting the
/// environment variable the schema names.
#[test]
fn the_provider_page_lists_every_method_in_order_and_each_variable() {
    let page = std::fs::read_to_string(workspace_root().join("docs/index.md")).unwrap();
    let auth = page
        .split("\n## Authentication")
        .nth(1)
        .expect("an Authentication section");
    let documented: Vec<String> = auth
        .lines()
        .take_while(|l| !l.starts_with("Tokens are acquired"))
        .filter_map(|l| {
            let rest = l.split_once(". **")?.1;
            l.chars()
                .next()?
                .is_ascii_digit()
                .then(|| rest.split("**").next().unwrap().to_owned())
        })
        .collect();
    // The page's names for the diagnostic's.
    let page_name = |source: &str| match source {
        "client certificate" => Some("Client certificate".to_owned()),
        "client secret" => Some("Client secret".to_owned()),
        "OIDC token" => Some("OIDC (workload identity federation)".to_owned()),
        "managed identity" => Some("Managed identity".to_owned()),
        "Azure CLI" => Some("Azure CLI".to_owned()),
        _ => None,
    };
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(ONE).with_env(bare_env(&emulator));
    let run = apply(&ws);
    run.assert_failure();
    let all = run.all();
    let tried: Vec<String> = all
        .lines()
        .filter_map(|l| l.trim_start_matches(['│', ' ']).strip_prefix("- "))
        .filter_map(|l| l.split_once(':').map(|(name, _)| name))
        .filter_map(page_name)
        .collect();
    assert_eq!(tried.len(), 5, "{all}");
    assert_eq!(
        documented, tried,
        "docs/index.md's order (left), the provider's (right)"
    );
    for method in &documented {
        assert!(
            auth.contains(&format!("\n### {method}\n")),
            "no section for {method}"
        );
    }

    // The argument table's variable column, against the schema's descriptions.
    let ws = Workspace::new("");
    let schema = ws
        .terraform(&["providers", "schema", "-json"])
        .assert_success()
        .json();
    let attrs = schema["provider_schemas"]["registry.terraform.io/psoxy/psoxy"]["provider"]["block"]
        ["attributes"]
        .as_object()
        .unwrap()
        .clone();
    let table = page.split("\n## Argument reference").nth(1).unwrap();
    let table = table.split("\n## ").next().unwrap();
    for (name, a) in &attrs {
        let description = a["description"].as_str().unwrap_or_default();
        let vars: Vec<&str> = description
            .split("Environment variable: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no environment variable in {description}"))
            .trim_end_matches('.')
            .split(", ")
            .map(|v| v.trim_matches('`'))
            .collect();
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} is not in the argument table"));
        let column = row.split('|').nth(4).unwrap().trim();
        let documented_vars: Vec<&str> = column.split(", ").map(|v| v.trim_matches('`')).collect();
        assert_eq!(documented_vars, vars, "{name}: page (left), schema (right)");
        // Each sign-in setting is shown in the Authentication section with its variable.
        if !["environment", "graph_endpoint", "login_endpoint"].contains(&name.as_str()) {
            for var in &vars {
                assert!(
                    auth.contains(&format!("`{var}`")),
                    "{var} ({name}) is not in the Authentication section"
                );
            }
        }
    }
}
