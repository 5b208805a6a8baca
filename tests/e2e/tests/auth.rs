//! Signing in, with real Terraform against the Graph emulator: each credential source
//! (client secret from the environment and from the provider block, OIDC token from a
//! variable and from a file, the Azure CLI through a stand-in `az` first on `PATH`), a
//! token for the wrong tenant refused before any Graph request, no credential at all,
//! and a `TF_LOG=trace` apply whose output and state hold neither secret nor token.

use e2e::{CI_CLIENT_ID, CI_CLIENT_SECRET, Emulator, Run, TENANT, Workspace};
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
                    r#"resp=$(curl -sS -f -X POST -H 'Content-Type: application/json' -d '{request}' '{base}/_emulator/tokens') || {{ echo "ERROR: the stand-in could not reach the emulator" >&2; exit 1; }}
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
        "- client secret: client_id and client_secret are not both set",
        "ARM_CLIENT_ID + ARM_CLIENT_SECRET",
        "- OIDC token: use_oidc (ARM_USE_OIDC) is not true",
        "ARM_USE_OIDC=true",
        "id-token: write",
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
