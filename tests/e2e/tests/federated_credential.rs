//! `psoxy_federated_credential` with real Terraform against the Graph emulator: the
//! AWS and GCP presets and explicit values through create, no-change plan, update in
//! place, drift and delete; import in both id formats; Graph's limits (20 per
//! application, unique name, unique issuer+subject) as clear errors; ten credentials
//! created in parallel on one application; validation at `terraform validate`; and the
//! whole under eventual-consistency lag.

use e2e::{Emulator, Run, Workspace};
use serde_json::{Value, json};

const POOL: &str = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const IDENTITY: &str = "us-east-1:11111111-2222-4333-8444-555555555555";
const GCP_ID: &str = "112233445566778899001";
const GH_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GH_SUBJECT: &str = "repo:worklytics/psoxy:ref:refs/heads/main";

fn workspace(emulator: &Emulator, main_tf: &str) -> Workspace {
    Workspace::new(main_tf).with_env(emulator.provider_env())
}

fn outputs(ws: &Workspace) -> Value {
    let o = ws.terraform(&["output", "-json"]).assert_success().json();
    let mut flat = serde_json::Map::new();
    for (k, v) in o.as_object().unwrap() {
        flat.insert(k.clone(), v["value"].clone());
    }
    Value::Object(flat)
}

fn apply(ws: &Workspace, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "-auto-approve", "-no-color"];
    args.extend_from_slice(extra);
    let run = ws.terraform(&args);
    run.assert_success();
    run
}

/// `terraform plan -detailed-exitcode`: exit 0 means no changes.
#[track_caller]
fn assert_plan_empty(ws: &Workspace, extra: &[&str]) {
    let mut args = vec!["plan", "-detailed-exitcode", "-no-color"];
    args.extend_from_slice(extra);
    let run = ws.terraform(&args);
    assert!(run.success, "expected an empty plan:\n{}", run.all());
}

