//! `psoxy_msft_connector` with real Terraform against the Graph emulator: the whole
//! lifecycle, drift, consent, import, the shared application, a caller without the role,
//! and the same under eventual-consistency lag and throttling.

use e2e::{Emulator, Run, Workspace};
use serde_json::{Value, json};

const CAL: &str = r#"
resource "psoxy_msft_connector" "cal" {
  connectors = ["outlook-cal"]
}

output "object_id" { value = psoxy_msft_connector.cal.object_id }
output "client_id" { value = psoxy_msft_connector.cal.client_id }
output "consent_granted" { value = psoxy_msft_connector.cal.consent_granted }
output "missing" { value = psoxy_msft_connector.cal.missing_app_roles }
output "doc" { value = psoxy_msft_connector.cal.consent_instructions }
output "roles" { value = psoxy_msft_connector.cal.required_app_roles }
"#;

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

fn apply(ws: &Workspace) -> Run {
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    run.assert_success();
    run
}

/// `terraform plan -detailed-exitcode`: exit 0 means no changes.
fn plan_is_empty(ws: &Workspace) -> bool {
    let run = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    assert!(
        run.success || run.all().contains("Plan:") || run.all().contains("~ "),
        "plan failed:\n{}",
        run.all()
    );
    run.success
}

/// The consent document's status line: there is exactly one.
#[track_caller]
fn consent_status_line(doc: &str) -> &str {
    let lines: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("Admin consent: "))
        .collect();
    assert_eq!(lines.len(), 1, "one status line in:\n{doc}");
    lines[0]
}

#[test]
fn lifecycle_create_no_change_consent_drift_delete() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, CAL);

    let run = apply(&ws);
    assert!(
        run.flat().contains("Admin consent pending"),
        "{}",
        run.all()
    );
    let out = outputs(&ws);
    let object_id = out["object_id"].as_str().unwrap().to_owned();
    let client_id = out["client_id"].as_str().unwrap().to_owned();
    assert_eq!(out["consent_granted"], false);
    assert_eq!(
        out["roles"]["Calendars.Read"],
        "798ee544-9d2d-430c-a058-570e29e34338"
    );
    assert_eq!(out["missing"].as_array().unwrap().len(), 4);
    let doc = out["doc"].as_str().unwrap();
    assert!(doc.contains("Privileged Role Administrator"), "{doc}");
    assert!(
        doc.contains(&format!("adminconsent?client_id={client_id}")),
        "{doc}"
    );
    let mut permissions: Vec<&String> = out["roles"].as_object().unwrap().keys().collect();
    permissions.sort();
    let missing: Vec<String> = permissions.iter().map(|p| format!("`{p}`")).collect();
    assert_eq!(
        consent_status_line(doc),
        format!(
            "Admin consent: **pending**. Not yet granted: {}.",
            missing.join(", ")
        )
    );

    // The application in Graph is what was asked for.
    let (status, app) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    assert_eq!(status, 200);
    assert_eq!(app["displayName"], "Psoxy Connector - Outlook Calendar");
    assert!(app["tags"].as_array().unwrap().contains(&json!("HideApp")));
    let access = &app["requiredResourceAccess"][0]["resourceAccess"];
    assert_eq!(access.as_array().unwrap().len(), 4);
    assert!(
        access
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"] == "Role")
    );

    assert!(plan_is_empty(&ws), "second plan must be empty");

    // An administrator grants consent in the portal; a refresh shows it.
    emulator.admin("POST", "consent", Some(&json!({"appId": client_id})));
    ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"])
        .assert_success();
    let out = outputs(&ws);
    assert_eq!(out["consent_granted"], true);
    assert_eq!(out["missing"], json!([]));
    let doc = out["doc"].as_str().unwrap();
    assert!(
        consent_status_line(doc).starts_with("Admin consent: **granted**. "),
        "{doc}"
    );
    assert!(!doc.contains("**pending**"), "{doc}");
    assert!(
        plan_is_empty(&ws),
        "consent granted: still nothing to change"
    );

    // Someone renames the app and drops a permission in the portal: plan shows it, apply repairs it.
    let (status, _) = emulator.portal(
        "PATCH",
        &format!("/applications/{object_id}"),
        Some(&json!({
            "displayName": "renamed in portal",
            "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
              "resourceAccess": [{"id": "798ee544-9d2d-430c-a058-570e29e34338", "type": "Role"}]}]
        })),
    );
    assert_eq!(status, 204);
    let plan = ws.terraform(&["plan", "-no-color"]);
    let text = plan.flat();
    assert!(text.contains("renamed in portal"), "{text}");
    assert!(text.contains("User.Read.All"), "{text}");
    assert!(text.contains("1 to change"), "{text}");
    assert!(!text.contains("must be replaced"), "{text}");
    apply(&ws);
    let (_, app) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    assert_eq!(app["displayName"], "Psoxy Connector - Outlook Calendar");
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(plan_is_empty(&ws));

    // Destroy soft-deletes the application.
    ws.terraform(&["destroy", "-auto-approve", "-no-color"])
        .assert_success();
    let (status, _) = emulator.portal("GET", &format!("/applications/{object_id}"), None);
    assert_eq!(status, 404);
    let (status, _) = emulator.portal("GET", &format!("/directory/deletedItems/{object_id}"), None);
    assert_eq!(status, 200, "soft-deleted, restorable");
}