fn credentials(emulator: &Emulator, object_id: &str) -> Vec<Value> {
    let (status, body) = emulator.portal(
        "GET",
        &format!("/applications/{object_id}/federatedIdentityCredentials"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().unwrap().clone()
}

/// An application made by an administrator, as in the import flow.
fn admin_app(emulator: &Emulator, name: &str) -> String {
    let app = emulator.admin("POST", "applications", Some(&json!({"displayName": name})));
    app["id"].as_str().unwrap().to_owned()
}

fn portal_credential(emulator: &Emulator, object_id: &str, body: Value) -> Value {
    let (status, created) = emulator.portal(
        "POST",
        &format!("/applications/{object_id}/federatedIdentityCredentials"),
        Some(&body),
    );
    assert_eq!(status, 201, "{created}");
    created
}

const THREE_WAYS: &str = r#"
variable "description" {
  type    = string
  default = "first"
}

resource "psoxy_msft_connector" "app" {
  connectors = ["outlook-cal"]
}

resource "psoxy_federated_credential" "aws" {
  application_object_id = psoxy_msft_connector.app.object_id
  name                  = "psoxy-outlook-cal-aws"
  description           = var.description
  aws {
    identity_pool_id = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    identity_id      = "us-east-1:11111111-2222-4333-8444-555555555555"
  }
}

resource "psoxy_federated_credential" "gcp" {
  application_object_id = psoxy_msft_connector.app.object_id
  name                  = "psoxy-outlook-cal-gcp"
  gcp {
    service_account_unique_id = "112233445566778899001"
  }
}

resource "psoxy_federated_credential" "explicit" {
  application_object_id = psoxy_msft_connector.app.object_id
  name                  = "github-main"
  issuer                = "https://token.actions.githubusercontent.com"
  subject               = "repo:worklytics/psoxy:ref:refs/heads/main"
}

output "object_id" { value = psoxy_msft_connector.app.object_id }
output "aws" { value = psoxy_federated_credential.aws }
output "gcp" { value = psoxy_federated_credential.gcp }
output "explicit" { value = psoxy_federated_credential.explicit }
"#;

#[test]
fn presets_and_explicit_values_through_the_lifecycle() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, THREE_WAYS);

    // The preset's values are known at plan time.
    let plan = ws.terraform(&["plan", "-no-color"]);
    let text = plan.flat();
    assert!(plan.success, "{}", plan.all());
    assert!(
        text.contains(r#"+ issuer = "https://cognito-identity.amazonaws.com""#),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"+ audience = "{POOL}""#)),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"+ subject = "{GCP_ID}""#)),
        "{text}"
    );
    assert!(text.contains("4 to add"), "{text}");

    apply(&ws, &[]);
    let out = outputs(&ws);
    let object_id = out["object_id"].as_str().unwrap().to_owned();
    let aws = &out["aws"];
    assert_eq!(aws["issuer"], "https://cognito-identity.amazonaws.com");
    assert_eq!(aws["subject"], IDENTITY);
    assert_eq!(aws["audience"], POOL);
    let aws_id = aws["credential_id"].as_str().unwrap().to_owned();
    assert_eq!(
        aws["id"],
        format!("{object_id}/federatedIdentityCredential/{aws_id}")
    );
    assert_eq!(out["gcp"]["issuer"], "https://accounts.google.com");
    assert_eq!(out["gcp"]["subject"], GCP_ID);
    assert_eq!(out["gcp"]["audience"], "api://AzureADTokenExchange");
    assert_eq!(out["explicit"]["audience"], "api://AzureADTokenExchange");
    assert_eq!(out["explicit"]["issuer"], GH_ISSUER);

    // Graph holds exactly what state says.
    let in_graph = credentials(&emulator, &object_id);
    assert_eq!(in_graph.len(), 3);
    let by_name = |n: &str| {
        in_graph
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {in_graph:?}"))
            .clone()
    };
    let aws_graph = by_name("psoxy-outlook-cal-aws");
    assert_eq!(aws_graph["id"], aws_id.as_str());
    assert_eq!(aws_graph["subject"], IDENTITY);
    assert_eq!(aws_graph["audiences"], json!([POOL]));
    assert_eq!(aws_graph["description"], "first");
    assert_eq!(by_name("github-main")["subject"], GH_SUBJECT);

    // The point of it all: the proxy can now sign in with its own identity, and only it.
    let (_, app) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    let client_id = app["appId"].as_str().unwrap().to_owned();
    let aws_issuer = "https://cognito-identity.amazonaws.com";
    assert_eq!(
        sign_in_as_proxy(&emulator, &client_id, aws_issuer, IDENTITY, POOL),
        200
    );
    assert_eq!(
        sign_in_as_proxy(
            &emulator,
            &client_id,
            "https://accounts.google.com",
            GCP_ID,
            "api://AzureADTokenExchange"
        ),
        200
    );
    assert_eq!(
        sign_in_as_proxy(
            &emulator,
            &client_id,
            aws_issuer,
            IDENTITY,
            "api://AzureADTokenExchange"
        ),
        401,
        "the AWS audience is the pool id"
    );

    assert_plan_empty(&ws, &[]);

    // A new description is an update in place.
    let plan = ws.terraform(&["plan", "-no-color", "-var", "description=second"]);
    let text = plan.flat();
    assert!(text.contains("1 to change, 0 to destroy"), "{text}");
    assert!(!text.contains("must be replaced"), "{text}");
    apply(&ws, &["-var", "description=second"]);
    assert_eq!(
        by_id(&emulator, &object_id, &aws_id)["description"],
        "second"
    );
    assert_eq!(outputs(&ws)["aws"]["credential_id"], aws_id.as_str());
    assert_plan_empty(&ws, &["-var", "description=second"]);

    // Someone changes the subject and audience in the portal: the plan shows the
    // preset's values coming back, and apply repairs them in place.
    let (status, body) = emulator.portal(
        "PATCH",
        &format!("/applications/{object_id}/federatedIdentityCredentials/{aws_id}"),
        Some(&json!({"subject": "us-east-1:99999999-2222-4333-8444-555555555555", "description": "edited"})),
    );
    assert_eq!(status, 204, "{body}");
    let gh_id = out["explicit"]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = emulator.portal(
        "PATCH",
        &format!("/applications/{object_id}/federatedIdentityCredentials/{gh_id}"),
        Some(&json!({"audiences": ["api://somewhere-else"]})),
    );
    assert_eq!(status, 204);
    let plan = ws.terraform(&["plan", "-no-color", "-var", "description=second"]);
    let text = plan.flat();
    assert!(
        text.contains(&format!(
            r#"~ subject = "us-east-1:99999999-2222-4333-8444-555555555555" -> "{IDENTITY}""#
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"~ description = "edited" -> "second""#),
        "{text}"
    );
    assert!(
        text.contains(r#"~ audience = "api://somewhere-else" -> "api://AzureADTokenExchange""#),
        "{text}"
    );
    assert!(text.contains("2 to change, 0 to destroy"), "{text}");
    apply(&ws, &["-var", "description=second"]);
    let repaired = by_id(&emulator, &object_id, &aws_id);
    assert_eq!(repaired["subject"], IDENTITY);
    assert_eq!(repaired["description"], "second");
    assert_eq!(
        by_id(&emulator, &object_id, &gh_id)["audiences"],
        json!(["api://AzureADTokenExchange"])
    );
    assert_plan_empty(&ws, &["-var", "description=second"]);

    // Switching the GCP credential to another service account is an in-place update.
    let ws_tf = THREE_WAYS.replace(GCP_ID, "998877665544332211000");
    ws.write("main.tf", &ws_tf);
    let plan = ws.terraform(&["plan", "-no-color", "-var", "description=second"]);
    let text = plan.flat();
    assert!(text.contains("1 to change, 0 to destroy"), "{text}");
    apply(&ws, &["-var", "description=second"]);

    // A credential deleted in the portal leaves state at the next refresh and comes back.
    let (status, _) = emulator.portal(
        "DELETE",
        &format!("/applications/{object_id}/federatedIdentityCredentials/{gh_id}"),
        None,
    );
    assert_eq!(status, 204);
    let plan = ws.terraform(&["plan", "-no-color", "-var", "description=second"]);
    let text = plan.flat();
    assert!(
        text.contains("1 to add, 0 to change, 0 to destroy"),
        "{text}"
    );

    apply(&ws, &["-var", "description=second"]);
    let names = |emulator: &Emulator| -> Vec<String> {
        let mut names: Vec<String> = credentials(emulator, &object_id)
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&emulator),
        [
            "github-main",
            "psoxy-outlook-cal-aws",
            "psoxy-outlook-cal-gcp"
        ]
    );
    let gh_id = outputs(&ws)["explicit"]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Renaming an existing credential replaces it (Graph cannot rename): the plan says
    // so, and apply leaves the new name in Graph and the old one gone.
    ws.write("main.tf", &ws_tf.replace("github-main", "github-release"));
    let plan = ws.terraform(&["plan", "-no-color", "-var", "description=second"]);
    let text = plan.flat();
    assert!(plan.success, "{}", plan.all());
    assert!(
        text.contains("psoxy_federated_credential.explicit must be replaced"),
        "{text}"
    );
    assert!(
        text.contains(r#"~ name = "github-main" -> "github-release" # forces replacement"#),
        "{text}"
    );
    assert!(
        text.contains("1 to add, 0 to change, 1 to destroy"),
        "{text}"
    );
    apply(&ws, &["-var", "description=second"]);
    assert_eq!(
        names(&emulator),
        [
            "github-release",
            "psoxy-outlook-cal-aws",
            "psoxy-outlook-cal-gcp"
        ]
    );
    let renamed = outputs(&ws)["explicit"].clone();
    assert_eq!(renamed["name"], "github-release");
    assert_ne!(renamed["credential_id"], gh_id.as_str(), "a new credential");
    assert_eq!(
        by_id(
            &emulator,
            &object_id,
            renamed["credential_id"].as_str().unwrap()
        )["subject"],
        GH_SUBJECT
    );
    assert_plan_empty(&ws, &["-var", "description=second"]);

    ws.terraform(&[
        "destroy",
        "-auto-approve",
        "-no-color",
        "-var",
        "description=second",
    ])
    .assert_success();
    let (status, _) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    assert_eq!(status, 404);
}

/// What the proxy does at runtime: trade its own (AWS or GCP) token for a Microsoft
/// Graph token at the token endpoint, with a client assertion. Returns the status.
fn sign_in_as_proxy(emulator: &Emulator, client_id: &str, iss: &str, sub: &str, aud: &str) -> u16 {
    use std::io::{Read, Write};
    let b64 = |bytes: &[u8]| -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + 600});
    let assertion = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes()),
        b64(b"not-checked")
    );
    let form = format!(
        "grant_type=client_credentials&client_id={client_id}\
         &scope=https%3A%2F%2Fgraph.microsoft.com%2F.default\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={assertion}"
    );
    let host = emulator.base_url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        e2e::TENANT,
        form.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn by_id(emulator: &Emulator, object_id: &str, credential_id: &str) -> Value {
    let (status, body) = emulator.portal(
        "GET",
        &format!("/applications/{object_id}/federatedIdentityCredentials/{credential_id}"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn import_by_id_and_by_name_with_blocks_and_the_cli() {
    let emulator = Emulator::start(&[]);
    let object_id = admin_app(&emulator, "Made by admin");
    let aws = portal_credential(
        &emulator,
        &object_id,
        json!({"name": "cal-aws", "issuer": "https://cognito-identity.amazonaws.com",
               "subject": IDENTITY, "audiences": [POOL], "description": "made in the portal"}),
    );
    portal_credential(
        &emulator,
        &object_id,
        json!({"name": "cal-gcp", "issuer": "https://accounts.google.com",
               "subject": GCP_ID, "audiences": ["api://AzureADTokenExchange"]}),
    );
    portal_credential(
        &emulator,
        &object_id,
        json!({"name": "github-main", "issuer": GH_ISSUER,
               "subject": GH_SUBJECT, "audiences": ["api://AzureADTokenExchange"]}),
    );
    let aws_id = aws["id"].as_str().unwrap();
    let imports = format!(
        r#"
import {{
  to = psoxy_federated_credential.aws
  id = "{object_id}/federatedIdentityCredential/{aws_id}"
}}
import {{
  to = psoxy_federated_credential.gcp
  id = "{object_id}/cal-gcp"
}}
"#
    );
    let resources = format!(
        r#"
resource "psoxy_federated_credential" "aws" {{
  application_object_id = "{object_id}"
  name                  = "cal-aws"
  description           = "made in the portal"
  aws {{
    identity_pool_id = "{POOL}"
    identity_id      = "{IDENTITY}"
  }}
}}
resource "psoxy_federated_credential" "gcp" {{
  application_object_id = "{object_id}"
  name                  = "cal-gcp"
  gcp {{ service_account_unique_id = "{GCP_ID}" }}
}}
resource "psoxy_federated_credential" "gh" {{
  application_object_id = "{object_id}"
  name                  = "github-main"
  issuer                = "{GH_ISSUER}"
  subject               = "{GH_SUBJECT}"
}}
"#
    );
    let ws = workspace(&emulator, &format!("{imports}{resources}"));

    // `terraform import` on the command line, by name.
    let run = ws.terraform(&[
        "import",
        "-no-color",
        "psoxy_federated_credential.gh",
        &format!("{object_id}/github-main"),
    ]);
    run.assert_success();
    assert!(run.flat().contains("Import successful"), "{}", run.all());

    // The `import {}` blocks: both formats, adopted without any change.
    let plan = ws.terraform(&["plan", "-no-color"]);
    let text = plan.flat();
    assert!(
        text.contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{text}"
    );
    apply(&ws, &[]);
    assert_plan_empty(&ws, &[]);
    let state = ws.terraform(&["state", "list"]);
    assert_eq!(state.stdout.lines().count(), 3, "{}", state.stdout);
    assert_eq!(credentials(&emulator, &object_id).len(), 3);

    // Bad ids say what the two formats are.
    let fresh = workspace(&emulator, &resources);
    for bad in [
        "psoxy-cal",
        &format!("{object_id}/federatedIdentityCredential/not-a-guid"),
    ] {
        let run = fresh.terraform(&["import", "-no-color", "psoxy_federated_credential.gh", bad]);
        run.assert_failure();
        let text = run.flat();
        assert!(text.contains("Invalid import id"), "{text}");
        assert!(
            text.contains("<application object id>/federatedIdentityCredential/<credential id>")
                && text.contains("<application object id>/<credential name>"),
            "{text}"
        );
    }
    let run = fresh.terraform(&[
        "import",
        "-no-color",
        "psoxy_federated_credential.gh",
        &format!("{object_id}/no-such-name"),
    ]);
    run.assert_failure();
    let text = run.flat();
    assert!(text.contains("No such federated credential"), "{text}");
    assert!(text.contains("cal-aws"), "lists what exists: {text}");
}

const MANY: &str = r#"
variable "n" { type = number }

resource "psoxy_msft_connector" "app" {
  connectors = ["outlook-cal"]
}

resource "psoxy_federated_credential" "c" {
  count                 = var.n
  application_object_id = psoxy_msft_connector.app.object_id
  name                  = "psoxy-cred-${count.index}"
  gcp {
    service_account_unique_id = "${100000 + count.index}"
  }
}

output "object_id" { value = psoxy_msft_connector.app.object_id }
"#;

#[test]
fn ten_in_parallel_then_the_twenty_first_fails_alone() {
    let emulator = Emulator::start(&[]);
    // Every request takes a while, as over a real network, so that writes sent at once
    // really overlap in the emulator (its lock alone would serialise them).
    emulator.set_faults(json!({"latency_ms": 150}));
    let ws = workspace(&emulator, MANY);

    // Ten at once on one application: all succeed, because the provider sends writes
    // to one application one at a time (Graph answers concurrent ones with conflicts).
    let run = apply(&ws, &["-parallelism=10", "-var", "n=10"]);
    assert!(
        run.flat().contains("11 added"),
        "connector + 10 credentials: {}",
        run.all()
    );
    let object_id = outputs(&ws)["object_id"].as_str().unwrap().to_owned();
    assert_eq!(credentials(&emulator, &object_id).len(), 10);
    assert_one_write_at_a_time(&emulator, &object_id, 10);
    assert!(
        emulator
            .requests()
            .iter()
            .all(|(_, _, status)| *status != 409),
        "no write conflicts"
    );
    assert_plan_empty(&ws, &["-var", "n=10"]);
    emulator.clear_stats();
    emulator.clear_requests();

    // Twenty-one: exactly one fails, clearly; the other twenty are in state and Graph.
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color", "-var", "n=21"]);
    run.assert_failure();
    let text = run.flat();
    assert_eq!(
        text.matches("Too many federated credentials on one application")
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("An application can hold at most 20 federated identity credentials"),
        "{text}"
    );
    assert!(text.contains("Directory_QuotaExceeded"), "{text}");
    assert!(text.contains("request-id"), "{text}");
    let state = ws.terraform(&["state", "list"]);
    let lines: Vec<&str> = state.stdout.lines().collect();
    assert_eq!(lines.len(), 21, "20 credentials + the app: {lines:?}");
    assert_eq!(credentials(&emulator, &object_id).len(), 20);
    assert_one_write_at_a_time(&emulator, &object_id, 11);

    // Nothing lost: the next plan only retries the one that failed.
    let plan = ws.terraform(&["plan", "-no-color", "-var", "n=21"]);
    assert!(plan.success, "{}", plan.all());
    assert!(
        plan.flat().contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.all()
    );
}

/// The emulator saw at least `writes` credential creates on the application, and never
/// two writes to it in flight at once.
#[track_caller]
fn assert_one_write_at_a_time(emulator: &Emulator, object_id: &str, writes: usize) {
    let creates = emulator
        .requests()
        .iter()
        .filter(|(m, path, _)| m == "POST" && path.ends_with("/federatedIdentityCredentials"))
        .count();
    assert!(creates >= writes, "{creates} credential creates seen");
    let peaks = emulator.peak_writes_in_flight();
    assert_eq!(
        peaks.get(&object_id.to_ascii_lowercase()).copied(),
        Some(1),
        "writes to application {object_id} in flight at once: {peaks:?}"
    );
}

#[test]
fn duplicate_name_and_duplicate_identity_are_explained() {
    let emulator = Emulator::start(&[]);
    let object_id = admin_app(&emulator, "Has credentials");
    portal_credential(
        &emulator,
        &object_id,
        json!({"name": "taken", "issuer": "https://accounts.google.com",
               "subject": "42", "audiences": ["api://AzureADTokenExchange"]}),
    );
    let ws = workspace(
        &emulator,
        &format!(
            r#"
resource "psoxy_federated_credential" "same_name" {{
  application_object_id = "{object_id}"
  name                  = "taken"
  gcp {{ service_account_unique_id = "43" }}
}}
resource "psoxy_federated_credential" "same_identity" {{
  application_object_id = "{object_id}"
  name                  = "another-name"
  gcp {{ service_account_unique_id = "42" }}
}}
"#
        ),
    );
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    run.assert_failure();
    let text = run.flat();
    assert!(
        text.contains("Duplicate federated credential name"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"already has a federated credential named "taken": names are unique per application"#
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("terraform import <address> {object_id}/taken")),
        "{text}"
    );
    assert!(
        text.contains("Request_MultipleObjectsWithSameKeyValue"),
        "{text}"
    );
    assert!(
        text.contains("Identity already trusted by another credential"),
        "{text}"
    );
    assert!(
        text.contains(r#"credential "taken""#)
            && text.contains("already trusts issuer https://accounts.google.com and subject 42"),
        "{text}"
    );
    assert!(
        text.contains("InvalidFederatedIdentityCredentialValue"),
        "{text}"
    );
    assert_eq!(credentials(&emulator, &object_id).len(), 1);
    let state = ws.terraform(&["state", "list"]);
    assert_eq!(state.stdout.trim(), "", "nothing half-made in state");
}

#[test]
fn mistakes_are_caught_at_validate() {
    let ws = Workspace::new(
        r#"
resource "psoxy_federated_credential" "bad_name" {
  application_object_id = "00000000-0000-4000-8000-000000000001"
  name                  = "-starts-with-dash"
  gcp { service_account_unique_id = "123" }
}
resource "psoxy_federated_credential" "both" {
  application_object_id = "00000000-0000-4000-8000-000000000001"
  name                  = "both"
  gcp { service_account_unique_id = "123" }
  aws {
    identity_pool_id = "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    identity_id      = "us-east-1:11111111-2222-4333-8444-555555555555"
  }
}
resource "psoxy_federated_credential" "gcp_email" {
  application_object_id = "00000000-0000-4000-8000-000000000001"
  name                  = "gcp-email"
  gcp { service_account_unique_id = "psoxy@project.iam.gserviceaccount.com" }
}
resource "psoxy_federated_credential" "aws_shape" {
  application_object_id = "00000000-0000-4000-8000-000000000001"
  name                  = "aws-shape"
  aws {
    identity_pool_id = "0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    identity_id      = "us-east-1:11111111-2222-4333-8444-555555555555"
  }
}
resource "psoxy_federated_credential" "wildcard" {
  application_object_id = "00000000-0000-4000-8000-000000000001"
  name                  = "wildcard"
  issuer                = "https://token.actions.githubusercontent.com"
  subject               = "repo:worklytics/*"
}
resource "psoxy_federated_credential" "nothing" {
  application_object_id = "psoxy_msft_connector.x.client_id"
  name                  = "nothing"
}
"#,
    );
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_failure();
    let text = run.flat();
    for expected in [
        "Invalid first character in credential name",
        r#"must start with a letter or a digit; "-starts-with-dash" starts with '-'"#,
        "Both `aws` and `gcp` given",
        "Invalid GCP service account unique id",
        "That is the service account's email",
        "Invalid Cognito identity pool id",
        "the AWS region, a colon and a UUID",
        "Wildcards are not allowed",
        "No identity to trust",
        "`gcp { service_account_unique_id",
        "Invalid application object id",
    ] {
        assert!(
            text.contains(expected),
            "missing {expected:?} in:\n{}",
            run.all()
        );
    }
    // Diagnostics point at the offending lines.
    assert!(
        text.contains(r#"on main.tf line 4, in resource "psoxy_federated_credential" "bad_name""#),
        "{text}"
    );
}

/// The same three credentials on an application created through Graph moments ago:
/// it is invisible for a while, to reads and to its sub-resources alike.
#[test]
fn replication_lag_is_ridden_out() {
    let emulator = Emulator::start(&["--seed", "11"]);
    emulator.set_faults(json!({
        "consistency_reads": 2,
        "consistency_subresources": true
    }));
    let (status, app) = emulator.portal(
        "POST",
        "/applications",
        Some(&json!({"displayName": "Just created"})),
    );
    assert_eq!(status, 201, "{app}");
    let object_id = app["id"].as_str().unwrap().to_owned();
    let config = THREE_WAYS
        .replace(
            "resource \"psoxy_msft_connector\" \"app\" {\n  connectors = [\"outlook-cal\"]\n}",
            "variable \"object_id\" { type = string }",
        )
        .replace("psoxy_msft_connector.app.object_id", "var.object_id");
    let ws = workspace(&emulator, &config);
    let var = format!("object_id={object_id}");
    apply(&ws, &["-var", &var]);
    let statuses: Vec<(String, u16)> = emulator
        .requests()
        .into_iter()
        .filter(|(_, path, _)| path.contains("federatedIdentityCredentials"))
        .map(|(m, _, s)| (m, s))
        .collect();
    assert!(
        statuses.iter().any(|(m, s)| m == "POST" && *s == 404),
        "the lag really hit the credential create: {statuses:?}"
    );
    // A create does not poll until the credential reads back; the lag bites, and is
    // ridden out, where the credential is next read: the refresh.
    assert_plan_empty(&ws, &["-var", &var]);
    let reads: Vec<u16> = emulator
        .requests()
        .into_iter()
        .filter(|(m, path, _)| m == "GET" && path.contains("federatedIdentityCredentials/"))
        .map(|(_, _, s)| s)
        .collect();
    assert!(
        reads.contains(&404) && reads.contains(&200),
        "the lag really hit the refresh, which rode it out: {reads:?}"
    );
    apply(&ws, &["-var", &var, "-var", "description=after-lag"]);
    assert_plan_empty(&ws, &["-var", &var, "-var", "description=after-lag"]);
    assert_eq!(credentials(&emulator, &object_id).len(), 3);
    ws.terraform(&[
        "destroy",
        "-auto-approve",
        "-no-color",
        "-var",
        &var,
        "-var",
        "description=after-lag",
    ])
    .assert_success();
    assert_eq!(credentials(&emulator, &object_id).len(), 0);
}