#[test]
fn deleted_outside_terraform_leaves_state_cleanly() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, CAL);
    apply(&ws);
    let object_id = outputs(&ws)["object_id"].as_str().unwrap().to_owned();
    let (status, _) = emulator.portal("DELETE", &format!("/applications/{object_id}"), None);
    assert_eq!(status, 204);
    let plan = ws.terraform(&["plan", "-no-color"]);
    assert!(plan.flat().contains("1 to add"), "{}", plan.all());
}

#[test]
fn one_application_for_several_connectors() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(
        &emulator,
        r#"
resource "psoxy_msft_connector" "shared" {
  connectors = ["outlook-cal", "outlook-mail", "msft-teams"]
  display_name = "Psoxy shared"
}
output "roles" { value = psoxy_msft_connector.shared.required_app_roles }
output "doc" { value = psoxy_msft_connector.shared.consent_instructions }
"#,
    );
    // The permissions are known at plan time.
    let plan = ws.terraform(&["plan", "-no-color"]);
    assert!(plan.flat().contains("Mail.ReadBasic.All"), "{}", plan.all());
    apply(&ws);
    let out = outputs(&ws);
    let roles = out["roles"].as_object().unwrap();
    // Union of three connectors without duplicates.
    assert_eq!(roles.len(), 12, "{roles:?}");
    let doc = out["doc"].as_str().unwrap();
    assert!(
        doc.contains("New-CsApplicationAccessPolicy"),
        "Teams steps in the document"
    );
    assert!(plan_is_empty(&ws));
}

#[test]
fn import_an_admin_created_application_by_object_id_and_by_client_id() {
    let emulator = Emulator::start(&[]);
    let make_app = |name: &str| {
        emulator.admin(
            "POST",
            "applications",
            Some(&json!({"displayName": name, "owners": ["00000000-0000-4000-8000-00000000b002"]})),
        )
    };
    let by_object = make_app("Made by admin 1");
    let by_client = make_app("Made by admin 2");
    let config = format!(
        r#"
import {{
  to = psoxy_msft_connector.a
  id = "{}"
}}
import {{
  to = psoxy_msft_connector.b
  id = "{}"
}}
resource "psoxy_msft_connector" "a" {{
  connectors = ["outlook-cal"]
}}
resource "psoxy_msft_connector" "b" {{
  connectors = ["msft-entra-id"]
}}
"#,
        by_object["id"].as_str().unwrap(),
        by_client["appId"].as_str().unwrap()
    );
    let ws = workspace(&emulator, &config);
    let plan = ws.terraform(&["plan", "-no-color"]);
    let text = plan.flat();
    assert!(text.contains("2 to import"), "{text}");
    assert!(text.contains("0 to add"), "no replacement: {text}");
    assert!(text.contains("0 to destroy"), "{text}");
    assert!(
        text.contains("is the client id (appId)"),
        "says which id matched: {text}"
    );
    apply(&ws);
    let (_, app) = emulator.portal(
        "GET",
        &format!("/applications/{}", by_object["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(app["displayName"], "Psoxy Connector - Outlook Calendar");
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let (_, app) = emulator.portal(
        "GET",
        &format!("/applications/{}", by_client["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(plan_is_empty(&ws));
}

#[test]
fn terraform_import_cli_and_an_unknown_id() {
    let emulator = Emulator::start(&[]);
    let app = emulator.admin(
        "POST",
        "applications",
        Some(&json!({"displayName": "legacy"})),
    );
    let ws = workspace(&emulator, CAL);
    let run = ws.terraform(&[
        "import",
        "-no-color",
        "psoxy_msft_connector.cal",
        app["appId"].as_str().unwrap(),
    ]);
    run.assert_success();
    assert!(run.flat().contains("Import successful"), "{}", run.all());
    // Nothing has been consented to yet: the imported state must not say otherwise,
    // even though it knows no connectors until the next apply.
    let shown = ws.terraform(&["state", "show", "-no-color", "psoxy_msft_connector.cal"]);
    assert!(
        shown.flat().contains("consent_granted = false"),
        "{}",
        shown.all()
    );
    apply(&ws);
    assert_eq!(outputs(&ws)["object_id"], app["id"]);

    let ws2 = workspace(&emulator, CAL);
    let run = ws2.terraform(&[
        "import",
        "-no-color",
        "psoxy_msft_connector.cal",
        "11111111-2222-3333-4444-555555555555",
    ]);
    run.assert_failure();
    assert!(run.flat().contains("No such application"), "{}", run.all());
    let run = ws2.terraform(&["import", "-no-color", "psoxy_msft_connector.cal", "my-app"]);
    run.assert_failure();
    assert!(
        run.flat().contains("object id or its client id"),
        "{}",
        run.all()
    );
}

#[test]
fn a_caller_without_the_role_gets_a_clear_error() {
    let emulator = Emulator::start(&[]);
    let who = emulator.admin(
        "POST",
        "identities",
        Some(&json!({"kind": "app", "clientSecret": "no-role-secret", "roles": []})),
    );
    let client_id = who["clientId"]
        .as_str()
        .expect("new app identity")
        .to_owned();
    let mut env = emulator.provider_env();
    env.retain(|(k, _)| k != "ARM_CLIENT_ID" && k != "ARM_CLIENT_SECRET");
    env.push(("ARM_CLIENT_ID".into(), client_id));
    env.push(("ARM_CLIENT_SECRET".into(), "no-role-secret".into()));
    let ws = Workspace::new(CAL).with_env(env);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    run.assert_failure();
    let text = run.flat();
    assert!(text.contains("Cloud Application Administrator"), "{text}");
    assert!(text.contains("terraform import"), "{text}");
    assert!(text.contains("Authorization_RequestDenied"), "{text}");
    assert!(text.contains("request-id"), "{text}");
    // Nothing was left behind.
    let (_, apps) = emulator.portal(
        "GET",
        "/applications?$filter=startswith(displayName,'Psoxy')",
        None,
    );
    assert_eq!(apps["value"], json!([]));
}

#[test]
fn an_unknown_connector_fails_at_validate() {
    let ws =
        Workspace::new(r#"resource "psoxy_msft_connector" "x" { connectors = ["outlok-cal"] }"#);
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_failure();
    assert!(
        run.flat().contains("Did you mean \"outlook-cal\"?"),
        "{}",
        run.all()
    );
}

#[test]
fn an_owner_that_is_not_an_object_id_fails_at_validate() {
    let ws = Workspace::new(
        r#"resource "psoxy_msft_connector" "x" {
  connectors = ["outlook-cal"]
  owners     = ["alice@example.com"]
}"#,
    );
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_failure();
    assert!(run.flat().contains("is not an object id"), "{}", run.all());
}

#[test]
fn a_deprecated_connector_warns_with_its_replacement() {
    let ws = Workspace::new(r#"resource "psoxy_msft_connector" "x" { connectors = ["azure-ad"] }"#);
    let run = ws.terraform(&["validate", "-no-color"]);
    run.assert_success();
    assert!(run.flat().contains("msft-entra-id"), "{}", run.all());
}

#[test]
fn lag_and_throttling_are_ridden_out() {
    let emulator = Emulator::start(&["--seed", "7"]);
    emulator.set_faults(json!({
        "consistency_reads": 2,
        "sp_backing_app_delay_reads": 2,
        "throttle_probability": 0.3,
        "retry_after_secs": 1,
        "unavailable_probability": 0.1,
        // One application create is acted on and answered 504, as a gateway that timed
        // out: the provider must find the application it made, not make a second one.
        "rules": [{"method": "POST", "path": "/applications", "action": "act_then_504"}]
    }));
    let ws = workspace(
        &emulator,
        r#"
resource "psoxy_msft_connector" "c" {
  for_each   = toset(["outlook-cal", "outlook-mail", "msft-entra-id", "msft-teams"])
  connectors = [each.key]
}
"#,
    );
    apply(&ws);
    assert!(
        plan_is_empty(&ws),
        "no drift after a lagging, throttled apply"
    );
    // Every fault this test injects really bit, and was answered as that fault says.
    let log = emulator.logged_requests();
    let hit = |fault: &str| -> Vec<&e2e::LoggedRequest> {
        log.iter()
            .filter(|r| r.fault.as_deref() == Some(fault))
            .collect()
    };
    let summary: Vec<(String, String, u16, Option<String>)> = log
        .iter()
        .filter(|r| r.fault.is_some())
        .map(|r| (r.method.clone(), r.path.clone(), r.status, r.fault.clone()))
        .collect();
    let throttled = hit("throttle");
    assert!(
        !throttled.is_empty() && throttled.iter().all(|r| r.status == 429),
        "throttling: {summary:?}"
    );
    let unavailable = hit("unavailable");
    assert!(
        !unavailable.is_empty() && unavailable.iter().all(|r| matches!(r.status, 503 | 504)),
        "503/504: {summary:?}"
    );
    // The service principals are created last, so their first reads, in the refresh,
    // meet the replication window; the empty plan above shows they were waited for.
    let lag = hit("consistency_404");
    assert!(
        lag.iter().any(|r| r.method == "GET"
            && r.status == 404
            && r.path.starts_with("/v1.0/servicePrincipals(appId=")),
        "a new service principal was read while it lagged: {summary:?}"
    );
    let backing = hit("no_backing_application");
    assert!(
        !backing.is_empty()
            && backing
                .iter()
                .all(|r| r.method == "POST" && r.path == "/v1.0/servicePrincipals"),
        "NoBackingApplicationObject: {summary:?}"
    );
    assert_eq!(
        emulator.fault_rules_fired(),
        [1],
        "the lost create answer: {summary:?}"
    );
    assert!(
        hit("act_then_504")
            .iter()
            .all(|r| r.method == "POST" && r.path == "/v1.0/applications" && r.status == 504),
        "{summary:?}"
    );
    // Four applications were made, each once: the one whose answer was lost was looked
    // up, not sent again.
    let creates = log
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1.0/applications")
        .filter(|r| r.status == 201 || r.fault.as_deref() == Some("act_then_504"))
        .count();
    assert_eq!(creates, 4, "applications created: {summary:?}");
    // The test's own look at Graph must not be throttled.
    emulator.set_faults(json!({"throttle_probability": 0.0, "unavailable_probability": 0.0, "consistency_reads": 0}));
    // Every application Terraform made is in state, and there are no others: the one
    // whose answer was lost was found, not made twice.
    let apps = emulator.psoxy_applications(None);
    assert_eq!(apps.len(), 4, "{apps:#?}");
    let in_state: Vec<Value> = ws
        .state_resources()
        .iter()
        .map(|r| r.values["object_id"].clone())
        .collect();
    for app in &apps {
        assert!(
            in_state.contains(&app["data"]["id"]),
            "{} is not in state: {in_state:?}",
            app["data"]["id"]
        );
    }
    ws.terraform(&["destroy", "-auto-approve", "-no-color"])
        .assert_success();
    assert_eq!(emulator.psoxy_applications(None).len(), 0);
}

#[test]
fn a_lagging_service_principal_is_not_recreated() {
    // Right after create, Graph may not yet show the new service principal to reads;
    // the refresh must not take that lag for a missing service principal.
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, CAL);
    // Every object created from now on is hidden from its first two reads, however
    // long they take to come.
    emulator.set_faults(json!({"consistency_reads": 2}));
    apply(&ws);
    let out = outputs(&ws);
    let object_id = out["object_id"].as_str().unwrap().to_owned();
    let client_id = out["client_id"].as_str().unwrap().to_owned();
    // The application has replicated by now (two reads use up its window); only its
    // service principal lags.
    let app_path = format!("/applications/{object_id}");
    let seen: Vec<u16> = (0..3)
        .map(|_| emulator.portal("GET", &app_path, None).0)
        .collect();
    assert_eq!(seen.last(), Some(&200), "{seen:?}");
    emulator.clear_requests();

    let plan = ws.terraform(&["plan", "-no-color", "-detailed-exitcode"]);
    assert!(
        plan.success,
        "plan right after create shows changes:\n{}",
        plan.all()
    );
    // The refresh really met the lag, and rode it out.
    let sp_path = format!("/v1.0/servicePrincipals(appId='{client_id}')");
    let sp_reads: Vec<(u16, Option<String>)> = emulator
        .logged_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == sp_path)
        .map(|r| (r.status, r.fault))
        .collect();
    assert_eq!(
        sp_reads.first(),
        Some(&(404, Some("consistency_404".to_owned()))),
        "the refresh's first read of the service principal: {sp_reads:?}"
    );
    assert_eq!(
        sp_reads.last(),
        Some(&(200, None)),
        "the refresh read it again until it showed: {sp_reads:?}"
    );
    let app_reads: Vec<u16> = emulator
        .logged_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/v1.0{app_path}"))
        .map(|r| r.status)
        .collect();
    // The tagged listing holds the application (it has replicated), so only the
    // service principal is read on its own.
    assert!(
        app_reads.is_empty(),
        "the listed application was read again: {app_reads:?}"
    );
}

#[test]
fn a_tenant_id_written_in_capitals_plans_what_apply_records() {
    // Entra ids are case-insensitive; the token's tid is lower case. The plan must not
    // promise the configured spelling and then record another.
    let emulator = Emulator::start(&[]);
    let mut env = emulator.provider_env();
    env.retain(|(k, _)| k != "ARM_TENANT_ID");
    env.push(("ARM_TENANT_ID".into(), e2e::TENANT.to_ascii_uppercase()));
    let ws = Workspace::new(CAL).with_env(env);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert!(run.success, "{}", run.all());
    assert!(plan_is_empty(&ws));
}

#[test]
fn owners_written_in_capitals_are_the_same_owners() {
    let emulator = Emulator::start(&[]);
    let owner = "00000000-0000-4000-8000-00000000B002"; // owner@psoxy.test, in capitals
    let config = format!(
        r#"
resource "psoxy_msft_connector" "cal" {{
  connectors = ["outlook-cal"]
  owners     = ["{owner}"]
}}
output "object_id" {{ value = psoxy_msft_connector.cal.object_id }}
"#
    );
    let ws = workspace(&emulator, &config);
    apply(&ws);
    assert!(
        plan_is_empty(&ws),
        "no perpetual diff for the same owner in another case"
    );
    // Renaming forces an update, which must keep the owner.
    ws.write(
        "main.tf",
        &config.replace(
            "connectors = [\"outlook-cal\"]",
            "connectors = [\"outlook-cal\"]\n  display_name = \"renamed\"",
        ),
    );
    apply(&ws);
    let object_id = outputs(&ws)["object_id"].as_str().unwrap().to_owned();
    let (_, owners) = emulator.portal("GET", &format!("/applications/{object_id}/owners"), None);
    let ids: Vec<String> = owners["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(
        ids.contains(&owner.to_ascii_lowercase()),
        "owner kept: {ids:?}"
    );
    assert!(plan_is_empty(&ws));
}

#[test]
fn the_signed_in_identity_may_be_listed_among_the_owners() {
    // Pipelines often list their own service principal (psoxy's modules add the
    // caller); the provider keeps the caller as owner anyway and must not drop it from
    // state when it is configured.
    let emulator = Emulator::start(&[]);
    let ci_service_principal = "00000000-0000-4000-8000-00000000c201";
    let ws = workspace(
        &emulator,
        &format!(
            r#"
resource "psoxy_msft_connector" "cal" {{
  connectors = ["outlook-cal"]
  owners     = ["{ci_service_principal}", "00000000-0000-4000-8000-00000000b002"]
}}
"#
        ),
    );
    apply(&ws);
    assert!(plan_is_empty(&ws));
}

#[test]
fn a_service_principal_deleted_outside_terraform_is_recreated() {
    let emulator = Emulator::start(&[]);
    let ws = workspace(&emulator, CAL);
    apply(&ws);
    let client_id = outputs(&ws)["client_id"].as_str().unwrap().to_owned();
    let (status, sp) = emulator.portal(
        "GET",
        &format!("/servicePrincipals(appId='{client_id}')"),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = emulator.portal(
        "DELETE",
        &format!("/servicePrincipals/{}", sp["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 204);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert!(run.success, "{}", run.all());
    let (status, _) = emulator.portal(
        "GET",
        &format!("/servicePrincipals(appId='{client_id}')"),
        None,
    );
    assert_eq!(status, 200, "service principal recreated");
    assert!(plan_is_empty(&ws));
}
